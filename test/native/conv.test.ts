// native-cpu convolutions against tfjs's cpu kernels: Conv2D (+ the fused variant) values and both gradients
// (Conv2DBackpropInput, Conv2DBackpropFilter) on random shapes — strides 1–3, same/valid/explicit padding,
// dilations 1–2, batch 1–3, channels 1/3/8/odd, odd sizes, non-square kernels. Relative error < 1e-4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { loadNativeAddon, NATIVE_KERNELS, setNativeThreads } from '../../tracker/node/native-backend.js';
import { compare, data, int, nativeOrSkip, pick, rng, valueAndGrads, type Data } from './util.js';

const reg = nativeOrSkip();
const skip = !reg.ok;

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase { x: Data; w: Data; strides: [number, number]; dilations: [number, number]; pad: Pad; label: string }

function convCase(rand: () => number, allowDilation: boolean): ConvCase {
  const B = int(rand, 1, 3);
  const C = pick(rand, [1, 3, 8, 5]);
  const OC = pick(rand, [1, 3, 8, 7]);
  const KH = int(rand, 1, 5);
  const KW = int(rand, 1, 5);
  const dilated = allowDilation && rand() < 0.3;
  // tfjs: strides or dilations must be 1.
  const strides: [number, number] = dilated ? [1, 1] : [int(rand, 1, 3), int(rand, 1, 3)];
  const dilations: [number, number] = dilated ? [int(rand, 1, 2), 2] : [1, 1];
  const effH = (KH - 1) * dilations[0] + 1;
  const effW = (KW - 1) * dilations[1] + 1;
  const H = effH + int(rand, 0, 9);
  const W = effW + int(rand, 0, 8);
  const kind = pick(rand, ['same', 'valid', 'explicit'] as const);
  const pad: Pad = kind === 'explicit'
    ? [[0, 0], [int(rand, 0, 2), int(rand, 0, 2)], [int(rand, 0, 2), int(rand, 0, 2)], [0, 0]]
    : kind;
  const label = `x[${B},${H},${W},${C}] w[${KH},${KW},${C},${OC}] s${strides} d${dilations} ${JSON.stringify(pad)}`;
  return { x: data(rand, [B, H, W, C]), w: data(rand, [KH, KW, C, OC]), strides, dilations, pad, label };
}

test('Conv2D values and gradients (dx, dW) match cpu on 40 random shapes', { skip }, () => {
  const rand = rng(12345);
  let worst = 0;
  let dilated = 0;
  let strided = 0;
  for (let i = 0; i < 40; i++) {
    const c = convCase(rand, true);
    if (c.dilations[0] > 1 || c.dilations[1] > 1) dilated++;
    if (c.strides[0] > 1 || c.strides[1] > 1) strided++;
    worst = Math.max(worst, compare(c.label, valueAndGrads([c.x, c.w], 1000 + i, (x, w) =>
      tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations))));
  }
  assert.ok(dilated >= 3 && strided >= 10, `the random cases cover dilations (${dilated}) and strides (${strided})`);
  console.log(`conv2d: worst relative error ${worst.toExponential(2)}`);
});

test('FusedConv2D (bias, relu/relu6/leakyrelu/elu/prelu/linear) values and gradients match cpu', { skip }, () => {
  const rand = rng(777);
  const acts = ['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'prelu'] as const;
  for (let i = 0; i < 18; i++) {
    const c = convCase(rand, false);
    const activation = acts[i % acts.length];
    const OC = c.w.shape[3];
    const bias = data(rand, i % 3 === 2 ? [1, 1, 1, OC] : [OC]);
    const alpha = data(rand, [OC]);
    compare(`fused ${activation} ${c.label}`, valueAndGrads([c.x, c.w, bias], 2000 + i, (x, w, b) =>
      tf.fused.conv2d({
        x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: c.strides, pad: c.pad, bias: b, activation,
        preluActivationWeights: activation === 'prelu' ? tf.tensor(alpha.values, alpha.shape) : undefined,
        leakyreluAlpha: 0.15,
      })));
  }
});

test('Conv2D on SiamFC-like layers (11×11/2 stem, 5×5, 3×3, 1×1, xcorr-sized filter) matches cpu', { skip }, () => {
  const rand = rng(99);
  const cases: [number[], number[], number][] = [
    [[2, 63, 63, 3], [11, 11, 3, 16], 2], // 1458 im2col rows: the threaded path
    [[2, 15, 15, 16], [5, 5, 16, 24], 1],
    [[1, 9, 9, 24], [3, 3, 24, 32], 1],
    [[3, 7, 7, 32], [1, 1, 32, 12], 1],
    [[1, 22, 22, 32], [6, 6, 32, 1], 1],
  ];
  for (const [xs, ws, s] of cases) {
    compare(`siamfc x[${xs}] w[${ws}]`, valueAndGrads([data(rand, xs), data(rand, ws)], 3, (x, w) =>
      tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, 'valid')));
  }
});

test('convs split into chunks of one image (tiny im2col scratch) still match cpu, gradients accumulated across chunks', { skip }, () => {
  const addon = loadNativeAddon()!;
  addon.setScratchLimit(1);
  try {
    const rand = rng(4321);
    for (let i = 0; i < 8; i++) {
      const c = convCase(rand, i % 2 === 0);
      if (c.x.shape[0] === 1) c.x = data(rand, [3, ...c.x.shape.slice(1)]);
      compare(`chunked ${c.label}`, valueAndGrads([c.x, c.w], 5000 + i, (x, w) =>
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations)));
    }
  } finally {
    addon.setScratchLimit(16 * 2 ** 20);
  }
});

test('convs with ≥ 1,024 output rows take the row split over 2 threads (one chunk and several), same values and gradients', { skip }, () => {
  const addon = loadNativeAddon()!;
  const before = addon.getThreads();
  setNativeThreads(2);
  try {
    const rand = rng(2468);
    const cases: [number[], number[], number, 'same' | 'valid'][] = [
      [[4, 24, 24, 5], [3, 3, 5, 7], 1, 'same'], // 2,304 rows
      [[2, 41, 37, 3], [5, 5, 3, 8], 2, 'valid'], // stride 2, odd sizes: 2 × 19 × 17 = 646 rows → one thread
      [[3, 33, 35, 6], [5, 3, 6, 9], 1, 'valid'], // 3 × 29 × 33 = 2,871 rows, odd split
    ];
    for (const limit of [16 * 2 ** 20, 29 * 33 * 90]) {
      addon.setScratchLimit(limit);
      for (const [xs, ws, s, pad] of cases) {
        compare(`split x[${xs}] w[${ws}] s${s} ${pad} scratch ${limit}`, valueAndGrads([data(rand, xs), data(rand, ws)], 17, (x, w) =>
          tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, pad)));
      }
    }
  } finally {
    addon.setScratchLimit(16 * 2 ** 20);
    setNativeThreads(before);
  }
});

test('native-cpu registers its native kernels and every cpu kernel', { skip }, () => {
  // Every kernel native-cpu claims is registered as its own, not the cpu kernel.
  for (const name of NATIVE_KERNELS) {
    const k = tf.getKernel(name, 'native-cpu');
    assert.ok(k, `${name} registered for native-cpu`);
    assert.notEqual(k.kernelFunc, tf.getKernel(name, 'cpu')?.kernelFunc, `${name} on native-cpu is the native kernel`);
  }
  // And every cpu kernel exists on native-cpu.
  const missing = tf.getKernelsForBackend('cpu').filter((k) => tf.getKernel(k.kernelName, 'native-cpu') == null);
  assert.deepEqual(missing.map((k) => k.kernelName), []);
});
