import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf } from '../../tracker/tf.js';
import { Classifier } from '../../tracker/classifier.js';
import {
  evaluateClassifier, renderClassifierReport, writeClassifierReport, type ClassifierEvalResult,
} from '../../eval/classifier-report.js';
import type { DigitSet } from '../../data/mnist.js';

let dir: string;
before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'rc-report-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function blobs(n: number): DigitSet {
  const images = new Uint8Array(n * 784), labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 10;
    for (let y = 6; y < 20; y++) for (let x = 4 + (i % 7); x < 12 + (i % 7); x++) images[i * 784 + y * 28 + x] = 200 + (i % 50);
  }
  return { images, labels, count: n, size: 28 };
}

test('evaluateClassifier: accuracy in [0, 1] over the requested count; GCNN L_G ~0; CNN gets the R4-pooled view', async () => {
  const test = blobs(12);
  const n0 = tf.memory().numTensors;
  const g = new Classifier({ variant: 'gcnn-c4', widths: [4, 4, 4, 4, 4, 4], hidden: 8, seed: 1 });
  const rg = await evaluateClassifier(g, 'g', test, { testCount: 10, lgCount: 3, c8: false, batch: 4 });
  assert.equal(rg.testCount, 10);
  assert.ok(rg.accuracy >= 0 && rg.accuracy <= 1 && Number.isInteger(rg.accuracy * 10));
  rg.lgC4.forEach((v) => assert.ok(v < 1e-9, `gcnn L_G ${v}`));
  assert.equal(rg.lgC4Variance!.length, 6);
  rg.lgC4Variance!.forEach((v) => assert.ok(v < 1e-6, `gcnn normalised L_G ${v}`));
  assert.equal(rg.lgC8, undefined);
  assert.equal(rg.lgC4PooledR4, undefined);
  g.dispose();
  const c = new Classifier({ variant: 'cnn', widths: [4, 4, 4, 4, 4, 4], hidden: 8, seed: 1 });
  const rc = await evaluateClassifier(c, 'c', test, { testCount: 12, lgCount: 3 });
  assert.equal(rc.lgC8!.length, 6);
  assert.equal(rc.lgC4PooledR4!.length, 6);
  rc.lgC4.slice(0, 5).forEach((v) => assert.ok(v > 1e-4));
  // pooling can only remove differences that live inside a group, so the pooled view is not larger everywhere
  assert.ok(rc.lgC4PooledR4!.some((v, i) => v < rc.lgC4[i]));
  c.dispose();
  assert.equal(tf.memory().numTensors, n0, 'no tensors left behind');
});

const fake = (name: string, variant: string, lg: number, acc: number): ClassifierEvalResult => ({
  name, variant, groups: variant === 'cnn' ? 'R1' : 'R4', channels: [4, 4, 4, 4, 4, 4], totalChannels: 24,
  pooled: [1, 1, 1, 1, 1, 1], parameters: 1234, accuracy: acc, testCount: 100, lgC4: new Array(6).fill(lg), lgCount: 10,
});

test('report: table rows, L_G tables, ratio to CNN-aug, plot and commands are written', async () => {
  const results = [fake('cnn', 'cnn', 1, 0.8), fake('cnn-aug', 'cnn', 0.5, 0.85), { ...fake('ien-b1', 'ien', 5e-4, 0.9), lgC4Variance: new Array(6).fill(2.5e-3) }];
  const md = renderClassifierReport(results, { notes: 'NOTE-TEXT', commands: ['bash x.sh'] });
  // the normalised table lists only the results that carry it (older results.json do not)
  assert.match(md, /### Per-layer L_G normalised by the feature variance[^\n]*\n\n\| model \| L1[^\n]*\n\|---[^\n]*\n\| ien-b1 \| 2\.5e-3 \| 2\.5e-3/);
  assert.match(md, /\| ien-b1 \| ien \| R4 \| 90\.00 \| 1,234 \|/);
  assert.match(md, /\| ien-b1 \| 1\.0e-3 \|/); // 5e-4 / 0.5 = 1e-3 relative to CNN-aug
  assert.match(md, /NOTE-TEXT/);
  assert.match(md, /```sh\nbash x\.sh\n```/);
  const written = await writeClassifierReport(results, dir, { commands: ['bash x.sh'] });
  assert.deepEqual(written.map((f) => path.basename(f)).sort(), ['lg.png', 'lg.svg', 'report.md', 'results.json']);
  const svg = await readFile(path.join(dir, 'lg.svg'), 'utf8');
  assert.match(svg, /^<svg/);
  assert.match(svg, /ien-b1/);
  const png = await readFile(path.join(dir, 'lg.png'));
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  assert.equal(JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8')).results.length, 3);
});

test('Scale-MNIST: evaluateClassifier adds the S4 L_G (no C8); the report leads with it and names the dataset', async () => {
  const test = blobs(8);
  const c = new Classifier({ variant: 'ien', widths: [4, 4, 4, 4, 4, 4], hidden: 8, seed: 2 });
  const n0 = tf.memory().numTensors;
  const r = await evaluateClassifier(c, 'ien-s4-b1-s1', test, { testCount: 8, lgCount: 3, dataset: 'scale-mnist' });
  assert.equal(tf.memory().numTensors, n0, 'no tensors left behind');
  c.dispose();
  assert.equal(r.dataset, 'scale-mnist');
  assert.equal(r.lgC8, undefined);
  assert.equal(r.lgS4!.length, 6);
  assert.equal(r.lgS4Variance!.length, 6);
  assert.equal(r.lgS4PooledR4, undefined, 'an IEN has no pooled view (it pools itself)');
  const cnn = new Classifier({ variant: 'cnn', widths: [4, 4, 4, 4, 4, 4], hidden: 8, seed: 2 });
  const rcnn = await evaluateClassifier(cnn, 'cnn-s1', test, { testCount: 4, lgCount: 3, dataset: 'scale-mnist' });
  cnn.dispose();
  assert.equal(rcnn.lgS4PooledR4!.length, 6);
  assert.equal(rcnn.lgD4PooledR8, undefined);
  r.lgS4!.forEach((v) => assert.ok(Number.isFinite(v) && v > 0, `untrained S4 L_G ${v}`));
  const sc = (name: string, lg: number, acc: number): ClassifierEvalResult => ({
    ...fake(name, name.startsWith('cnn') ? 'cnn' : 'ien', 9, acc), dataset: 'scale-mnist', lgS4: new Array(6).fill(lg), lgS4Variance: new Array(6).fill(lg * 2),
  });
  const md = renderClassifierReport([sc('cnn-s1', 1, 0.97), sc('cnn-s2', 1, 0.975), sc('ien-s4-b1-s1', 1e-3, 0.98)]);
  assert.match(md, /^# Scale-MNIST classification/);
  assert.match(md, /50k Scale-MNIST test split/);
  assert.match(md, /L_G \(S4, geo\. mean over layers\)/);
  // the seed summary and the run table use the S4 L_G, not the C4 one (9 in every fake result)
  assert.match(md, /\| ien-s4-b1 \| 1 \| 98\.00 ± 0\.00 \| 98\.00 \| 1\.0e-3 \| 2\.0e-3 \| 1\.00e\+3× \|/);
  assert.match(md, /### Per-layer L_G, shrinks by 2\^\(−1\/3\)/);
});

test('R2-MNIST: evaluateClassifier adds the D4 L_G; a C4 GCNN is exact on the turns but not on the mirrors', async () => {
  const test = blobs(6);
  const g = new Classifier({ variant: 'gcnn-c4', widths: [4, 4, 4, 4, 4, 4], hidden: 8, seed: 3 });
  const r = await evaluateClassifier(g, 'gcnn-c4-s1', test, { testCount: 6, lgCount: 3, dataset: 'r2-mnist' });
  g.dispose();
  assert.equal(r.dataset, 'r2-mnist');
  assert.equal(r.lgC8, undefined);
  assert.equal(r.lgD4!.length, 6);
  r.lgC4.forEach((v) => assert.ok(v < 1e-9, `C4 ${v}`));
  // the D4 mean includes the 4 mirror elements, which a C4 group CNN is not built for
  assert.ok(r.lgD4!.slice(0, 5).every((v) => v > 1e-4), `D4 ${r.lgD4}`);
  const md = renderClassifierReport([r]);
  assert.match(md, /^# R2-MNIST classification/);
  // a plain CNN on R2-MNIST also gets the D4 L_G of its R8-pooled view, and the ratio table uses D4
  const c = new Classifier({ variant: 'cnn', widths: [8, 8, 8, 8, 8, 8], hidden: 8, seed: 3 });
  const rc = await evaluateClassifier(c, 'cnn-aug-rf-s1', test, { testCount: 6, lgCount: 3, dataset: 'r2-mnist' });
  c.dispose();
  assert.equal(rc.lgD4PooledR8!.length, 6);
  assert.ok(rc.lgD4PooledR8!.some((v, i) => v < rc.lgD4![i]), 'pooling removes within-group differences');
  assert.match(renderClassifierReport([r, rc]), /### L_G relative to CNN-aug \(geometric mean over the 6 layers, D4 elements; plain CNNs on R8-pooled features\)/);
  assert.match(md, /mean L_G \(D4\)/);
  assert.match(md, /### Per-layer L_G, D4: the 3 quarter turns, the mirror and its 3 turns/);
});
