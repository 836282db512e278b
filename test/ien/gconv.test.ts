import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import {
  C4LiftingConv, C4GroupConv, rot90Filter, expandC4Lifting, expandC4Group,
} from '../../tracker/ien/gconv.js';
import { rot90 } from '../../tracker/ien/rotate.js';
import { rollOrientation, groupPool } from '../../tracker/ien/pool.js';
import { checkEquivariance } from '../../tracker/ien/equivariance.js';
import { LayerError } from '../../tracker/ien/conv.js';

before(async () => {
  await tf.setBackend('cpu');
});

const arr = (t: tf.Tensor) => Array.from(t.dataSync());
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const rotIn = (k: number) => (x: tf.Tensor4D) => rot90(x, k);
/** The output action of k quarter turns on C4 fields: rotate the maps, roll the orientation axis by k. */
const rotOut = (k: number) => (y: tf.Tensor4D) => tf.tidy(() => rollOrientation(rot90(y, k), 4, k));

test('rot90Filter turns filters in the same sense as rot90 turns maps', () => {
  const w = tf.randomNormal([3, 3, 2, 5], 0, 1, 'float32', 1) as tf.Tensor4D;
  for (const k of [1, 2, 3]) {
    const a = rot90Filter(w, k);
    // a filter bank [kh, kw, in, out] is a map batch after moving out to the front
    const b = tf.tidy(() => tf.transpose(rot90(tf.transpose(w, [3, 0, 1, 2]) as tf.Tensor4D, k), [1, 2, 3, 0]));
    assert.deepEqual(arr(a), arr(b));
    tf.dispose([a, b]);
  }
  w.dispose();
});

test('expanded banks follow W̃[o,r; i,s] = rot90^r(W[o; i, (s−r) mod 4]) (checked element by element)', () => {
  const k = 3, I = 2, O = 3;
  const w = tf.randomNormal([k, k, I * 4, O], 0, 1, 'float32', 2) as tf.Tensor4D;
  const big = expandC4Group(w);
  assert.deepEqual(big.shape, [k, k, I * 4, O * 4]);
  const bv = big.dataSync();
  for (let r = 0; r < 4; r++) {
    const rw = rot90Filter(w, r);
    const rv = rw.dataSync();
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) for (let i = 0; i < I; i++) for (let s = 0; s < 4; s++) {
      for (let o = 0; o < O; o++) {
        const got = bv[((a * k + b) * I * 4 + i * 4 + s) * O * 4 + o * 4 + r];
        const want = rv[((a * k + b) * I * 4 + i * 4 + ((s - r + 4) % 4)) * O + o];
        assert.equal(got, want);
      }
    }
    rw.dispose();
  }
  const wl = tf.randomNormal([k, k, 2, O], 0, 1, 'float32', 3) as tf.Tensor4D;
  const lift = expandC4Lifting(wl);
  const r1 = rot90Filter(wl, 1);
  // channel o·4 + 1 of the lifting bank is rot90 of base filter o
  const ch = tf.tidy(() => tf.gather(lift, [1, 5, 9], 3));
  assert.deepEqual(arr(ch), arr(r1));
  tf.dispose([w, big, wl, lift, r1, ch]);
  assert.throws(() => expandC4Group(tf.zeros([3, 3, 6, 2]) as tf.Tensor4D), /6 input channels/);
});

test('C4 lifting and group layers are exactly equivariant to 90° turns (error < 1e-5)', (t) => {
  const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const lift = new C4LiftingConv({ inChannels: 3, outFields: 2, kernelSize: 3, bias: true, seed: 5 });
  const grp = new C4GroupConv({ inChannels: 2, outFields: 3, kernelSize: 5, seed: 6 });
  tf.tidy(() => lift.bias!.assign(tf.tensor1d([0.3, -0.2])));
  const stack = (v: tf.Tensor4D) => tf.tidy(() => grp.apply(tf.relu(lift.apply(v))));
  for (const k of [1, 2, 3]) {
    const a = checkEquivariance((v) => lift.apply(v), x, rotIn(k), rotOut(k), { tol: 1e-5, label: `lifting k=${k}` });
    const b = checkEquivariance(stack, x, rotIn(k), rotOut(k), { tol: 1e-5, label: `stack k=${k}` });
    t.diagnostic(`k=${k}: lifting max err ${a.maxAbsError.toExponential(2)}, lifting+group ${b.maxAbsError.toExponential(2)} (|y| ≤ ${b.maxAbsOutput.toFixed(2)})`);
  }
  // 'valid' padding too
  const v = new C4GroupConv({ inChannels: 2, outFields: 1, kernelSize: 3, padding: 'valid', seed: 7 });
  const h = lift.apply(x);
  checkEquivariance((u) => v.apply(u), h, rotOut(1), rotOut(1), { tol: 1e-5, label: 'valid' });
  // group pooling (Λ = 4) makes the stack invariant up to the spatial turn
  checkEquivariance((u) => tf.tidy(() => groupPool(stack(u), grp.outLayout)), x, rotIn(1), rotIn(1), { tol: 1e-5 });
  // the check can fail: without the orientation roll the error is large
  const bad = checkEquivariance(stack, x, rotIn(1), rotIn(1));
  assert.ok(bad.maxAbsError > 0.1, `unrolled error ${bad.maxAbsError}`);
  tf.dispose([x, h]);
  lift.dispose(); grp.dispose(); v.dispose();
});

test('the inference bank is cached, invalidated when the weights change, and gradients reach the base weights', () => {
  const layer = new C4GroupConv({ inChannels: 1, outFields: 2, kernelSize: 3, seed: 8 });
  const x = tf.randomNormal([1, 5, 5, 4], 0, 1, 'float32', 9) as tf.Tensor4D;
  const n0 = tf.memory().numTensors;
  const y1 = layer.apply(x);
  assert.equal(tf.memory().numTensors, n0 + 2, 'output + cached bank');
  const f1 = layer.expandedFilter();
  assert.equal(layer.expandedFilter(), f1, 'same cached tensor');
  tf.tidy(() => layer.kernel.assign(tf.mul(layer.kernel, 2)));
  const f2 = layer.expandedFilter();
  assert.notEqual(f2, f1);
  assert.ok(f1.isDisposed, 'stale bank released');
  const y2 = layer.apply(x);
  assert.ok(tf.tidy(() => maxAbsDiff(tf.mul(y1, 2), y2)) < 1e-5);
  // training mode: a fresh differentiable bank (not the cache)
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(layer.apply(x, true))) as tf.Scalar, [layer.kernel]);
  const g = grads[layer.kernel.name];
  assert.deepEqual(g.shape, layer.kernel.shape);
  assert.ok(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 0);
  tf.dispose([y1, y2, g, value]);
  layer.dispose();
  x.dispose();
  assert.equal(tf.memory().numTensors, n0 - 2, 'dispose releases kernel, cache (and x)');
});

test('bad inputs name the problem', () => {
  const l = new C4GroupConv({ inChannels: 2, outFields: 1, kernelSize: 3 });
  assert.throws(() => l.apply(tf.zeros([1, 4, 4, 3]) as tf.Tensor4D), (e: Error) =>
    e instanceof LayerError && /3 channels/.test(e.message) && /expects 8/.test(e.message));
  assert.throws(() => new C4LiftingConv({ inChannels: 0, outFields: 1, kernelSize: 3 }), /inChannels.*0/);
  l.dispose();
});

test('no tensor leaks in apply (training and inference), expand and dispose', () => {
  const x = tf.randomNormal([1, 6, 6, 2]) as tf.Tensor4D;
  const n0 = tf.memory().numTensors;
  const l = new C4LiftingConv({ inChannels: 2, outFields: 2, kernelSize: 3, bias: true });
  const owned = tf.memory().numTensors - n0; // kernel + bias
  assert.equal(owned, 2);
  for (const training of [true, false, false]) {
    const before = tf.memory().numTensors;
    const y = l.apply(x, training);
    y.dispose();
    const extra = tf.memory().numTensors - before;
    assert.ok(extra === 0 || (!training && extra === 1 && l.expandedFilter() !== undefined), `leak in apply(${training})`);
  }
  const before = tf.memory().numTensors;
  l.expand().dispose();
  const w = tf.zeros([3, 3, 8, 2]) as tf.Tensor4D;
  for (const f of [() => rot90Filter(w, 1), () => rot90Filter(w, 0), () => expandC4Lifting(w), () => expandC4Group(w)]) f().dispose();
  w.dispose();
  assert.equal(tf.memory().numTensors, before);
  l.dispose();
  assert.equal(tf.memory().numTensors, n0);
  x.dispose();
});
