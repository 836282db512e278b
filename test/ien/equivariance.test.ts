import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import {
  equivarianceObjective, equivarianceError, makeAngleSampler, groupAngles, checkEquivariance, alignedMSE,
  EquivarianceError, type GroupedModel, type EquivarianceLossResult,
} from '../../tracker/ien/equivariance.js';
import { C4LiftingConv, C4GroupConv } from '../../tracker/ien/gconv.js';
import { SteerableLiftingConv, SteerableGroupConv } from '../../tracker/ien/steerable.js';
import { IenConv2d } from '../../tracker/ien/conv.js';
import { groupPool } from '../../tracker/ien/pool.js';
import { rot90, rotate } from '../../tracker/ien/rotate.js';
import type { GroupedLayer } from '../../tracker/ien/conv.js';

before(async () => {
  await tf.setBackend('cpu');
});

const scalar = (t: tf.Tensor) => t.dataSync()[0];
const disposeResult = (r: EquivarianceLossResult) => tf.dispose([r.total, r.task, ...r.layers]);

/** conv → relu → conv → relu, pooled features per layer, output = spatial mean of the last pooled map. */
function twoLayerModel(a: GroupedLayer, b: GroupedLayer): GroupedModel {
  return {
    layerLayouts: [a.outLayout, b.outLayout],
    forwardFeatures(x, training) {
      const h1 = tf.relu(a.apply(x, training)) as tf.Tensor4D;
      const h2 = tf.relu(b.apply(h1, training)) as tf.Tensor4D;
      const p2 = groupPool(h2, b.outLayout);
      return { layers: [groupPool(h1, a.outLayout), p2], out: tf.mean(p2, [1, 2]) };
    },
  };
}

const taskLoss = (out: tf.Tensor) => tf.mean(tf.square(out)) as tf.Scalar;

test('samplers: C4 draws quarter turns {90,180,270} (reference code), C8 45° steps; seeded and injectable', () => {
  assert.deepEqual(groupAngles('C4'), [90, 180, 270]);
  assert.deepEqual(groupAngles('C4', true), [0, 90, 180, 270]);
  assert.deepEqual(groupAngles('C8'), [45, 90, 135, 180, 225, 270, 315]);
  const a = makeAngleSampler('C8', { seed: 3 })(200), b = makeAngleSampler('C8', { seed: 3 })(200);
  assert.deepEqual(a, b);
  assert.deepEqual([...new Set(a)].sort((x, y) => x - y), groupAngles('C8'));
  assert.notDeepEqual(makeAngleSampler('C8', { seed: 4 })(200), a);
  assert.deepEqual(makeAngleSampler('C4', { random: () => 0.99 })(2), [270, 270]);
  // the default stream of equivarianceObjective advances between calls
  const model: GroupedModel = { forwardFeatures: (x) => ({ layers: [], out: tf.mean(x) }) };
  const x = tf.zeros([16, 4, 4, 1]) as tf.Tensor4D;
  const r1 = equivarianceObjective(model, x, { betas: [], taskLoss: (o) => tf.mul(o, 1) as tf.Scalar, group: 'C8' });
  const r2 = equivarianceObjective(model, x, { betas: [], taskLoss: (o) => tf.mul(o, 1) as tf.Scalar, group: 'C8' });
  assert.notDeepEqual(r1.angles, r2.angles);
  r1.angles.forEach((a) => assert.ok(groupAngles('C8').includes(a)));
  disposeResult(r1); disposeResult(r2); x.dispose();
});

test('equivariance loss ≈ 0 (< 1e-6) for a C4 GCNN stack with group pooling, clearly > 0 for a random plain CNN', (t) => {
  const x = tf.randomNormal([3, 9, 9, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const g1 = new C4LiftingConv({ inChannels: 1, outFields: 2, kernelSize: 3, seed: 2 });
  const g2 = new C4GroupConv({ inChannels: 2, outFields: 2, kernelSize: 3, seed: 3 });
  const gcnn = twoLayerModel(g1, g2);
  const p1 = new IenConv2d({ inChannels: 1, outChannels: 8, kernelSize: 3, groups: 'R4', seed: 2 });
  const p2 = new IenConv2d({ inChannels: 8, outChannels: 8, kernelSize: 3, groups: 'R4', seed: 3 });
  const cnn = twoLayerModel(p1, p2);
  const sampler = makeAngleSampler('C4', { seed: 7 });
  const rg = equivarianceObjective(gcnn, x, { betas: 1, taskLoss, sampler });
  const rc = equivarianceObjective(cnn, x, { betas: 1, taskLoss, sampler });
  const lg = rg.layers.map(scalar), lc = rc.layers.map(scalar);
  t.diagnostic(`angles ${rg.angles} / ${rc.angles}; GCNN per-layer MSE ${lg.map((v) => v.toExponential(2))}; CNN ${lc.map((v) => v.toExponential(2))}`);
  lg.forEach((v) => assert.ok(v < 1e-6, `GCNN layer MSE ${v}`));
  lc.forEach((v) => assert.ok(v > 1e-3, `CNN layer MSE ${v}`));
  // total = task + Σ β_i MSE_i
  assert.ok(Math.abs(scalar(rc.total) - scalar(rc.task) - lc[0] - lc[1]) < 1e-5);
  disposeResult(rg); disposeResult(rc);
  // per-layer betas; β = 0 layers are skipped
  const r2 = equivarianceObjective(cnn, x, { betas: [0, 0.1], taskLoss, sampler: () => [90, 180, 270] });
  assert.equal(scalar(r2.layers[0]), 0);
  assert.ok(Math.abs(scalar(r2.total) - scalar(r2.task) - 0.1 * scalar(r2.layers[1])) < 1e-6);
  disposeResult(r2);
  assert.throws(() => equivarianceObjective(cnn, x, { betas: [1, 1, 1], taskLoss }), /3 betas for a model with 2 layers/);
  assert.throws(() => equivarianceObjective(cnn, x, { betas: 1, taskLoss, sampler: () => [90] }), /1 angles for 3 samples/);
  tf.dispose(x);
  [g1, g2, p1, p2].forEach((l) => l.dispose());
});

/** Smooth inputs: Gaussian blobs of σ ≈ 3 px, [b, n, n, 1] (bilinear 45° rotations are accurate on them). */
function smoothBatch(n: number, b: number): tf.Tensor4D {
  const v = new Float32Array(b * n * n);
  const m = (n - 1) / 2;
  for (let s = 0; s < b; s++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const x = j - m, y = i - m;
    v[(s * n + i) * n + j] = Math.exp(-((x - 3 - s) ** 2 + (y + 2) ** 2) / 20) - 0.8 * Math.exp(-((x + 4) ** 2 + (y - 2 + s) ** 2) / 14);
  }
  return tf.tensor4d(v, [b, n, n, 1]);
}

test('C8: the masked loss of a steerable stack, relative to its feature energy, is far below a plain CNN\'s', (t) => {
  const xs = smoothBatch(25, 2);
  const s1 = new SteerableLiftingConv({ inChannels: 1, outFields: 1, kernelSize: 5, seed: 12 });
  const s2 = new SteerableGroupConv({ inChannels: 1, outFields: 1, kernelSize: 3, seed: 13 });
  const p1 = new IenConv2d({ inChannels: 1, outChannels: 8, kernelSize: 5, groups: 'R8', seed: 12 });
  const p2 = new IenConv2d({ inChannels: 8, outChannels: 8, kernelSize: 3, groups: 'R8', seed: 13 });
  const sampler = () => [45, 135];
  const relative = (m: GroupedModel) => {
    const r = equivarianceObjective(m, xs, { betas: 1, taskLoss, sampler });
    const energy = tf.tidy(() => m.forwardFeatures(xs, false).layers.map((l) => scalar(tf.mean(tf.square(l)))));
    const rel = r.layers.map((l, i) => scalar(l) / energy[i]);
    disposeResult(r);
    return rel;
  };
  const ls = relative(twoLayerModel(s1, s2)), lc = relative(twoLayerModel(p1, p2));
  t.diagnostic(`45°/135° relative MSE per layer: steerable ${ls.map((v) => v.toExponential(2))}; CNN ${lc.map((v) => v.toExponential(2))}`);
  ls.forEach((v, i) => assert.ok(Number.isFinite(v) && v < lc[i] / 10, `layer ${i}: ${v} vs ${lc[i]}`));
  ls.forEach((v) => assert.ok(v < 0.01, `steerable relative MSE ${v}`));
  xs.dispose();
  [s1, s2, p1, p2].forEach((l) => l.dispose());
});

test('alignedMSE masks the corners lost by a 45° rotation and equals the plain MSE for 90°', () => {
  const a = tf.randomNormal([1, 8, 8, 2], 0, 1, 'float32', 21) as tf.Tensor4D;
  // rotated = exactly ϕ_g a for 90°: zero error; for 45° the rotated-back copy differs only by interpolation
  const r90 = rot90(a, 1);
  assert.ok(tf.tidy(() => scalar(alignedMSE(a, r90, [90]))) < 1e-12);
  const ones = tf.ones([1, 9, 9, 1]) as tf.Tensor4D;
  const r45 = rotate(ones, 45);
  // a constant map rotated by 45° and back is 1 wherever both source points were inside: masked MSE ≈ small, the
  // unmasked one counts the zero-filled corners
  const n0 = tf.memory().numTensors;
  const m = alignedMSE(ones, r45, [45]);
  assert.equal(tf.memory().numTensors, n0 + 1, 'alignedMSE leaves only its result');
  const masked = scalar(m);
  m.dispose();
  const unmasked = tf.tidy(() => scalar(tf.mean(tf.squaredDifference(ones, rotate(r45, -45)))));
  assert.ok(masked < 0.05 && unmasked > 3 * masked, `masked ${masked}, unmasked ${unmasked}`);
  tf.dispose([a, r90, ones, r45]);
});

test('gradients flow through both halves (no detach): analytic = central differences for a quadratic model', () => {
  // one linear conv with Λ = 1: the loss is a quadratic function of the kernel, so central differences are exact
  const conv = new IenConv2d({ inChannels: 1, outChannels: 2, kernelSize: 3, seed: 31 });
  const model: GroupedModel = {
    forwardFeatures(x) {
      const y = conv.apply(x);
      return { layers: [y], out: tf.mean(y, [1, 2, 3]) };
    },
  };
  const x = tf.randomNormal([2, 7, 7, 1], 0, 1, 'float32', 32) as tf.Tensor4D;
  const opts = { betas: 2, taskLoss: (o: tf.Tensor) => tf.mul(tf.sum(o), 0) as tf.Scalar, sampler: () => [90, 45] };
  const loss = () => {
    const r = equivarianceObjective(model, x, opts);
    tf.dispose([r.task, ...r.layers]);
    return r.total;
  };
  const { value, grads } = tf.variableGrads(loss, [conv.kernel]);
  const g = grads[conv.kernel.name].dataSync();
  const w0 = conv.kernel.dataSync().slice();
  const eps = 0.05;
  for (const idx of [0, 4, 9, 13, 17]) {
    const at = (d: number) => {
      const w = w0.slice(); w[idx] += d;
      tf.tidy(() => conv.kernel.assign(tf.tensor(w, conv.kernel.shape)));
      return tf.tidy(() => scalar(loss()));
    };
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(Math.abs(fd - g[idx]) < 2e-3 * Math.max(1, Math.abs(fd)), `kernel[${idx}]: analytic ${g[idx]} vs fd ${fd}`);
  }
  assert.ok(scalar(value) > 0);
  tf.dispose([value, ...Object.values(grads), x]);
  conv.dispose();
});

test('equivarianceError reports per-layer L_G as numbers (≈0 for GCNN, > 0 for CNN) and agrees with the loss', async () => {
  const x = tf.randomNormal([2, 9, 9, 1], 0, 1, 'float32', 41) as tf.Tensor4D;
  const g1 = new C4LiftingConv({ inChannels: 1, outFields: 2, kernelSize: 3, seed: 42 });
  const g2 = new C4GroupConv({ inChannels: 2, outFields: 1, kernelSize: 3, seed: 43 });
  const p1 = new IenConv2d({ inChannels: 1, outChannels: 8, kernelSize: 3, groups: 'R4', seed: 42 });
  const p2 = new IenConv2d({ inChannels: 8, outChannels: 4, kernelSize: 3, groups: 'R4', seed: 43 });
  const gcnn = twoLayerModel(g1, g2), cnn = twoLayerModel(p1, p2);
  const eg = await equivarianceError(gcnn, x, [90, 180, 270]);
  const ec = await equivarianceError(cnn, x, [90, 180, 270]);
  assert.equal(eg.perLayer.length, 2);
  assert.equal(eg.perAngle.length, 3);
  eg.perLayer.forEach((v) => assert.ok(v < 1e-6, `GCNN L_G ${v}`));
  ec.perLayer.forEach((v) => assert.ok(v > 1e-3, `CNN L_G ${v}`));
  // mean over angles
  assert.ok(Math.abs(ec.perLayer[1] - (ec.perAngle[0][1] + ec.perAngle[1][1] + ec.perAngle[2][1]) / 3) < 1e-9);
  // same number as the loss with every sample rotated by 180°
  const r = equivarianceObjective(cnn, x, { betas: 1, taskLoss, sampler: () => [180, 180], training: false });
  assert.ok(Math.abs(scalar(r.layers[1]) - ec.perAngle[1][1]) < 1e-6);
  disposeResult(r);
  // leak-free (inference banks are already cached by the calls above)
  const n0 = tf.memory().numTensors;
  await equivarianceError(cnn, x, [45]);
  await equivarianceError(gcnn, x, [90]);
  assert.equal(tf.memory().numTensors, n0);
  await assert.rejects(equivarianceError(cnn, x, []), /at least one angle/);
  tf.dispose(x);
  [g1, g2, p1, p2].forEach((l) => l.dispose());
});

test('layer layouts are checked against the pooled widths', () => {
  const conv = new IenConv2d({ inChannels: 1, outChannels: 8, kernelSize: 3, groups: 'R4' });
  const bad: GroupedModel = {
    layerLayouts: [conv.outLayout],
    forwardFeatures(x) {
      const y = conv.apply(x);
      return { layers: [y], out: tf.mean(y) }; // forgot to pool: 8 channels instead of 2
    },
  };
  const x = tf.zeros([1, 5, 5, 1]) as tf.Tensor4D;
  assert.throws(() => equivarianceObjective(bad, x, { betas: 1, taskLoss }), (e: Error) =>
    e instanceof EquivarianceError && /8 channels/.test(e.message) && /R4×8 pools to 2/.test(e.message));
  x.dispose();
  conv.dispose();
});

test('checkEquivariance throws above the tolerance and reports the error', () => {
  const x = tf.randomNormal([1, 6, 6, 1], 0, 1, 'float32', 51) as tf.Tensor4D;
  const shift = (v: tf.Tensor4D) => tf.tidy(() => tf.add(v, 1)) as tf.Tensor4D;
  // f = identity is equivariant to any action; f = square is equivariant to rotations but not to shifts by +1
  const ok = checkEquivariance((v) => tf.clone(v), x, (v) => rot90(v, 1), (v) => rot90(v, 1), { tol: 0 });
  assert.equal(ok.maxAbsError, 0);
  assert.throws(() => checkEquivariance((v) => tf.square(v), x, shift, shift, { tol: 1e-3, label: 'square' }),
    /square: max abs error .* > tolerance 0.001/);
  x.dispose();
});

test('no tensor leaks in equivarianceObjective (beyond the returned scalars) and checkEquivariance', () => {
  const x = tf.randomNormal([2, 7, 7, 1]) as tf.Tensor4D;
  const p1 = new IenConv2d({ inChannels: 1, outChannels: 4, kernelSize: 3, groups: 'R4' });
  const p2 = new IenConv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, groups: 'R2' });
  const m = twoLayerModel(p1, p2);
  for (const sampler of [() => [90, 270], () => [45, 30]]) {
    const n0 = tf.memory().numTensors;
    const r = equivarianceObjective(m, x, { betas: [1, 0], taskLoss, sampler });
    disposeResult(r);
    assert.equal(tf.memory().numTensors, n0);
  }
  const n0 = tf.memory().numTensors;
  checkEquivariance((v) => p1.apply(v), x, (v) => rot90(v, 1), (v) => rot90(v, 1), { mask: tf.ones([1, 7, 7, 1]) as tf.Tensor4D });
  assert.equal(tf.memory().numTensors, n0 + 1, 'only the caller-owned mask remains');
  tf.dispose(x);
  p1.dispose(); p2.dispose();
});
