// A whole training step on native-cpu equals the cpu backend's: a small SiamFC-like net (conv → BatchNorm with
// batch statistics → relu → maxPool 3×3/2 → conv → relu → conv, shared by the exemplar and search branches, then the
// per-sample cross-correlation and a logistic loss). Loss and the gradients of every variable, relative error < 1e-4.
// (No bias before BatchNorm: its exact gradient is 0, so what both backends compute there is rounding noise.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { loadNativeAddon, type NativeAddon } from '../../tracker/node/native-backend.js';
import { data, nativeOrSkip, relErr, rng, TOL, type Data, countCalls } from './util.js';

const reg = nativeOrSkip();
const skip = !reg.ok;

const rand = rng(8080);
const B = 2;
const params: Record<string, Data> = {
  w1: data(rand, [5, 5, 3, 8]), gamma: data(rand, [8]), beta: data(rand, [8]),
  w2: data(rand, [3, 3, 8, 12]), b2: data(rand, [12]),
  w3: data(rand, [3, 3, 12, 6]),
};
const z = data(rand, [B, 31, 31, 3]);
const x = data(rand, [B, 47, 47, 3]);

function step(backend: string): { loss: number; grads: Record<string, Float32Array>; leaked: number } {
  tf.setBackend(backend);
  const vars: Record<string, tf.Variable> = {};
  for (const [k, v] of Object.entries(params)) vars[k] = tf.variable(tf.tensor(v.values, v.shape), true, `${backend}-${k}`);
  const before = tf.memory().numTensors;
  const backbone = (t: tf.Tensor4D): tf.Tensor4D => {
    let h = tf.conv2d(t, vars.w1 as tf.Tensor4D, 2, 'valid');
    const { mean, variance } = tf.moments(h, [0, 1, 2]);
    h = tf.batchNorm(h, mean, variance, vars.beta, vars.gamma, 1e-5) as tf.Tensor4D;
    h = tf.maxPool(tf.relu(h), 3, 2, 'valid');
    h = tf.relu(tf.add(tf.conv2d(h, vars.w2 as tf.Tensor4D, 1, 'same'), vars.b2) as tf.Tensor4D);
    return tf.conv2d(h, vars.w3 as tf.Tensor4D, 1, 'valid');
  };
  const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
    const fz = backbone(tf.tensor4d(z.values, z.shape as [number, number, number, number]));
    const fx = backbone(tf.tensor4d(x.values, x.shape as [number, number, number, number]));
    const outs: tf.Tensor4D[] = [];
    for (let b = 0; b < B; b++) {
      const kernel = tf.transpose(tf.slice(fz, [b, 0, 0, 0], [1, -1, -1, -1]), [1, 2, 3, 0]) as tf.Tensor4D;
      outs.push(tf.conv2d(tf.slice(fx, [b, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D, kernel, 1, 'valid'));
    }
    const r = tf.mul(tf.concat(outs, 0), 1e-3);
    const labels = tf.cast(tf.greater(tf.randomUniform(r.shape, 0, 1, 'float32', 3), 0.7), 'float32');
    return tf.losses.sigmoidCrossEntropy(labels, r) as tf.Scalar;
  }));
  const loss = value.dataSync()[0];
  const out: Record<string, Float32Array> = {};
  for (const [k, g] of Object.entries(grads)) out[k.replace(`${backend}-`, '')] = g.dataSync() as Float32Array;
  tf.dispose([value, ...Object.values(grads)]);
  const leaked = tf.memory().numTensors - before;
  tf.dispose(Object.values(vars));
  return { loss, grads: out, leaked };
}

test('one training step: same loss and gradients of every variable on native-cpu and cpu, no leaks', { skip }, () => {
  // Count the add-on's calls during the native step: parity alone would not notice kernels silently falling back to cpu.
  const addon = loadNativeAddon() as unknown as Record<string, (...a: unknown[]) => unknown>;
  const calls: Record<string, number> = {};
  const originals = { ...addon };
  for (const [k, f] of Object.entries(originals)) {
    addon[k] = (...a: unknown[]) => {
      calls[k] = (calls[k] ?? 0) + 1;
      return f(...a);
    };
  }
  let nat: ReturnType<typeof step>;
  try {
    nat = step('native-cpu');
  } finally {
    Object.assign(addon, originals);
  }
  const expected: (keyof NativeAddon)[] = ['conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter', 'maxPool', 'maxPoolGrad',
    'binary', 'unary', 'reduceSum', 'batchNorm', 'bnGradSums', 'transpose', 'pad'];
  for (const k of expected) assert.ok((calls[k] ?? 0) > 0, `native ${k} ran during the step (calls: ${JSON.stringify(calls)})`);
  const ref = step('cpu');
  assert.equal(nat.leaked, 0, 'no tensors leaked by the native-cpu step');
  assert.ok(Number.isFinite(ref.loss) && ref.loss > 0, `a real loss (${ref.loss})`);
  const lossErr = Math.abs(nat.loss - ref.loss) / Math.max(1e-6, Math.abs(ref.loss));
  assert.ok(lossErr < TOL, `loss ${nat.loss} vs ${ref.loss}`);
  assert.deepEqual(Object.keys(nat.grads).sort(), Object.keys(params).sort(), 'a gradient for every variable');
  for (const k of Object.keys(params)) {
    const g = ref.grads[k];
    assert.ok(g.some((v) => v !== 0), `gradient of ${k} is not all zeros`);
    const e = relErr(nat.grads[k], g);
    assert.ok(e < TOL, `gradient of ${k}: relative error ${e.toExponential(2)}`);
  }
});

test('one IEN-SiamFC training step (tiny R4 backbone, equivariance loss on rotated copies): native-cpu equals cpu', { skip }, async () => {
  const { tinySpec } = await import('../../training/config.js');
  const { createBackbone } = await import('../../tracker/weights.js');
  const { SiamFCNet } = await import('../../tracker/siamfc/network.js');
  const { stepLosses } = await import('../../training/objective.js');
  const { ienEquivarianceHook } = await import('../../training/losses.js');
  const { trainingGeometry, trainingLabels } = await import('../../training/labels.js');
  const { derivedRng, RNG_PURPOSE } = await import('../../training/rng.js');
  const spec = tinySpec({ equivariance: { kind: 'ien', groups: 'R4' } });
  const g = trainingGeometry(spec);
  const labels = trainingLabels(spec);
  const r = rng(99);
  const zData = data(r, [2, g.exemplarSize, g.exemplarSize, 3]);
  const xData = data(r, [2, g.searchSize, g.searchSize, 3]);
  const run = (backend: string) => {
    tf.setBackend(backend);
    const net = new SiamFCNet(createBackbone(spec, 5), 1e-3);
    const vars = net.backbone.trainableVariables();
    const hooks = [ienEquivarianceHook(0.1, 'C4')];
    const out = tf.tidy(() => {
      const z = tf.mul(tf.tensor4d(zData.values, zData.shape as [number, number, number, number]), 100) as tf.Tensor4D;
      const x = tf.mul(tf.tensor4d(xData.values, xData.shape as [number, number, number, number]), 100) as tf.Tensor4D;
      const { value, grads } = tf.variableGrads(() => stepLosses(net, z, x, labels, hooks, 0, derivedRng(1, RNG_PURPOSE.aux, 0)).total, vars);
      return { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
    });
    tf.dispose(vars);
    return out;
  };
  let nat!: ReturnType<typeof run>;
  const calls = countCalls(() => {
    nat = run('native-cpu');
  });
  const ref = run('cpu');
  // The fused kernels (tracker/native/src/fused.cc) carry the step: BatchNorm, xcorr, relu and group-pool gradients.
  for (const k of ['segmentSum', 'gather', 'conv2dBackpropFilter', 'bnTrain', 'bnTrainGrad', 'xcorr', 'xcorrGrad', 'reluGrad', 'maxLast', 'maxLastGrad']) {
    assert.ok((calls[k] ?? 0) > 0, `native ${k} ran (calls: ${JSON.stringify(calls)})`);
  }
  assert.ok(Math.abs(nat.loss - ref.loss) / Math.abs(ref.loss) < TOL, `loss ${nat.loss} vs ${ref.loss}`);
  assert.equal(nat.grads.length, ref.grads.length);
  let checked = 0;
  ref.grads.forEach((gr, i) => {
    const scale = Math.max(...gr.map(Math.abs));
    // The biases of convs followed by BatchNorm have an exact gradient of 0: both backends return rounding noise there.
    if (scale < 1e-6) {
      assert.ok(Math.max(...nat.grads[i].map(Math.abs)) < 1e-6, `gradient ${i}: noise on cpu, not on native-cpu`);
      return;
    }
    const e = relErr(nat.grads[i], gr);
    assert.ok(e < TOL, `gradient ${i}: relative error ${e.toExponential(2)}`);
    checked++;
  });
  assert.ok(checked >= 4, `${checked} gradients compared`);
});

