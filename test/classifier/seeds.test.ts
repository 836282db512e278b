import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { groupBySeed, readReference, renderSeedSummary } from '../../eval/classifier-seeds.js';
import { renderClassifierReport, type ClassifierEvalResult } from '../../eval/classifier-report.js';

const run = (name: string, accuracy: number, lg: number, lgVar?: number): ClassifierEvalResult => ({
  name, variant: 'cnn', groups: 'R1', channels: [4], totalChannels: 4, pooled: [4], parameters: 10, accuracy, testCount: 100,
  lgC4: [lg, lg], ...(lgVar !== undefined ? { lgC4Variance: [lgVar, lgVar * 4] } : {}), lgCount: 10,
});

test('groupBySeed: runs <model>-s<seed> grouped in order; mean ± sample sd; L_G geometric over layers, mean over seeds', () => {
  const g = groupBySeed([run('cnn-s1', 0.94, 1, 0.5), run('ien-b1-s1', 0.96, 1e-3, 1e-3), run('cnn-s2', 0.96, 3, 0.5), run('solo', 0.5, 2)]);
  assert.deepEqual(g.map((x) => x.model), ['cnn', 'ien-b1', 'solo']);
  assert.deepEqual(g[0].seeds, [1, 2]);
  assert.ok(Math.abs(g[0].accMean - 95) < 1e-9);
  assert.ok(Math.abs(g[0].accSd - Math.SQRT2) < 1e-9); // 94 and 96: sample sd √2
  assert.equal(g[1].accSd, 0);
  assert.ok(Math.abs(g[0].lgGeo - 2) < 1e-9);
  assert.ok(Math.abs(g[0].lgVarGeo! - 1) < 1e-9); // geo(0.5, 2) = 1
  assert.equal(g[2].lgVarGeo, undefined);
  assert.deepEqual(g[2].seeds, [0]);
});

test('renderSeedSummary: the paper column, our gap to it and the L_G ratio to the CNN; the full report carries the section', () => {
  const rs = [run('cnn-s1', 0.94, 1, 0.5), run('cnn-s2', 0.96, 1, 0.5), run('ien-b1-s1', 0.96, 1e-3, 1e-3)];
  const ref = { source: 'Table 5', models: { cnn: { label: 'CNN', accuracy: 96.3 } } };
  const md = renderSeedSummary(groupBySeed(rs), ref);
  assert.match(md, /\| cnn \| 1, 2 \| 95\.00 ± 1\.41 \| 94\.00, 96\.00 \| 96\.3 \(CNN\) \| -1\.30 \|/);
  assert.match(md, /\| ien-b1 \| 1 \| 96\.00 ± 0\.00 \| 96\.00 \| – \| – \| 1\.0e-3 \| 2\.0e-3 \| 500×? \|/);
  const report = renderClassifierReport(rs, { reference: ref });
  assert.match(report, /## Per model over seeds[\s\S]*## Every run/);
});

test('readReference: a clear error naming the file and the field', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ref-'));
  try {
    const f = path.join(dir, 'ref.json');
    await writeFile(f, JSON.stringify({ source: 'T5', models: { cnn: { label: 'CNN', accuracy: 963 } } }));
    await assert.rejects(readReference(f), new RegExp(`${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: field "models\\.cnn\\.accuracy"`));
    await writeFile(f, '{ nope');
    await assert.rejects(readReference(f), /cannot read the reference/);
    await writeFile(f, JSON.stringify({ source: 'T5', models: { cnn: { label: 'CNN', accuracy: 96.3 } } }));
    assert.equal((await readReference(f)).models.cnn.accuracy, 96.3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
