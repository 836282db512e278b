import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import type { Tensor4D } from '../../tracker/tf.js';
import { scaleBatch, scaleMask, scaleSampling, scaleKeepsInside, supersampleFor, ScaleError } from '../../tracker/ien/scale.js';
import {
  SCALE_ACTION, equivarianceError, equivarianceObjective, groupElements, makeAngleSampler, type GroupedModel,
} from '../../tracker/ien/equivariance.js';

before(async () => {
  await tf.setBackend('cpu');
});

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

/** [1, n, n, 1] map with value f(dx, dy) at offset (dx, dy) from the centre. */
function mapOf(n: number, f: (dx: number, dy: number) => number): Tensor4D {
  const v = new Float32Array(n * n);
  const c = (n - 1) / 2;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) v[i * n + j] = f(j - c, i - c);
  return tf.tensor4d(v, [1, n, n, 1]);
}

test('factor 1 is the identity; every sample takes its own factor', () => {
  const x = mapOf(9, (dx, dy) => dx * 0.3 + dy * dy * 0.1);
  const same = scaleBatch(x, 1);
  assert.deepEqual(arr(same), arr(x));
  // a batch of two: sample 0 unchanged, sample 1 enlarged by 2 — sample 0 of the batch result equals the input
  const two = tf.concat([x, x], 0) as Tensor4D;
  const y = scaleBatch(two, [1, 2]);
  const y0 = tf.slice(y, [0, 0, 0, 0], [1, 9, 9, 1]);
  assert.ok(Math.max(...arr(tf.sub(y0, x)).map(Math.abs)) < 1e-6);
  tf.dispose([x, same, two, y, y0]);
});

test('enlarging by 2 samples the source at c + (p − c)/2: exact on a linear ramp, mask = the inner half', () => {
  const n = 11;
  const x = mapOf(n, (dx, dy) => 1 + 0.5 * dx - 0.25 * dy);
  const y = scaleBatch(x, 2);
  const m = scaleMask(n, n, 2);
  const yv = arr(y), mv = arr(m);
  const c = (n - 1) / 2;
  let inside = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const dx = j - c, dy = i - c;
    const expectInside = Math.abs(dx / 2) <= c && Math.abs(dy / 2) <= c;
    assert.equal(mv[i * n + j], expectInside ? 1 : 0);
    // bilinear reproduces a linear function exactly wherever all four neighbours are inside
    if (expectInside) {
      inside++;
      assert.ok(Math.abs(yv[i * n + j] - (1 + 0.25 * dx - 0.125 * dy)) < 1e-5, `pixel ${i},${j}: ${yv[i * n + j]}`);
    }
  }
  assert.equal(inside, n * n); // an 11-px map enlarged by 2 keeps every source point inside (|d|/2 ≤ 2.5 ≤ 5)
  assert.equal(scaleKeepsInside(n, n, 2), true);
  // a shrink samples its outer ring from outside the map (zero fill there): not all inside
  assert.equal(scaleKeepsInside(n, n, 0.5), false);
  assert.equal(arr(scaleMask(n, n, 0.5))[0], 0);
  tf.dispose([x, y, m]);
});

test('shrinking by 1/2: zero border where the source left the map, the centre keeps the value; antialias averages', () => {
  const n = 13;
  // a checkerboard of single pixels on an odd map: plain bilinear sampling at 1/2 reads the source at c + 2(p − c), a
  // pixel centre of one colour every time (aliasing to a constant); the box prefilter averages the footprint to 0.5
  const board = mapOf(n, (dx, dy) => ((dx + dy) % 2 === 0 ? 1 : 0));
  const plain = arr(scaleBatch(board, 0.5));
  const aa = arr(scaleBatch(board, 0.5, { antialias: true }));
  const c = (n - 1) / 2;
  for (let i = c - 2; i <= c + 2; i++) for (let j = c - 2; j <= c + 2; j++) {
    assert.ok(Math.abs(aa[i * n + j] - 0.5) < 1e-6, `antialiased pixel ${i},${j}: ${aa[i * n + j]}`);
    assert.equal(plain[i * n + j], 1, `plain pixel ${i},${j}: the centre's colour, aliased`);
  }
  // corners: source at c + (p − c)·2 is outside the map → zero fill
  assert.equal(aa[0], 0);
  assert.equal(aa[n * n - 1], 0);
  assert.equal(supersampleFor(0.5, true), 2);
  assert.equal(supersampleFor(2 ** (-1 / 3), true), 2);
  assert.equal(supersampleFor(0.5, false), 1);
  assert.equal(scaleSampling(n, n, 0.5, 2).taps, 16);
  tf.dispose(board);
});

test('the gradient is the transposed resampling: <S x, y> = <x, Sᵀ y>', () => {
  const x = tf.randomNormal([2, 10, 10, 3], 0, 1, 'float32', 1) as Tensor4D;
  const y = tf.randomNormal([2, 10, 10, 3], 0, 1, 'float32', 2) as Tensor4D;
  for (const [fs, aa] of [[[0.5, 2 ** (-1 / 3)], true], [[1.6, 2], false]] as const) {
    const sx = scaleBatch(x, fs, { antialias: aa });
    const lhs = tf.sum(tf.mul(sx, y)).dataSync()[0];
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(scaleBatch(t as Tensor4D, fs, { antialias: aa }), y)))(x);
    const rhs = tf.sum(tf.mul(x, g)).dataSync()[0];
    assert.ok(Math.abs(lhs - rhs) < 1e-3 * Math.max(1, Math.abs(lhs)), `${fs}: ${lhs} vs ${rhs}`);
    tf.dispose([sx, g]);
  }
  tf.dispose([x, y]);
});

test('bad factors and maps are named', () => {
  const x = tf.zeros([1, 4, 4, 1]) as Tensor4D;
  assert.throws(() => scaleBatch(x, 0), (e: Error) => e instanceof ScaleError && /positive finite/.test(e.message));
  assert.throws(() => scaleBatch(x, [Number.NaN]), /positive finite number, got NaN/);
  assert.throws(() => scaleBatch(x, [1, 2]), /2 factors for a batch of 1/);
  assert.throws(() => scaleSampling(0, 4, 1), /positive integers, got 0×4/);
  assert.throws(() => scaleSampling(4, 4, 1, 9), /supersample must be an integer in 1..8/);
  assert.throws(() => scaleBatch(tf.zeros([4, 4]) as unknown as Tensor4D, 1), /\[B, H, W, C\] tensor/);
  x.dispose();
});

test('S4 loss group: shrink factors 2^(−k/3); a scale-equivariant map has a small loss, a scale-blind one does not', async () => {
  assert.deepEqual(groupElements('S4').map((v) => +v.toFixed(4)), [0.7937, 0.63, 0.5]);
  assert.deepEqual(groupElements('S4', true)[0], 1);
  const draws = makeAngleSampler('S4', { seed: 3 })(60);
  assert.ok(draws.every((d) => groupElements('S4').includes(d)));
  // smooth blobs: shrink then enlarge back returns them up to the resampling blur
  const n = 24;
  const x = tf.concat([0, 1, 2].map((k) => mapOf(n, (dx, dy) => Math.exp(-((dx - k) ** 2 + (dy + 1) ** 2) / 20))), 0) as Tensor4D;
  const pointwise: GroupedModel = {
    forwardFeatures: (t) => ({ layers: [tf.relu(t) as Tensor4D], out: tf.mean(t, [1, 2, 3]) }),
  };
  // a feature that ignores where things are: the same fixed pattern whatever the input (its copy's back-map differs)
  const pattern = mapOf(n, (dx) => Math.cos(dx * 1.3));
  const blind: GroupedModel = {
    forwardFeatures: (t) => ({ layers: [tf.add(tf.mul(t, 0), pattern) as Tensor4D], out: tf.mean(t, [1, 2, 3]) }),
  };
  const eq = await equivarianceError(pointwise, x, groupElements('S4'), SCALE_ACTION);
  const bl = await equivarianceError(blind, x, groupElements('S4'), SCALE_ACTION);
  assert.ok(eq.perLayer[0] < 2e-4, `pointwise L_G ${eq.perLayer[0]}`);
  assert.ok(bl.perLayer[0] > 100 * eq.perLayer[0], `blind ${bl.perLayer[0]} vs pointwise ${eq.perLayer[0]}`);
  // the training objective uses the same action with group S4, and draws its factors from the group
  const n0 = tf.memory().numTensors;
  const r = equivarianceObjective(pointwise, x, { betas: 1, group: 'S4', taskLoss: (o) => tf.mean(o) as tf.Scalar, sampler: makeAngleSampler('S4', { seed: 1 }) });
  assert.ok(r.angles.every((a) => groupElements('S4').includes(a)));
  assert.ok(r.layers[0].dataSync()[0] < 5e-4);
  tf.dispose([r.total, r.task, ...r.layers]);
  assert.equal(tf.memory().numTensors, n0, 'tensor leak');
  tf.dispose([x, pattern]);
});
