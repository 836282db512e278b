// The fused training-step kernels of native-cpu (tracker/native/src/fused.cc, tracker/node/native-fused.ts) against the
// op chains they replace, run on tfjs's cpu backend (which has none of them): values and gradients, relative error < 1e-4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { applyBatchNorm, type BatchNormParams } from '../../tracker/batchnorm.js';
import { SiamFCNet } from '../../tracker/siamfc/network.js';
import { groupPool } from '../../tracker/ien/pool.js';
import { Adam, SgdMomentum } from '../../training/optimizers.js';
import { BN_TRAIN_KERNEL, hasFusedKernel, runFused } from '../../tracker/fused-kernels.js';
import { compare, countCalls, data, nativeOrSkip, relErr, rng, tensor, TOL, valueAndGrads, type Data } from './util.js';

const reg = nativeOrSkip();
const skip = !reg.ok;

/** A SiamFCNet whose backbone is never used: only its xcorr head is exercised. */
const head = new SiamFCNet({} as unknown as ConstructorParameters<typeof SiamFCNet>[0], 1e-3);

test('fused xcorr (B exemplars, k search maps each): values and gradients of z and x match the per-sample convs', { skip }, () => {
  const rand = rng(2121);
  const cases: [number, number, number, number, number][] = [[2, 1, 5, 11, 7], [3, 1, 7, 21, 16], [2, 3, 4, 9, 5], [4, 2, 6, 6, 3]];
  let calls: Record<string, number> = {};
  for (const [B, k, h, H, C] of cases) {
    const z = data(rand, [B, h, h, C]);
    const x = data(rand, [B * k, H, H + 1, C]);
    calls = countCalls(() => compare(`xcorr B${B} k${k} ${h}/${H} C${C}`, valueAndGrads([z, x], 7, (a, b) => head.xcorr(a as tf.Tensor4D, b as tf.Tensor4D))));
  }
  assert.ok((calls.xcorr ?? 0) > 0 && (calls.xcorrGrad ?? 0) > 0, `the fused kernels ran (${JSON.stringify(calls)})`);
});

/** BatchNorm parameters whose γ and β are the given tensors (the gradient is taken with respect to them). */
function bnParams(gamma: tf.Tensor, beta: tf.Tensor, f: number): BatchNormParams {
  return {
    gamma: gamma as tf.Variable, beta: beta as tf.Variable,
    movingMean: tf.variable(tf.fill([f], 0.3), false), movingVar: tf.variable(tf.fill([f], 1.2), false),
  };
}

/** applyBatchNorm in training mode; its moving-average variables are released (they do not feed the output). */
function bnOut(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, field: number, eps: number, relu = false): tf.Tensor {
  const p = bnParams(gamma, beta, gamma.shape[0]);
  const y = applyBatchNorm(x as tf.Tensor4D, p, true, eps, 0.1, field, relu);
  tf.dispose([p.movingMean, p.movingVar]);
  return y;
}

test('fused BatchNorm with batch statistics (fields of 1, 4, 8 channels; with and without the Relu): output, moving averages and gradients match', { skip }, () => {
  const rand = rng(2222);
  for (const [shape, field] of [[[4, 7, 5, 6], 1], [[2, 9, 9, 16], 4], [[3, 5, 4, 16], 8], [[1, 3, 2, 3], 1]] as [number[], number][]) {
    const C = shape[3];
    const x: Data = { shape, values: data(rand, shape).values.map((v) => 3 * v + 1.5) };
    const g = data(rand, [C / field]);
    const b = data(rand, [C / field]);
    const f = (xt: tf.Tensor, gt: tf.Tensor, bt: tf.Tensor) => bnOut(xt, gt, bt, field, 1e-3);
    compare(`bn ${shape} field ${field}`, valueAndGrads([x, g, b], 11, f));
    // With the Relu that follows BatchNorm fused in (forward max(y, 0), backward dy masked by the output).
    compare(`bn + relu ${shape} field ${field}`, valueAndGrads([x, g, b], 13, (xt, gt, bt) => bnOut(xt, gt, bt, field, 1e-3, true)));
    // The moving averages the step leaves behind.
    compare(`bn moving averages ${shape} field ${field}`, () => {
      const p = bnParams(tensor(g), tensor(b), C / field);
      applyBatchNorm(tensor(x) as tf.Tensor4D, p, true, 1e-3, 0.1, field);
      const out = [p.movingMean.clone(), p.movingVar.clone()];
      tf.dispose([p.movingMean, p.movingVar]);
      return out;
    });
  }
  const calls = countCalls(() => compare('bn', valueAndGrads([data(rand, [2, 3, 3, 4]), data(rand, [4]), data(rand, [4])], 3,
    (xt, gt, bt) => bnOut(xt, gt, bt, 1, 1e-5))));
  assert.ok((calls.bnTrain ?? 0) > 0 && (calls.bnTrainGrad ?? 0) > 0, `the fused kernels ran (${JSON.stringify(calls)})`);
});

test('fused BatchNorm: gradients reaching the mean and variance outputs directly are included', { skip }, () => {
  const rand = rng(2225);
  const x = data(rand, [2, 5, 3, 8]);
  const g = data(rand, [2]);
  const b = data(rand, [2]);
  // y, mean and variance all feed the loss: native-cpu through the fused kernel, cpu through tf.moments + batchNorm.
  const f = (xt: tf.Tensor, gt: tf.Tensor, bt: tf.Tensor) => {
    let y: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor;
    if (hasFusedKernel(BN_TRAIN_KERNEL)) {
      [y, mean, variance] = runFused(BN_TRAIN_KERNEL, { x: xt, gamma: gt, beta: bt }, { eps: 1e-3, fieldSize: 4 });
    } else {
      ({ mean, variance } = tf.moments(tf.reshape(xt, [2, 5, 3, 2, 4]), [0, 1, 2, 4]));
      const per = (v: tf.Tensor) => tf.reshape(tf.tile(tf.reshape(v, [-1, 1]), [1, 4]), [-1]);
      y = tf.batchNorm(xt, per(mean), per(variance), per(bt), per(gt), 1e-3);
    }
    return tf.concat([tf.reshape(y, [-1]), tf.mul(mean, 3), tf.mul(variance, 5)]);
  };
  compare('bn with statistics in the loss', valueAndGrads([x, g, b], 12, f));
});

test('fused Relu and group-pool (Max over the last axis) gradients, ties included, match tfjs-core gradients', { skip }, () => {
  const rand = rng(2323);
  const x = data(rand, [3, 6, 5, 8]);
  // Ties: zeros (after a relu most maps are 0) and repeated values inside a group of Λ = 4.
  for (let i = 0; i < x.values.length; i += 3) x.values[i] = 0;
  for (let i = 1; i < x.values.length; i += 8) x.values[i + 1] = x.values[i];
  const calls = countCalls(() => {
    compare('relu', valueAndGrads([x], 21, (t) => tf.relu(t)));
    compare('relu → group pool', valueAndGrads([x], 22, (t) => groupPool(tf.relu(t) as tf.Tensor4D, 'R4')));
    compare('max over last two axes, keepDims', valueAndGrads([x], 23, (t) => tf.max(t, [2, 3], true)));
    compare('max over a middle axis (cpu kernel)', valueAndGrads([x], 24, (t) => tf.max(t, 1)));
  });
  for (const k of ['reluGrad', 'maxLast', 'maxLastGrad']) assert.ok((calls[k] ?? 0) > 0, `native ${k} ran (${JSON.stringify(calls)})`);
});

/** Three optimiser steps on `backend` from the same weights and gradients; the weights and state after them. */
function optimiserRun(backend: string, make: (vars: tf.Variable[]) => Adam | SgdMomentum): Float32Array[] {
  tf.setBackend(backend);
  const rand = rng(2424);
  const shapes = [[3, 3, 4, 5], [5], [17]];
  const vars = shapes.map((s) => tf.variable(tensor(data(rand, s))));
  const opt = make(vars);
  for (let step = 0; step < 3; step++) {
    const grads = shapes.map((s) => tensor(data(rand, s)));
    opt.apply(grads, 1e-2 * (step + 1));
    tf.dispose(grads);
  }
  const out = [...vars, ...opt.state().map((s) => s.tensor)].map((t) => t.dataSync() as Float32Array);
  opt.dispose();
  tf.dispose(vars);
  return out;
}

test('fused Adam and SGD-momentum updates equal the op chains (weights and state after three steps)', { skip }, () => {
  const makers: [string, (v: tf.Variable[]) => Adam | SgdMomentum][] = [
    ['adam', (v) => new Adam(v, 0.9, 0.999, 1e-8, 5e-4)], ['adam without weight decay', (v) => new Adam(v, 0.8, 0.99, 1e-6, 0)],
    ['sgd', (v) => new SgdMomentum(v, 0.9, 5e-4)], ['sgd without weight decay', (v) => new SgdMomentum(v, 0.5, 0)],
  ];
  for (const [name, make] of makers) {
    let nat: Float32Array[] = [];
    const calls = countCalls(() => {
      nat = optimiserRun('native-cpu', make);
    });
    assert.ok((calls.adamUpdate ?? 0) + (calls.sgdUpdate ?? 0) > 0, `${name}: the fused kernel ran`);
    const ref = optimiserRun('cpu', make);
    assert.equal(nat.length, ref.length);
    nat.forEach((v, i) => assert.ok(relErr(v, ref[i]) < TOL, `${name}: tensor ${i} relative error ${relErr(v, ref[i])}`));
  }
});
