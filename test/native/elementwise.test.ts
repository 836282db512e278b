// native-cpu's memory-bound kernels (the bulk of a training step once convs are BLAS-fast) against tfjs's cpu kernels:
// broadcasting binary ops, unary ops, Sum/Mean, Tile, PadV2, Transpose, GatherV2, FusedBatchNorm, UnsortedSegmentSum, Equal, Cast — values and gradients,
// relative error < 1e-4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { broadcastParams } from '../../tracker/node/native-backend.js';
import { compare, data, int, nativeOrSkip, pick, rng, tensor, valueAndGrads, type Data, countCalls } from './util.js';

const reg = nativeOrSkip();
const skip = !reg.ok;

/** A random shape of rank 0–4 and one broadcast-compatible with it. */
function shapes(rand: () => number): [number[], number[]] {
  const r = int(rand, 1, 4);
  const full = Array.from({ length: r }, () => int(rand, 1, 7));
  const other = full.slice(int(rand, 0, r)).map((d) => (rand() < 0.4 ? 1 : d));
  return rand() < 0.5 ? [full, other] : [other, full];
}

const positive = (d: Data): Data => ({ shape: d.shape, values: d.values.map((v) => Math.abs(v) + 0.1) });

test('broadcastParams merges contiguous dims and zeroes broadcast strides', () => {
  assert.deepEqual([...broadcastParams([2, 3, 4, 5], [2, 3, 4, 5]).params], [1, 120, 1, 1]);
  assert.deepEqual([...broadcastParams([2, 3, 4, 5], [5]).params], [2, 24, 5, 5, 1, 0, 1]);
  assert.deepEqual([...broadcastParams([2, 3, 4, 5], [1, 1, 1, 1]).params], [1, 120, 1, 0]);
  assert.deepEqual([...broadcastParams([], []).params], [1, 1, 0, 0]);
  assert.deepEqual(broadcastParams([3, 1], [1, 4]).outShape, [3, 4]);
});

test('binary ops with broadcasting (Add, Sub, Multiply, RealDiv, SquaredDifference, Maximum, Minimum) match cpu', { skip }, () => {
  const rand = rng(606);
  const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div], ['squaredDifference', tf.squaredDifference],
    ['maximum', tf.maximum], ['minimum', tf.minimum],
  ];
  for (let i = 0; i < 35; i++) {
    const [name, op] = ops[i % ops.length];
    const [sa, sb] = shapes(rand);
    const a = data(rand, sa);
    const b = name === 'div' ? positive(data(rand, sb)) : data(rand, sb);
    const label = `${name} [${sa}] [${sb}]`;
    // tfjs-core's gradients of these three do not reduce broadcast dims (on any backend): values only there.
    if (['squaredDifference', 'maximum', 'minimum'].includes(name) && sa.join() !== sb.join()) compare(label, () => [op(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape))]);
    else compare(label, valueAndGrads([a, b], 40 + i, op));
  }
  // Scalars and large tensors (threaded path).
  const big = data(rand, [4, 33, 35, 16]);
  compare('add big + channel vector', valueAndGrads([big, data(rand, [16])], 1, tf.add));
  compare('mul scalar', valueAndGrads([big, data(rand, [])], 2, tf.mul));
});

test('unary ops (Relu, Step, Neg, Square, Sqrt, Rsqrt, Exp, Log, Sigmoid, Elu + EluGrad, Abs) match cpu', { skip }, () => {
  const rand = rng(707);
  const x = data(rand, [3, 17, 19, 5]);
  const p = positive(x);
  const cases: [string, Data, (t: tf.Tensor) => tf.Tensor][] = [
    ['relu', x, tf.relu], ['step', x, (t) => tf.step(t, 0.25)], ['neg', x, tf.neg], ['square', x, tf.square],
    ['sqrt', p, tf.sqrt], ['rsqrt', p, tf.rsqrt], ['exp', x, tf.exp], ['log', p, tf.log], ['sigmoid', x, tf.sigmoid],
    ['elu', x, tf.elu], ['abs', x, tf.abs],
  ];
  for (const [name, d, f] of cases) compare(name, valueAndGrads([d], 7, f));
});

test('Sum and Mean over leading, trailing, middle and all axes (keepDims too) match cpu', { skip }, () => {
  const rand = rng(808);
  const axesChoices: (number[] | undefined)[] = [[0, 1, 2], [0], [3], [2, 3], [1], [1, 2], undefined, [-1], [0, 1, 2, 3]];
  for (let i = 0; i < 18; i++) {
    const x = data(rand, [int(rand, 1, 5), int(rand, 1, 9), int(rand, 1, 8), pick(rand, [1, 3, 8, 5])]);
    const axis = axesChoices[i % axesChoices.length];
    const keepDims = i % 2 === 1;
    compare(`sum [${x.shape}] axis ${axis} keep ${keepDims}`, valueAndGrads([x], 80 + i, (t) => tf.sum(t, axis, keepDims)));
    compare(`mean [${x.shape}] axis ${axis} keep ${keepDims}`, valueAndGrads([x], 90 + i, (t) => tf.mean(t, axis, keepDims)));
  }
  const big = data(rand, [8, 61, 61, 24]);
  compare('moments over [0,1,2] of a large map', () => {
    const { mean, variance } = tf.moments(tf.tensor(big.values, big.shape), [0, 1, 2]);
    return [mean, variance];
  });
});

test('Tile and FusedBatchNorm (with and without scale/offset) values and gradients match cpu', { skip }, () => {
  const rand = rng(909);
  // one value broadcast (a fill), short rows (< 16 values: copied value by value), long rows (memcpy)
  for (const [shape, reps] of [[[2, 3], [3, 2]], [[1, 1, 1, 5], [2, 4, 3, 1]], [[4], [3]], [[2, 1, 3], [1, 5, 1]], [[1, 1, 1, 1], [2, 3, 4, 5]],
    [[1], [7]], [[2, 20], [2, 3]]] as [number[], number[]][]) {
    compare(`tile [${shape}] ×[${reps}]`, valueAndGrads([data(rand, shape)], 5, (t) => tf.tile(t, reps)));
  }
  // Scale and offset of one element against a per-channel mean/variance (the kernel's modulo indexing path).
  const x1 = data(rand, [2, 5, 4, 3]);
  compare('batchNorm scalar scale/offset', () => [tf.batchNorm(tf.tensor(x1.values, x1.shape), tf.tensor1d([0.1, -0.2, 0.3]),
    tf.tensor1d([0.5, 1.5, 2]), tf.tensor1d([0.25]), tf.tensor1d([2]), 1e-3)]);
  for (let i = 0; i < 6; i++) {
    const C = pick(rand, [1, 3, 8, 5]);
    const x = data(rand, [int(rand, 1, 3), int(rand, 1, 9), int(rand, 1, 9), C]);
    const mean = data(rand, [C]);
    const variance = positive(data(rand, [C]));
    const scale = data(rand, [C]);
    const offset = data(rand, [C]);
    const withParams = i % 2 === 0;
    const label = `batchNorm [${x.shape}] scale/offset ${withParams}`;
    if (withParams) {
      compare(label, valueAndGrads([x, mean, variance, offset, scale], 60 + i, (t, m, v, o, s) => tf.batchNorm(t, m, v, o, s, 1e-3)));
    } else {
      // tfjs-core's batchNorm gradient needs scale and offset (on any backend): values only.
      compare(label, () => [tf.batchNorm(tf.tensor(x.values, x.shape), tf.tensor(mean.values, mean.shape), tf.tensor(variance.values, variance.shape))]);
    }
  }
});

test('PadV2 (zero and non-zero constants) and the slice gradient it serves match cpu', { skip }, () => {
  const rand = rng(1010);
  const x = data(rand, [2, 5, 7, 3]);
  compare('pad 4-d', valueAndGrads([x], 3, (t) => tf.pad(t, [[0, 1], [2, 0], [1, 3], [0, 0]])));
  compare('pad constant 1.5', valueAndGrads([x], 4, (t) => tf.pad(t, [[1, 1], [0, 0], [0, 2], [1, 0]], 1.5)));
  compare('pad 1-d', valueAndGrads([data(rand, [9])], 5, (t) => tf.pad(t, [[3, 2]])));
  compare('slice gradient', valueAndGrads([x], 6, (t) => tf.slice(t, [1, 1, 2, 0], [1, 3, -1, 2])));
});

test('Transpose (any permutation) and GatherV2 (any axis, IEN-style index maps) values and gradients match cpu', { skip }, () => {
  const rand = rng(1111);
  const x = data(rand, [3, 4, 5, 6]);
  for (const perm of [[0, 3, 1, 2], [1, 2, 3, 0], [3, 2, 1, 0], [0, 1, 3, 2], [0, 1, 2, 3], [2, 0, 3, 1]]) {
    compare(`transpose ${perm}`, valueAndGrads([x], 12, (t) => tf.transpose(t, perm)));
  }
  compare('transpose 2-d', valueAndGrads([data(rand, [33, 17])], 13, (t) => tf.transpose(t)));
  for (const axis of [0, 1, 2, 3, -1]) {
    const dim = x.shape[axis < 0 ? 3 : axis];
    const idx = Array.from({ length: 7 }, () => int(rand, 0, dim - 1));
    compare(`gather axis ${axis}`, valueAndGrads([x], 20 + axis, (t) => tf.gather(t, tf.tensor1d(idx, 'int32'), axis)));
  }
  // A 2-d index map (rotation-gather style).
  const flat = data(rand, [2, 49, 4]);
  const map = Array.from({ length: 49 }, (_, i) => (i * 7) % 49);
  compare('gather 2-d indices', valueAndGrads([flat], 30, (t) => tf.gather(t, tf.tensor2d(map, [7, 7], 'int32'), 1)));
});


test('UnsortedSegmentSum (out-of-range ids dropped), Equal (broadcasting) and Cast to float32 match cpu', { skip }, () => {
  const rand = rng(1212);
  const x = data(rand, [6, 5, 3]);
  const ids = [2, 0, 2, -1, 4, 9];
  compare('unsortedSegmentSum 1-d ids', () => [tf.unsortedSegmentSum(tensor(x), tf.tensor1d(ids, 'int32'), 5)]);
  compare('unsortedSegmentSum, more segments than ids', () => [tf.unsortedSegmentSum(tensor(x), tf.tensor1d([0, 1, 1, 0, 3, 7], 'int32'), 11)]);
  const a = data(rand, [4, 7, 7, 3, 4]);
  // Exact ties exist only through the max itself: compare a tensor with its own max over the last axis.
  compare('equal with the max (broadcast)', () => {
    const t = tensor(a);
    return [tf.cast(tf.equal(t, tf.max(t, 4, true)), 'float32'), tf.cast(tf.equal(tf.max(t, 4, true), t), 'float32')];
  });
  const p = data(rand, [3, 1, 5]);
  const q = data(rand, [4, 1]);
  compare('equal, both broadcast', () => [tf.cast(tf.equal(tf.round(tensor(p)), tf.round(tensor(q))), 'float32')]);
  compare('cast int32 → float32', () => [tf.cast(tf.tensor1d([1, -2, 3], 'int32'), 'float32')]);
});

test('IEN group pooling and rotation gather, values and gradients: the native gather, segmentSum and fused max run', { skip }, () => {
  const rand = rng(1313);
  const x = data(rand, [2, 9, 9, 8]);
  const n = 9 * 9;
  // A rot90 index map over flattened pixels, then max over groups of Λ = 4 channels (what groupPool does).
  const rot = Array.from({ length: n }, (_, i) => (i % 9) * 9 + (8 - Math.floor(i / 9)));
  const f = (t: tf.Tensor) => {
    const r = tf.reshape(tf.gather(tf.reshape(t, [2, n, 8]), tf.tensor1d(rot, 'int32'), 1), [2, 9, 9, 2, 4]);
    return tf.max(r, 4);
  };
  let worst = 0;
  const calls = countCalls(() => {
    worst = compare('rotate + group pool', valueAndGrads([x], 50, f));
  });
  assert.ok(worst < 1e-4);
  for (const k of ['gather', 'segmentSum', 'maxLast', 'maxLastGrad']) assert.ok((calls[k] ?? 0) > 0, `native ${k} ran (calls: ${JSON.stringify(calls)})`);
  // Λ = 2 and 8 (the kernel's fixed-length rows, like 4 above) and 3 (any length), with tied maxima: each gets the gradient
  for (const L of [2, 3, 8]) {
    const t = data(rand, [2, 5, 5, 3 * L]);
    for (let i = 0; i < t.values.length; i += 3) t.values[i + 1] = t.values[i]; // ties in every row (and across rows)
    compare(`max over the last ${L} values, with ties`, valueAndGrads([t], 51 + L, (v) => tf.max(tf.reshape(v, [2, 5, 5, 3, L]), 4)));
  }
});

test('Slice (non-contiguous: channel ranges, middle dims, rank 1–5) and SplitV/concat gradients match cpu, natively', { skip }, () => {
  const rand = rng(1414);
  const x = data(rand, [3, 7, 6, 10]);
  const cases: [number[], number[]][] = [
    [[0, 0, 0, 2], [-1, -1, -1, 5]], [[1, 2, 0, 0], [2, 3, -1, -1]], [[0, 1, 1, 9], [3, 5, 4, 1]], [[2, 6, 5, 0], [1, 1, 1, 10]],
    [[0, 0, 0, 0], [3, 7, 6, 10]], [[1, 0, 0, 0], [1, 7, 6, 10]],
  ];
  // (That Slice and SplitV are native-cpu's own kernels is checked with the others in conv.test.ts.)
  {
    for (const [begin, size] of cases) compare(`slice ${begin} ${size}`, valueAndGrads([x], 60, (t) => tf.slice(t, begin, size)));
    compare('slice rank 1', valueAndGrads([data(rand, [17])], 61, (t) => tf.slice(t, [3], [9])));
    compare('slice rank 5', valueAndGrads([data(rand, [2, 3, 4, 5, 6])], 62, (t) => tf.slice(t, [0, 1, 1, 2, 1], [2, 2, 3, 2, 4])));
    // Concat on every axis (long row blocks copied whole, short ones value by value), three inputs, an empty one
    const y = data(rand, [3, 7, 6, 4]);
    for (const axis of [0, 1, 2, 3, -1]) {
      compare(`concat axis ${axis}`, valueAndGrads([x], 64, (t) => tf.concat([t, tf.mul(t, 2), tf.neg(t)], axis)));
    }
    compare('concat channels of different widths', valueAndGrads([x, y], 65, (t, u) => tf.concat([t, u], 3)));
    compare('concat with an empty input', () => [tf.concat([tf.tensor(x.values, x.shape), tf.zeros([3, 7, 6, 0]), tf.tensor(y.values, y.shape)], 3)]);
    // Heterogeneous group pooling: channel blocks sliced, pooled, concatenated (the concat's gradient is SplitV).
    compare('split + concat', valueAndGrads([x], 63, (t) => {
      const [a, b2, c] = tf.split(t, [4, 4, 2], 3);
      return tf.concat([tf.max(tf.reshape(a, [3, 7, 6, 1, 4]), 4), tf.max(tf.reshape(b2, [3, 7, 6, 2, 2]), 4), c], 3);
    }));
  }
});

test('Reverse (any set of axes, rank 1–4) and Unpack (any axis) values and gradients match cpu', { skip }, () => {
  const rand = rng(1515);
  const x = data(rand, [3, 5, 4, 6]);
  for (const dims of [[0], [1], [2], [3], [0, 1], [1, 2], [0, 3], [0, 1, 2, 3]]) {
    compare(`reverse ${dims}`, valueAndGrads([x], 70 + dims.length, (t) => tf.reverse(t, dims)));
  }
  compare('reverse rank 1', valueAndGrads([data(rand, [9])], 80, (t) => tf.reverse(t)));
  for (const axis of [0, 1, 2, 3]) {
    compare(`unstack axis ${axis}`, valueAndGrads([x], 90 + axis, (t) => tf.stack(tf.unstack(t, axis).map((u, i) => tf.mul(u, i + 1)), axis)));
  }
});
