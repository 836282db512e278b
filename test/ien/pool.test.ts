import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { groupPool, rollOrientation, GroupLayoutError } from '../../tracker/ien/pool.js';
import { applyGroupSpec, hetWidth } from '../../tracker/ien/groups.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** Runs `fn`, disposes what it returns, and asserts no tensor was left behind. */
function noLeak(fn: () => tf.Tensor | tf.Tensor[] | void): void {
  const n0 = tf.memory().numTensors;
  const r = fn();
  if (r) tf.dispose(r);
  assert.equal(tf.memory().numTensors, n0, 'tensor leak');
}

test('R4 pooling is the max over each group of 4 consecutive channels', () => {
  // one pixel, 8 channels: groups [3,-1,7,0] and [2,2,-5,1]
  const x = tf.tensor4d([3, -1, 7, 0, 2, 2, -5, 1], [1, 1, 1, 8]);
  const y = groupPool(x, 'R4');
  assert.deepEqual(y.shape, [1, 1, 1, 2]);
  assert.deepEqual(Array.from(y.dataSync()), [7, 2]);
  tf.dispose([x, y]);
});

test('R4-2-1 pooling: blocks pooled with their own Λ, identity for Λ = 1', () => {
  // 11 channels = 8 (Λ4) + 2 (Λ2) + 1 (Λ1)
  const v = [1, 5, 2, 0, -3, -2, -8, -1, 4, 9, -6];
  const x = tf.tensor4d(v, [1, 1, 1, 11]);
  const y = groupPool(x, applyGroupSpec('R4-2-1', 11));
  assert.deepEqual(Array.from(y.dataSync()), [5, -1, 9, -6]);
  tf.dispose([x, y]);
});

test('hetero pooling gives the channel counts the spec promises (Het-IEN widths)', () => {
  for (const r4 of [128, 192, 256]) {
    const w = hetWidth('R4-2-1', r4);
    const x = tf.randomNormal([2, 3, 3, w]) as tf.Tensor4D;
    const y = groupPool(x, 'R4-2-1');
    assert.deepEqual(y.shape, [2, 3, 3, r4 / 4]);
    tf.dispose([x, y]);
  }
  const x = tf.randomNormal([1, 2, 2, 43]) as tf.Tensor4D;
  const y = groupPool(x, 'R8-4-2-1');
  assert.deepEqual(y.shape, [1, 2, 2, 8]);
  tf.dispose([x, y]);
});

test('pooled maps are invariant to cyclic shifts inside each group', () => {
  const x = tf.randomNormal([2, 4, 4, 12], 0, 1, 'float32', 3) as tf.Tensor4D;
  const a = groupPool(x, 'R4');
  const r = rollOrientation(x, 4, 1);
  const b = groupPool(r, 'R4');
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  tf.dispose([x, a, r, b]);
});

test('rollOrientation shifts r within each field: out[o·Λ + r] = x[o·Λ + (r − s) mod Λ]', () => {
  const x = tf.tensor4d([0, 1, 2, 3, 10, 11, 12, 13], [1, 1, 1, 8]);
  const y = rollOrientation(x, 4, 1);
  assert.deepEqual(Array.from(y.dataSync()), [3, 0, 1, 2, 13, 10, 11, 12]);
  const z = rollOrientation(x, 4, -1);
  assert.deepEqual(Array.from(z.dataSync()), [1, 2, 3, 0, 11, 12, 13, 10]);
  tf.dispose([x, y, z]);
  assert.throws(() => rollOrientation(tf.zeros([1, 1, 1, 6]) as tf.Tensor4D, 4, 1), /6 channels/);
});

test('pooling is differentiable: the gradient goes to the arg-max map of each group', () => {
  const x = tf.tensor4d([3, -1, 7, 0, 2, 2.5, -5, 1], [1, 1, 1, 8]);
  const g = tf.grad((t: tf.Tensor) => tf.sum(groupPool(t as tf.Tensor4D, 'R4')))(x);
  assert.deepEqual(Array.from(g.dataSync()), [0, 0, 1, 0, 0, 1, 0, 0]);
  tf.dispose([x, g]);
});

test('wrong channel count is a clear error', () => {
  const x = tf.zeros([1, 2, 2, 10]) as tf.Tensor4D;
  assert.throws(() => groupPool(x, applyGroupSpec('R4', 8)), (e: Error) =>
    e instanceof GroupLayoutError && /10 channels/.test(e.message) && /R4/.test(e.message));
  assert.throws(() => groupPool(x, 'R4'), /R4.*10/);
  x.dispose();
});

test('no tensor leaks in groupPool and rollOrientation', () => {
  const x = tf.randomNormal([1, 3, 3, 88]) as tf.Tensor4D;
  noLeak(() => groupPool(x, 'R4-2-1'));
  noLeak(() => groupPool(x, 'R1'));
  noLeak(() => rollOrientation(x, 4, 3));
  noLeak(() => rollOrientation(x, 4, 0));
  x.dispose();
});
