// Training curves from log.jsonl: parsing (cut lines skipped, a step repeated after a resume counted once), the
// moving average, round ticks, and the two charts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curveSvgs, movingAverage, niceTicks, parseLog } from '../../training/curves.js';

const log = [
  JSON.stringify({ event: 'start', config: {} }),
  ...[1, 2, 3, 4].map((s) => JSON.stringify({ event: 'step', step: s, losses: { total: 1 / s, logistic: 0.9 / s } })),
  JSON.stringify({ event: 'validation', step: 4, epoch: 2, auc: 0.4, perDelta: { '0': 0.5, '2': 0.3 } }),
  '{"event":"step","step":5,"los', // cut by a crash
  JSON.stringify({ event: 'resume', step: 3 }),
  JSON.stringify({ event: 'step', step: 4, losses: { total: 0.2, logistic: 0.2 } }),
].join('\n');

test('parseLog keeps the last record of a repeated step and skips lines that are not JSON', () => {
  const { steps, validations } = parseLog(log);
  assert.deepEqual(steps.map((s) => s.step), [1, 2, 3, 4]);
  assert.equal(steps[3].losses.total, 0.2, 'the step after the resume wins');
  assert.deepEqual(validations.map((v) => [v.step, v.auc]), [[4, 0.4]]);
});

test('movingAverage is a trailing mean; niceTicks are round and inside the range', () => {
  assert.deepEqual(movingAverage([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5]);
  assert.deepEqual(niceTicks(1, 1264), [200, 400, 600, 800, 1000, 1200]);
  assert.deepEqual(niceTicks(0, 8), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

test('curveSvgs draws the loss components and the validation AUC per Δ', () => {
  const { loss, validation } = curveSvgs(log, 'run');
  assert.ok(loss && validation);
  assert.match(loss, /run: training loss/);
  assert.match(loss, /logistic \(mean of 1\)/);
  assert.match(validation, /Δ = 2°\/frame/);
  assert.deepEqual(curveSvgs('', 'empty'), { loss: null, validation: null });
});
