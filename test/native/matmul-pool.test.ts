// native-cpu MatMul/BatchMatMul (+ _FusedMatMul) and pooling (MaxPool, AvgPool and their gradients) against tfjs's cpu
// kernels on random shapes, values and gradients, relative error < 1e-4; and no tensor leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { compare, data, int, nativeOrSkip, on, pick, relErr, rng, tensor, TOL, valueAndGrads } from './util.js';

const reg = nativeOrSkip();
const skip = !reg.ok;

test('MatMul / BatchMatMul (transposes, batch dims, broadcasting) values and gradients match cpu', { skip }, () => {
  const rand = rng(4242);
  const batches: [number[], number[]][] = [[[], []], [[3], [3]], [[2], [1]], [[1], [3]], [[2, 3], [2, 3]], [[2, 2], []]];
  for (let i = 0; i < 30; i++) {
    const [ba, bb] = batches[i % batches.length];
    const M = int(rand, 1, 17);
    const N = int(rand, 1, 13);
    const K = int(rand, 1, 19);
    const tA = rand() < 0.5;
    const tB = rand() < 0.5;
    const a = data(rand, [...ba, ...(tA ? [K, M] : [M, K])]);
    const b = data(rand, [...bb, ...(tB ? [N, K] : [K, N])]);
    const label = `matMul a[${a.shape}] b[${b.shape}] tA=${tA} tB=${tB}`;
    // tfjs-core's BatchMatMul gradient does not reduce broadcast batch dims (on any backend): values only there.
    const broadcast = ba.join() !== bb.join();
    if (broadcast) compare(label, () => [tf.matMul(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape), tA, tB)]);
    else compare(label, valueAndGrads([a, b], 100 + i, (x, y) => tf.matMul(x, y, tA, tB)));
  }
  // A large one (the BLAS path with threads).
  const a = data(rand, [130, 257]);
  const b = data(rand, [257, 190]);
  compare('matMul 130×257×190', valueAndGrads([a, b], 7, (x, y) => tf.matMul(x, y)));
});

test('_FusedMatMul (bias, activations) values and gradients match cpu', { skip }, () => {
  const rand = rng(31337);
  const acts = ['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'prelu', 'sigmoid'] as const;
  for (let i = 0; i < 14; i++) {
    const activation = acts[i % acts.length];
    const M = int(rand, 1, 11);
    const N = int(rand, 1, 9);
    const K = int(rand, 1, 12);
    const tB = i % 2 === 1;
    const a = data(rand, [M, K]);
    const b = data(rand, tB ? [N, K] : [K, N]);
    // [N] is the native path; [M, N] and [1] go through the cpu Add.
    const bias = data(rand, pick(rand, [[N], [N], [M, N], [1]]));
    const alpha = data(rand, [N]);
    compare(`fused matMul ${activation} a[${a.shape}] b[${b.shape}] bias[${bias.shape}]`,
      valueAndGrads([a, b, bias], 300 + i, (x, y, z) => tf.fused.matMul({
        a: x as tf.Tensor2D, b: y as tf.Tensor2D, transposeB: tB, bias: z, activation, leakyreluAlpha: 0.3,
        preluActivationWeights: activation === 'prelu' ? tf.tensor(alpha.values, alpha.shape) : undefined,
      })));
  }
});

test('MaxPool / AvgPool values and gradients match cpu on 30 random shapes', { skip }, () => {
  const rand = rng(2718);
  for (let i = 0; i < 30; i++) {
    const B = int(rand, 1, 3);
    const C = pick(rand, [1, 3, 8, 5]);
    const fh = int(rand, 1, 4);
    const fw = int(rand, 1, 4);
    const s: [number, number] = [int(rand, 1, 3), int(rand, 1, 3)];
    const pad = pick(rand, ['same', 'valid'] as const);
    const x = data(rand, [B, fh + int(rand, 0, 9), fw + int(rand, 0, 8), C]);
    const label = `x[${x.shape}] f${fh}x${fw} s${s} ${pad}`;
    compare(`maxPool ${label}`, valueAndGrads([x], 500 + i, (t) => tf.maxPool(t as tf.Tensor4D, [fh, fw], s, pad)));
    compare(`avgPool ${label}`, valueAndGrads([x], 600 + i, (t) => tf.avgPool(t as tf.Tensor4D, [fh, fw], s, pad)));
  }
  // SiamFC's 3×3/2 pools.
  const x = data(rand, [2, 29, 29, 16]);
  compare('maxPool 3x3/2 siamfc', valueAndGrads([x], 9, (t) => tf.maxPool(t as tf.Tensor4D, 3, 2, 'valid')));
});

test('MaxPool gradient with ties, −∞ and NaN windows: the same taps take it as on cpu', { skip }, () => {
  // After a relu most windows tie at 0: the gradient must go to the first maximum only, as tfjs's maxPoolPositions does.
  const rand = rng(31);
  for (const [shape, f, s, pad] of [
    [[2, 13, 11, 24], 3, 2, 'valid'], [[1, 9, 9, 5], 3, 1, 'same'], [[2, 8, 10, 17], 2, 2, 'valid'], [[1, 7, 7, 33], [3, 2], [1, 2], 'same'],
  ] as [number[], number | [number, number], number | [number, number], 'same' | 'valid'][]) {
    const x = data(rand, shape);
    for (let i = 0; i < x.values.length; i++) {
      const v = Math.round(x.values[i] * 2) / 2; // −1, −0.5, 0, 0.5, 1: many ties
      x.values[i] = i % 97 === 0 ? Number.NEGATIVE_INFINITY : i % 89 === 0 ? Number.NaN : Math.max(0, v);
    }
    // one image channel entirely −∞ and one entirely NaN: windows without a strict maximum pass no gradient
    for (let p = 0; p < shape[1] * shape[2]; p++) {
      x.values[p * shape[3]] = Number.NEGATIVE_INFINITY;
      x.values[p * shape[3] + 1] = Number.NaN;
    }
    const fn = () => {
      const t = tensor(x) as tf.Tensor4D;
      const dy = tf.randomUniform(tf.maxPool(t, f, s, pad).shape, -1, 1, 'float32', 7);
      return [tf.grad((u: tf.Tensor) => tf.maxPool(u as tf.Tensor4D, f, s, pad))(t, dy)];
    };
    const [nat] = on('native-cpu', fn);
    const [ref] = on('cpu', fn);
    const label = `maxPool grad x[${shape}] f${f} s${s} ${pad}`;
    // The same taps receive the gradient (ties, −∞, NaN); the sums of overlapping windows agree within TOL (tfjs
    // gathers per input pixel, we scatter per window: the float additions run in another order).
    const taps = (v: Float32Array) => Array.from(v, (g, i) => (g !== 0 ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(taps(nat), taps(ref), `${label}: the taps that take the gradient`);
    assert.ok(relErr(nat, ref) < TOL, `${label}: relative error ${relErr(nat, ref)}`);
  }
});

test('integer matmuls and NCHW convs fall back to the cpu kernels (same results)', { skip }, () => {
  compare('int32 matMul', () => [tf.cast(tf.matMul(tf.tensor2d([[1, 2], [3, 4]], undefined, 'int32'), tf.tensor2d([[5], [6]], undefined, 'int32')), 'float32')]);
  const rand = rng(5);
  const x = data(rand, [2, 3, 7, 6]);
  const w = data(rand, [3, 3, 3, 4]);
  compare('NCHW conv2d', valueAndGrads([x, w], 11, (t, f) => tf.conv2d(t as tf.Tensor4D, f as tf.Tensor4D, 1, 'same', 'NCHW')));
});
