import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const run = (file: string, args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', file, ...args], { encoding: 'utf8', env: { ...process.env, ROT_TRACK_BACKEND: 'cpu' } });

test('train-classifier CLI: --help exits 0; usage errors exit 2 with a message', () => {
  const h = run('training/cli/train-classifier.ts', ['--help']);
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /--variant <v>\s+cnn \| ien \| het-ien \| gcnn-c4 \| gcnn-d4 \| steerable-c8/);
  assert.match(h.stdout, /--resume/);
  const noOut = run('training/cli/train-classifier.ts', ['--variant', 'ien']);
  assert.equal(noOut.status, 2);
  assert.match(noOut.stderr, /--out <dir> is required/);
  const badBeta = run('training/cli/train-classifier.ts', ['--variant', 'ien', '--out', '/tmp/x-never', '--beta', '1,2']);
  assert.equal(badBeta.status, 2);
  assert.match(badBeta.stderr, /field "betas"/);
});

test('eval-classifier CLI: --help exits 0; a missing model folder is an error naming it', () => {
  const h = run('training/cli/eval-classifier.ts', ['--help']);
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /--lg-count <n>/);
  const none = run('training/cli/eval-classifier.ts', []);
  assert.equal(none.status, 2);
  const missing = run('training/cli/eval-classifier.ts', ['--results', '/nonexistent/results.json']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /\/nonexistent\/results\.json: cannot read results/);
});

test('eval-classifier CLI: --results merges files (runs of a model kept together); a model in two files is an error', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ec-merge-'));
  try {
    const r = (name: string, accuracy: number) => ({
      name, variant: 'cnn', groups: 'R1', channels: [4], totalChannels: 4, pooled: [4], parameters: 10, accuracy, testCount: 50,
      lgC4: [1], lgCount: 5,
    });
    const a = path.join(dir, 'a.json'), b = path.join(dir, 'b.json');
    await writeFile(a, JSON.stringify({ results: [r('cnn-s1', 0.9), r('ien-b1-s1', 0.95)] }));
    await writeFile(b, JSON.stringify({ results: [r('cnn-s2', 0.92)] }));
    const ok = run('training/cli/eval-classifier.ts', ['--results', `${a},${b}`, '--report', path.join(dir, 'rep')]);
    assert.equal(ok.status, 0, ok.stderr);
    const merged = JSON.parse(await readFile(path.join(dir, 'rep', 'results.json'), 'utf8')).results.map((x: { name: string }) => x.name);
    assert.deepEqual(merged, ['cnn-s1', 'cnn-s2', 'ien-b1-s1']);
    assert.match(await readFile(path.join(dir, 'rep', 'report.md'), 'utf8'), /\| cnn \| 1, 2 \| 91\.00 ± 1\.41 \|/);
    const dup = run('training/cli/eval-classifier.ts', ['--results', `${a},${a}`]);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /a\.json: model "cnn-s1" is also in .*a\.json/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('eval-classifier CLI: --dataset is checked, and a model trained on the other dataset is an error naming it', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ec-dataset-'));
  try {
    const bad = run('training/cli/eval-classifier.ts', ['--dataset', 'cifar', '--model', dir]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--dataset must be one of rot-mnist, scale-mnist, r2-mnist, got "cifar"/);
    // only model.json is read before any data is built
    await writeFile(path.join(dir, 'model.json'), JSON.stringify({ provenance: { config: { data: { dataset: 'scale-mnist' } } } }));
    const wrong = run('training/cli/eval-classifier.ts', ['--model', `m=${dir}`]);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /model "m" was trained on scale-mnist \(model\.json provenance\.config\.data\.dataset\), not --dataset rot-mnist/);
    await writeFile(path.join(dir, 'model.json'), '{"provenance": {}}');
    const older = run('training/cli/eval-classifier.ts', ['--dataset', 'scale-mnist', '--model', `m=${dir}`]);
    assert.equal(older.status, 1);
    assert.match(older.stderr, /model "m" was trained on rot-mnist/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
