import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alexnetSpec } from '../../tracker/backbone-spec.js';
import { cpuSmallSpec, tinySpec } from '../../training/config.js';
import { logisticLabels, trainingGeometry, trainingLabels } from '../../training/labels.js';

test('AlexNet training geometry is siamfc-pytorch\'s: 255 → 247 → 239 search, 127 exemplar, 15×15 response', () => {
  const g = trainingGeometry(alexnetSpec());
  assert.deepEqual(g, { exemplarSize: 127, instanceSize: 255, stride: 8, centerCropSize: 247, searchSize: 239, responseSize: 15 });
});

test('AlexNet labels: an L1 diamond of radius 16/8 = 2 cells — 13 positives, 212 negatives, exact cells', () => {
  const l = trainingLabels(alexnetSpec());
  assert.equal(l.size, 15);
  assert.equal(l.positives, 13);
  assert.equal(l.negatives, 225 - 13);
  const pos: string[] = [];
  for (let i = 0; i < 15; i++) for (let j = 0; j < 15; j++) if (l.values[i * 15 + j] === 1) pos.push(`${i},${j}`);
  // centre (7,7); every cell with |di| + |dj| ≤ 2 is positive, (5,6) and (5,8) (L1 3, Euclidean 2.24) are not
  for (const c of ['7,7', '5,7', '9,7', '7,5', '7,9', '6,6', '6,8', '8,6', '8,8', '6,7', '8,7', '7,6', '7,8']) assert.ok(pos.includes(c), c);
  assert.ok(!pos.includes('5,6') && !pos.includes('5,8'), 'L1 distance 3 cells are negative');
});

test('CPU-scale and tiny specs: response sizes follow from the spec, labels keep a 2-cell radius by default', () => {
  const cpu = trainingGeometry(cpuSmallSpec());
  assert.equal(cpu.stride, 4);
  assert.equal(cpu.searchSize, 127 - 8);
  assert.equal(cpu.responseSize, 15);
  assert.equal(trainingLabels(cpuSmallSpec()).positives, 13);
  const tiny = trainingGeometry(tinySpec());
  assert.equal(tiny.searchSize, 71);
  assert.equal(tiny.responseSize, 7);
  // rPos in pixels: 4 px at stride 4 = 1 cell → the centre and its 4 neighbours
  assert.equal(trainingLabels(tinySpec(), 4).positives, 5);
});

test('logisticLabels: r_neg band gets 0.5 and counts neither as positive nor negative; even maps centre between cells', () => {
  const l = logisticLabels(5, 0, 2); // centre positive, L1 1 → 0.5, L1 ≥ 2 → 0
  assert.equal(l.values[12], 1);
  assert.equal(l.values[7], 0.5);
  assert.equal(l.values[2], 0);
  assert.equal(l.positives, 1);
  assert.equal(l.negatives, 25 - 1 - 4);
  const e = logisticLabels(4, 1); // centre at (1.5, 1.5): the 4 middle cells have L1 distance 1
  assert.equal(e.positives, 4);
  assert.deepEqual([...e.values.slice(4, 8)], [0, 1, 1, 0]);
});

test('trainingGeometry rejects a spec whose search crop is smaller than its exemplar, naming it', () => {
  assert.throws(() => trainingGeometry(tinySpec({ exemplarSize: 79, instanceSize: 79 })), /tiny.*smaller than the exemplar/);
});
