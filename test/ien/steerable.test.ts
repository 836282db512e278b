import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import {
  SteerableLiftingConv, SteerableGroupConv, circularHarmonicBasis, e2cnnBasisParams,
} from '../../tracker/ien/steerable.js';
import { rot90Filter } from '../../tracker/ien/gconv.js';
import { rot90, rotate } from '../../tracker/ien/rotate.js';
import { rollOrientation, groupPool } from '../../tracker/ien/pool.js';
import { checkEquivariance } from '../../tracker/ien/equivariance.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** Smooth multi-channel input: Gaussian blobs of σ ≈ 3–4 px, [1, n, n, c]. */
function smoothInput(n: number, c: number): tf.Tensor4D {
  const v = new Float32Array(n * n * c);
  const m = (n - 1) / 2;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < c; k++) {
    const x = j - m, y = i - m;
    v[(i * n + j) * c + k] = Math.exp(-((x - 3 - k) ** 2 + (y + 2) ** 2) / 20) - 0.8 * Math.exp(-((x + 4) ** 2 + (y - 2 + k) ** 2) / 14);
  }
  return tf.tensor4d(v, [1, n, n, c]);
}

/** Disk mask [1, n, n, 1]: 1 within `radius` px of the centre. */
function disk(n: number, radius: number): tf.Tensor4D {
  const v = new Float32Array(n * n);
  const m = (n - 1) / 2;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) v[i * n + j] = Math.hypot(i - m, j - m) <= radius ? 1 : 0;
  return tf.tensor4d(v, [1, n, n, 1]);
}

test('e2cnn default basis parameters: 5×5 rings [0,1,2], σ [0.005,0.6,0.4], max frequency [0,2,2]', () => {
  assert.deepEqual(e2cnnBasisParams(5), { rings: [0, 1, 2], sigmas: [0.005, 0.6, 0.4], maxFrequencies: [0, 2, 2] });
  assert.deepEqual(e2cnnBasisParams(7).maxFrequencies, [0, 2, 3, 2]);
  assert.deepEqual(e2cnnBasisParams(3), { rings: [0, 1], sigmas: [0.005, 0.4], maxFrequencies: [0, 2] });
  // 5×5: centre (1) + two rings × (cos0, cos1, sin1, cos2, sin2) = 11 elements
  assert.equal(circularHarmonicBasis(5).elements.length, 11);
  assert.throws(() => circularHarmonicBasis(4), /odd/);
});

test('rotating the basis by 90° (2 steps of C8) is the grid rotation of the sampled filter; 45° is a phase shift', () => {
  const b = circularHarmonicBasis(5, 8);
  const nB = b.elements.length, kk = 25;
  const base = tf.transpose(tf.reshape(tf.tensor1d(b.sampled.slice(0, kk * nB)), [5, 5, 1, nB]), [0, 1, 2, 3]) as tf.Tensor4D;
  const rot2 = tf.reshape(tf.tensor1d(b.sampled.slice(2 * kk * nB, 3 * kk * nB)), [5, 5, 1, nB]);
  const turned = rot90Filter(base, 1);
  const err = tf.tidy(() => tf.max(tf.abs(tf.sub(turned, rot2))).dataSync()[0]);
  assert.ok(err < 1e-6, `90° basis error ${err}`);
  // cos(μ(φ − 45°)) = cos μφ cos 45μ + sin μφ sin 45μ: check for the μ = 1 pair of the middle ring
  const ic = b.elements.findIndex((e) => e.ring === 1 && e.frequency === 1 && e.kind === 'cos');
  const is = b.elements.findIndex((e) => e.ring === 1 && e.frequency === 1 && e.kind === 'sin');
  const c45 = Math.SQRT1_2;
  for (let p = 0; p < kk; p++) {
    const want = b.sampled[p * nB + ic] * c45 + b.sampled[p * nB + is] * c45;
    assert.ok(Math.abs(b.sampled[(kk + p) * nB + ic] - want) < 1e-6);
  }
  tf.dispose([base, rot2, turned]);
});

test('C8 layers are exactly equivariant to 90° turns (two steps of the regular representation), error < 1e-5', (t) => {
  const x = tf.randomNormal([2, 11, 11, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
  const lift = new SteerableLiftingConv({ inChannels: 2, outFields: 2, kernelSize: 5, bias: true, seed: 2 });
  const grp = new SteerableGroupConv({ inChannels: 2, outFields: 2, kernelSize: 3, seed: 3 });
  assert.equal(lift.expandedFilter().shape[3], 16);
  assert.equal(grp.inChannels, 16);
  const stack = (v: tf.Tensor4D) => tf.tidy(() => grp.apply(tf.relu(lift.apply(v))));
  for (const k of [1, 2, 3]) {
    const r = checkEquivariance(stack, x, (v) => rot90(v, k), (y) => tf.tidy(() => rollOrientation(rot90(y, k), 8, 2 * k)),
      { tol: 1e-5, label: `C8 stack, ${90 * k}°` });
    t.diagnostic(`${90 * k}°: max error ${r.maxAbsError.toExponential(2)} (|y| ≤ ${r.maxAbsOutput.toFixed(2)})`);
  }
  tf.dispose(x);
  lift.dispose(); grp.dispose();
});

test('C8 layers are approximately equivariant to 45° inside the valid region (relative error < 0.1)', (t) => {
  const n = 33;
  const x = smoothInput(n, 2);
  const lift = new SteerableLiftingConv({ inChannels: 2, outFields: 3, kernelSize: 5, seed: 4 });
  const grp = new SteerableGroupConv({ inChannels: 3, outFields: 2, kernelSize: 5, seed: 5 });
  const mask = disk(n, 11);
  const act = (y: tf.Tensor4D) => tf.tidy(() => rollOrientation(rotate(y, 45), 8, 1));
  const a = checkEquivariance((v) => lift.apply(v), x, (v) => rotate(v, 45), act, { mask });
  const b = checkEquivariance((v) => tf.tidy(() => grp.apply(lift.apply(v))), x, (v) => rotate(v, 45), act, { mask });
  const relA = a.maxAbsError / a.maxAbsOutput, relB = b.maxAbsError / b.maxAbsOutput;
  t.diagnostic(`45°: lifting max err ${a.maxAbsError.toFixed(4)} (rel ${relA.toFixed(4)}), lifting+group ${b.maxAbsError.toFixed(4)} (rel ${relB.toFixed(4)})`);
  assert.ok(relA < 0.1 && relB < 0.1, `relative errors ${relA}, ${relB}`);
  // a C4 roll would be wrong: the orientation channels really carry 45° steps
  const wrong = checkEquivariance((v) => lift.apply(v), x, (v) => rotate(v, 45), (y) => tf.tidy(() => rotate(y, 45)), { mask });
  assert.ok(wrong.maxAbsError > 3 * a.maxAbsError, `without roll ${wrong.maxAbsError} vs ${a.maxAbsError}`);
  tf.dispose([x, mask]);
  lift.dispose(); grp.dispose();
});

test('steerable inference cache and dispose leave no tensors behind; gradients reach the coefficients', () => {
  const x = tf.randomNormal([1, 7, 7, 1]) as tf.Tensor4D;
  const n0 = tf.memory().numTensors;
  const l = new SteerableLiftingConv({ inChannels: 1, outFields: 2, kernelSize: 3, bias: true });
  assert.equal(tf.memory().numTensors, n0 + 3, 'coefficients, bias, basis');
  const y = l.apply(x, true);
  y.dispose();
  assert.equal(tf.memory().numTensors, n0 + 3, 'training apply');
  const z = l.apply(x);
  z.dispose();
  assert.equal(tf.memory().numTensors, n0 + 4, 'inference apply caches one bank');
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(l.apply(x, true))) as tf.Scalar, l.trainableVariables);
  const g = grads[l.coefficients.name];
  assert.ok(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 0);
  tf.dispose([value, ...Object.values(grads)]);
  l.dispose();
  assert.equal(tf.memory().numTensors, n0);
  x.dispose();
  assert.throws(() => new SteerableGroupConv({ inChannels: 1, outFields: 1, kernelSize: 3 }).apply(tf.zeros([1, 3, 3, 4]) as tf.Tensor4D),
    /4 channels.*expects 8/);
});
