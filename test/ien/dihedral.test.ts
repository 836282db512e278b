import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import type { Tensor4D } from '../../tracker/tf.js';
import { d4Batch, d4Compose, d4Inverse, d4Permutation, DihedralError } from '../../tracker/ien/dihedral.js';
import { flipHorizontal, rot90 } from '../../tracker/ien/rotate.js';
import { mirrorDigit } from '../../data/digit-transform.js';
import {
  DIHEDRAL_ACTION, equivarianceError, equivarianceObjective, groupElements, makeAngleSampler, type GroupedModel,
} from '../../tracker/ien/equivariance.js';

before(async () => {
  await tf.setBackend('cpu');
});

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

test('d4Batch: element e = k + 4m is rot90(mirror^m x, k) per sample; the inverse undoes it', () => {
  const x = tf.randomNormal([8, 5, 5, 2], 0, 1, 'float32', 4) as Tensor4D;
  const es = [0, 1, 2, 3, 4, 5, 6, 7];
  const y = d4Batch(x, es);
  for (const e of es) {
    const xi = tf.slice(x, [e, 0, 0, 0], [1, 5, 5, 2]);
    const want = rot90(e >= 4 ? flipHorizontal(xi) : xi, e % 4);
    assert.deepEqual(arr(tf.slice(y, [e, 0, 0, 0], [1, 5, 5, 2])), arr(want), `element ${e}`);
  }
  assert.deepEqual(arr(d4Batch(y, es, true)), arr(x));
  tf.dispose([x, y]);
});

test('d4Compose is the group law of the tables; every element has an inverse; the group is not abelian', () => {
  const n = 4;
  const apply = (e: number, v: number[]) => Array.from(d4Permutation(n, e), (src) => v[src]);
  const v = Array.from({ length: n * n }, (_, i) => i * 10);
  for (let a = 0; a < 8; a++) {
    for (let b = 0; b < 8; b++) assert.deepEqual(apply(a, apply(b, v)), apply(d4Compose(a, b), v), `${a} ∘ ${b}`);
    assert.equal(d4Compose(a, d4Inverse(a)), 0, `${a} ∘ ${a}⁻¹`);
    assert.deepEqual(apply(d4Inverse(a), apply(a, v)), v);
  }
  assert.notEqual(d4Compose(1, 4), d4Compose(4, 1));
});

test('the mirror is the left–right one of the R2-MNIST digits (data/digit-transform mirrorDigit)', () => {
  const img = Uint8Array.from({ length: 9 }, (_, i) => i);
  const t = tf.tensor4d(Float32Array.from(img), [1, 3, 3, 1]);
  assert.deepEqual(arr(d4Batch(t, [4])), Array.from(mirrorDigit(img, 3)));
  t.dispose();
});

test('bad elements and maps are named', () => {
  const x = tf.zeros([1, 4, 4, 1]) as Tensor4D;
  assert.throws(() => d4Batch(x, [8]), (e: Error) => e instanceof DihedralError && /integer in 0..7, got 8/.test(e.message));
  assert.throws(() => d4Batch(x, [1, 2]), /2 elements for a batch of 1/);
  assert.throws(() => d4Batch(tf.zeros([1, 4, 3, 1]) as Tensor4D, [1]), /square maps, got 4×3/);
  x.dispose();
});

test('D4 loss group: a D4-equivariant map has zero loss, a rotation-only one does not on the mirrors', async () => {
  assert.deepEqual(groupElements('D4'), [1, 2, 3, 4, 5, 6, 7]);
  assert.ok(makeAngleSampler('D4', { seed: 2 })(50).every((e) => e >= 1 && e <= 7));
  const x = tf.randomNormal([3, 6, 6, 1], 0, 1, 'float32', 7) as Tensor4D;
  const pointwise: GroupedModel = { forwardFeatures: (t) => ({ layers: [tf.square(t) as Tensor4D], out: tf.mean(t, [1, 2, 3]) }) };
  // C4-equivariant but not mirror-equivariant: max over the four turned copies of one chiral 2×2 filter
  const chiral = tf.tensor4d([1, 2, 0, -1], [2, 2, 1, 1]);
  const c4only: GroupedModel = {
    forwardFeatures: (t) => {
      const turns = [0, 1, 2, 3].map((k) => rot90(tf.conv2d(rot90(t, -k), chiral, 1, 'same') as Tensor4D, k));
      return { layers: [tf.max(tf.stack(turns), 0) as Tensor4D], out: tf.mean(t, [1, 2, 3]) };
    },
  };
  const eq = await equivarianceError(pointwise, x, groupElements('D4'), DIHEDRAL_ACTION);
  assert.ok(eq.perLayer[0] < 1e-12, `pointwise ${eq.perLayer[0]}`);
  const c4 = await equivarianceError(c4only, x, groupElements('D4'), DIHEDRAL_ACTION);
  // the quarter turns (elements 1–3) cost little on 'same'-padded even maps, the mirrors (4–7) a lot
  const turnErr = c4.perAngle.slice(0, 3).map((r) => r[0]);
  const mirrorErr = c4.perAngle.slice(3).map((r) => r[0]);
  assert.ok(Math.min(...mirrorErr) > 10 * Math.max(...turnErr, 1e-9), `turns ${turnErr} mirrors ${mirrorErr}`);
  const n0 = tf.memory().numTensors;
  const r = equivarianceObjective(pointwise, x, { betas: 1, group: 'D4', taskLoss: (o) => tf.mean(o) as tf.Scalar, sampler: makeAngleSampler('D4', { seed: 1 }) });
  assert.ok(r.layers[0].dataSync()[0] < 1e-12);
  tf.dispose([r.total, r.task, ...r.layers]);
  assert.equal(tf.memory().numTensors, n0, 'tensor leak');
  tf.dispose([x, chiral]);
});
