// native-cpu's grouped conv (AlexNet's channel groups as one kernel, tracker/group-conv.ts) against the split → conv →
// concat op chain on tfjs's cpu backend: values and the gradients of input, filter and bias, groups 1–4 (1 with a bias
// is how conv1 runs), strides 1–3,
// odd sizes, with and without bias; at 1 and 2 threads and with one im2col row per block. Relative error < 1e-4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import type { Tensor1D, Tensor4D } from '../../tracker/tf.js';
import { loadNativeAddon, setNativeThreads } from '../../tracker/node/native-backend.js';
import { groupedConv2d } from '../../tracker/group-conv.js';
import { GROUP_CONV_KERNEL, hasFusedKernel, runFused } from '../../tracker/fused-kernels.js';
import { compare, countCalls, data, int, nativeOrSkip, rng, valueAndGrads, type Data } from './util.js';

const reg = nativeOrSkip();
const skip = !reg.ok;

interface Case { x: Data; w: Data; b: Data | null; stride: number; groups: number; label: string }

function groupCase(rand: () => number, i: number): Case {
  const groups = 1 + (i % 4);
  const cg = int(rand, 1, 6);
  const ocg = int(rand, 1, 7);
  const k = int(rand, 1, 5);
  const stride = int(rand, 1, 3);
  const B = int(rand, 1, 3);
  const H = k + int(rand, 0, 11);
  const W = k + int(rand, 0, 9);
  const withBias = groups === 1 || i % 3 !== 1;
  return {
    x: data(rand, [B, H, W, cg * groups]), w: data(rand, [k, k, cg, ocg * groups]), b: withBias ? data(rand, [ocg * groups]) : null,
    stride, groups, label: `x[${B},${H},${W},${cg * groups}] w[${k},${k},${cg},${ocg * groups}] s${stride} G${groups}${withBias ? ' +bias' : ''}`,
  };
}

function check(c: Case, seed: number): number {
  const inputs = c.b ? [c.x, c.w, c.b] : [c.x, c.w];
  return compare(c.label, valueAndGrads(inputs, seed, (x, w, b) =>
    groupedConv2d(x as Tensor4D, w as Tensor4D, c.stride, c.groups, b as Tensor1D | undefined)));
}

test('native-cpu registers the grouped conv kernel; cpu does not (it runs the op chain)', { skip }, () => {
  tf.setBackend('native-cpu');
  assert.ok(hasFusedKernel(GROUP_CONV_KERNEL));
  tf.setBackend('cpu');
  assert.ok(!hasFusedKernel(GROUP_CONV_KERNEL));
  tf.setBackend('native-cpu');
});

test('grouped conv: values and input / filter / bias gradients match the split → conv → concat chain on cpu', { skip }, () => {
  const rand = rng(9001);
  for (let i = 0; i < 12; i++) check(groupCase(rand, i), 100 + i);
  // AlexNet's conv2 shape at a small batch: 48 → 256 channels, 5×5, groups 2.
  const r2 = rng(77);
  check({ x: data(r2, [2, 13, 13, 96]), w: data(r2, [5, 5, 48, 256]), b: data(r2, [256]), stride: 1, groups: 2, label: 'alexnet conv2' }, 7);
});

test('grouped conv: the forward and both gradients are one add-on call each (no split, concat or cpu fallback)', { skip }, () => {
  tf.setBackend('native-cpu');
  const r = rng(5);
  const x = tf.tensor4d(data(r, [2, 9, 9, 6]).values, [2, 9, 9, 6]);
  const w = tf.tensor4d(data(r, [3, 3, 3, 8]).values, [3, 3, 3, 8]);
  const b = tf.tensor1d(data(r, [8]).values);
  const calls = countCalls(() => {
    const g = tf.grads((a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) => tf.sum(groupedConv2d(a as Tensor4D, f as Tensor4D, 1, 2, c as Tensor1D)));
    tf.dispose(g([x, w, b]));
  });
  tf.dispose([x, w, b]);
  assert.equal(calls.conv2d, 1, JSON.stringify(calls));
  assert.equal(calls.conv2dBackpropInput, 1, JSON.stringify(calls));
  assert.equal(calls.conv2dBackpropFilter, 1, JSON.stringify(calls));
});

test('grouped conv at 2 threads and with one im2col row per block: same values and gradients', { skip }, () => {
  const addon = loadNativeAddon()!;
  const before = addon.getThreads();
  setNativeThreads(2);
  try {
    const rand = rng(4242);
    // ≥ 1,024 output rows take the thread split; the filter gradient's partials are added across threads.
    check({ x: data(rand, [3, 24, 22, 8]), w: data(rand, [3, 3, 4, 10]), b: data(rand, [10]), stride: 1, groups: 2, label: 'split 2 threads' }, 11);
    addon.setScratchLimit(1);
    for (let i = 0; i < 4; i++) check(groupCase(rand, i), 300 + i);
  } finally {
    addon.setScratchLimit(16 * 2 ** 20);
    setNativeThreads(before);
  }
});

test('grouped conv: shapes that do not fit are refused with the shapes named', { skip }, () => {
  tf.setBackend('native-cpu');
  const x = tf.zeros([1, 8, 8, 6]) as Tensor4D;
  const w = tf.zeros([3, 3, 4, 8]) as Tensor4D;
  try {
    assert.throws(() => groupedConv2d(x, w, 1, 2), /filter \[3,3,4,8\] with 2 groups does not fit input \[1,8,8,6\]/);
    assert.throws(() => runFused(GROUP_CONV_KERNEL, { x, filter: w }, { strides: 1, groups: 2 }), /native-cpu grouped conv: input \[1,8,8,6\], filter \[3,3,4,8\]/);
    const big = tf.zeros([9, 9, 3, 8]) as Tensor4D;
    assert.throws(() => runFused(GROUP_CONV_KERNEL, { x, filter: big }, { strides: 1, groups: 2 }), /do not fit/);
    big.dispose();
  } finally {
    tf.dispose([x, w]);
  }
});
