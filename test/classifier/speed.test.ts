import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { convMacs, renderSpeedTable, runSpeed, trainFlopsPerSample } from '../../eval/classifier-speed.js';
import { resolveClassifierSpec } from '../../tracker/classifier/spec.js';

test('conv arithmetic of the paper-width classifier, layer by layer (28 → 24 → pool 12 → pool 6 → 2)', () => {
  const r = resolveClassifierSpec({ variant: 'ien' });
  const want = [
    24 * 24 * 49 * 1 * 128, // 7×7 pad 1
    24 * 24 * 25 * 128 * 192, // 5×5 pad 2, then 2×2 pool
    12 * 12 * 25 * 192 * 256,
    12 * 12 * 25 * 256 * 256, // then 2×2 pool
    6 * 6 * 25 * 256 * 384,
    2 * 2 * 25 * 384 * 512, // 5×5 pad 0
  ];
  assert.deepEqual(convMacs(r), want);
  // forward + filter gradient + input gradient, 2 FLOPs per multiply-add; no input gradient for the image
  const macs = want.reduce((a, b) => a + b, 0);
  assert.equal(trainFlopsPerSample(r), 2 * (3 * macs - want[0]));
  // one epoch of 10k digits at ×1 is ~53 TFLOP per copy (an IEN step runs two copies)
  assert.ok(Math.abs(10000 * trainFlopsPerSample(r) / 1e12 - 52.64) < 0.01);
  assert.throws(() => convMacs(r, 8), /a 8×8 input leaves no pixels after conv/);
});

test('runSpeed: median epoch from the log, copies from β, GFLOP/s; a broken log names its file and line', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'clf-speed-'));
  try {
    const model = { variant: 'ien' as const, widths: [8, 8, 8, 8, 8, 8], hidden: 8 };
    const start = { type: 'start', config: { model, batchSize: 10, betas: 1, data: { trainSize: 105 } } };
    // cumulative seconds: epochs of 10, 40 (a pause), 12 s → median 12
    const epochs = [10, 50, 62].map((seconds, i) => ({ type: 'epoch', epoch: i + 1, seconds }));
    await writeFile(path.join(dir, 'log.jsonl'), [start, ...epochs].map((l) => JSON.stringify(l)).join('\n') + '\n');
    const s = await runSpeed(dir, 'tiny');
    assert.equal(s.secPerEpoch, 12);
    assert.equal(s.copies, 2);
    assert.equal(s.epochs, 3);
    const perSample = trainFlopsPerSample(resolveClassifierSpec(model));
    assert.equal(s.flopsPerEpoch, 10 * 10 * 2 * perSample); // floor(105 / 10) steps of 10 digits, 2 copies
    assert.ok(Math.abs(s.gflops - s.flopsPerEpoch / 12 / 1e9) < 1e-9);
    assert.match(renderSpeedTable([s]), /\| tiny \| ien \| R4 \| 2 \| 3 \| 12 \|/);
    await writeFile(path.join(dir, 'log.jsonl'), JSON.stringify(start) + '\n{oops\n');
    await assert.rejects(runSpeed(dir), /log\.jsonl:2: not JSON/);
    await writeFile(path.join(dir, 'log.jsonl'), JSON.stringify(start) + '\n');
    await assert.rejects(runSpeed(dir), /no finished epoch logged/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
