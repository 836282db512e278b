// Gradients on the wasm backend against the cpu backend's, for every kernel tracker/kernels/ provides and for the ops
// our training uses. Relative error throughout: max|a − b| / max(1e-6, max|b|), b = cpu; it must be < 1e-4.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { registerWasmTrainingKernels, stockWasmKernel } from '../../tracker/backend.js';
import { missingWasmKernels, wasmKernelOverrides } from '../../tracker/kernels/index.js';
import { spreadFilter } from '../../tracker/kernels/dilated_conv_grad.js';

const TOL = 1e-4;

before(async () => {
  registerWasmTrainingKernels();
  assert.ok(await tf.setBackend('wasm'), 'wasm backend initialises');
  assert.ok(await tf.setBackend('cpu'), 'cpu backend initialises');
});

/** Relative error of `a` against the reference `b`: max|a − b| / max(1e-6, max|b|). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'same number of elements');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(1e-6, scale);
}

interface Data { values: Float32Array; shape: number[] }
let seed = 1;
/** Seeded N(0, 1) data, generated on the cpu backend so both backends see identical numbers. */
function randn(shape: number[]): Data {
  const prev = tf.getBackend();
  tf.setBackend('cpu');
  const values = tf.tidy(() => tf.randomNormal(shape, 0, 1, 'float32', seed++).dataSync() as Float32Array).slice();
  tf.setBackend(prev);
  return { values, shape };
}

type Fn = (...xs: tf.Tensor[]) => tf.Tensor;

/** Output shape of f on the cpu backend. */
function outShape(f: Fn, inputs: Data[]): number[] {
  tf.setBackend('cpu');
  return tf.tidy(() => f(...inputs.map((d) => tf.tensor(d.values, d.shape))).shape);
}

/** Gradients of Σ f(xs)·dy with respect to every input, on `backend`, as plain arrays. */
function gradsOn(backend: string, f: Fn, inputs: Data[], dy: Data): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = inputs.map((d) => tf.tensor(d.values, d.shape));
    const g = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), tf.tensor(dy.values, dy.shape))))(xs);
    return g.map((t) => (t.dataSync() as Float32Array).slice());
  });
}

/** Asserts wasm gradients equal cpu gradients; returns the worst relative error. */
function checkGrads(name: string, f: Fn, inputs: Data[]): number {
  const dy = randn(outShape(f, inputs));
  const ref = gradsOn('cpu', f, inputs, dy);
  const got = gradsOn('wasm', f, inputs, dy);
  let worst = 0;
  ref.forEach((r, i) => {
    const e = relErr(got[i], r);
    worst = Math.max(worst, e);
    assert.ok(e < TOL, `${name}: gradient of input ${i} differs, relative error ${e.toExponential(2)}`);
  });
  return worst;
}

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
const PADS: Pad[] = [
  'same',
  'valid',
  [[0, 0], [1, 2], [2, 0], [0, 0]], // asymmetric, smaller than the kernel
  [[0, 0], [4, 0], [0, 5], [0, 0]], // larger than the kernel: the backprop must crop
];
/** Batch, odd/even sizes, channel counts 1/3/8, square and non-square kernels. */
const SHAPES = [
  { B: 1, H: 7, W: 7, Ci: 1, Co: 3, KH: 3, KW: 3 },
  { B: 3, H: 8, W: 6, Ci: 3, Co: 8, KH: 2, KW: 3 },
  { B: 1, H: 9, W: 10, Ci: 8, Co: 1, KH: 5, KW: 2 },
  { B: 3, H: 6, W: 9, Ci: 3, Co: 3, KH: 1, KW: 4 },
];
const padName = (p: Pad) => (typeof p === 'string' ? p : JSON.stringify(p.slice(1, 3)));

test('the kernels we provide are the ones registered for wasm, and registration is idempotent', () => {
  registerWasmTrainingKernels();
  registerWasmTrainingKernels();
  for (const k of [...missingWasmKernels, ...wasmKernelOverrides]) {
    assert.equal(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc, k.kernelFunc, k.kernelName);
  }
  // The overridden stock kernels are kept (the benchmark compares against them).
  for (const k of wasmKernelOverrides) assert.ok(stockWasmKernel(k.kernelName), `stock ${k.kernelName} kept`);
  assert.deepEqual(missingWasmKernels.map((k) => k.kernelName).sort(), [
    'Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum',
  ]);
});

test('conv2d gradients (Conv2DBackpropFilter, Conv2DBackpropInput): strides 1/2/3 × same/valid/explicit pads', () => {
  let worst = 0;
  let n = 0;
  for (const s of [1, 2, 3]) {
    for (const pad of PADS) {
      for (const c of SHAPES) {
        const f: Fn = (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, pad);
        const name = `conv2d s${s} ${padName(pad)} ${JSON.stringify(c)}`;
        worst = Math.max(worst, checkGrads(name, f, [randn([c.B, c.H, c.W, c.Ci]), randn([c.KH, c.KW, c.Ci, c.Co])]));
        n++;
      }
    }
  }
  assert.equal(n, 48);
  assert.ok(worst < TOL);
});

test('conv2d gradients with non-square strides', () => {
  for (const pad of PADS) {
    const c = SHAPES[1];
    checkGrads(`conv2d s[2,3] ${padName(pad)}`, (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [2, 3], pad),
      [randn([c.B, c.H, c.W, c.Ci]), randn([c.KH, c.KW, c.Ci, c.Co])]);
  }
});

test('conv2d gradients with a numeric pad', () => {
  for (const pad of [1, 2]) {
    for (const s of [1, 2, 3]) {
      const c = SHAPES[1];
      checkGrads(`conv2d s${s} pad ${pad}`, (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, pad, 'NHWC', 1, 'floor'),
        [randn([c.B, c.H, c.W, c.Ci]), randn([c.KH, c.KW, c.Ci, c.Co])]);
    }
  }
});

test("dimRoundingMode 'ceil'/'round' (dropped by tfjs-core's gradient) neither overruns the wasm heap nor breaks the math", () => {
  // These modes can give one more output row than the kernel attributes imply (tfjs-core's Conv2D and MaxPool
  // gradients drop dimRoundingMode). The kernels take the size from dy; sized from the attributes they overran the
  // heap. The wasm *forward* conv ignores the mode (XNNPACK floors), so compare the backprop kernels directly against
  // the math: the gradient of Σ conv·dy written with an explicit pad that reaches the extra windows.
  const c = SHAPES[1];
  for (const [pad, mode, s] of [[2, 'ceil', 3], [1, 'round', 3], [2, 'ceil', 2]] as const) {
    const x = randn([c.B, c.H, c.W, c.Ci]);
    const w = randn([c.KH, c.KW, c.Ci, c.Co]);
    const info = tf.backend_util.computeConv2DInfo([c.B, c.H, c.W, c.Ci], [c.KH, c.KW, c.Ci, c.Co], s, 1, pad, mode);
    const dy = randn(info.outShape);
    // The same windows, written as explicit padding: bottom/right pads reach the last window.
    const pb = (info.outHeight - 1) * s + c.KH - c.H - pad;
    const pr = (info.outWidth - 1) * s + c.KW - c.W - pad;
    const explicit: Pad = [[0, 0], [pad, Math.max(pb, 0)], [pad, Math.max(pr, 0)], [0, 0]];
    const f: Fn = (a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, explicit);
    assert.deepEqual(outShape(f, [x, w]), info.outShape);
    const ref = gradsOn('cpu', f, [x, w], dy);
    const run = (name: string, inputs: Record<string, Data>, attrs: object) => {
      tf.setBackend('wasm');
      return tf.tidy(() => {
        const ts: Record<string, tf.Tensor> = {};
        for (const [k, d] of Object.entries(inputs)) ts[k] = tf.tensor(d.values, d.shape);
        return ((tf.engine().runKernel(name, ts as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor).dataSync() as Float32Array).slice();
      });
    };
    // Attributes as tfjs-core's gradient passes them: no dimRoundingMode.
    const dx = run(tf.Conv2DBackpropInput, { dy, filter: w }, { strides: s, pad, dataFormat: 'NHWC', inputShape: x.shape });
    const dw = run(tf.Conv2DBackpropFilter, { x, dy }, { strides: s, pad, dataFormat: 'NHWC', filterShape: w.shape });
    assert.ok(relErr(dx, ref[0]) < TOL, `${mode} s${s}: dx`);
    assert.ok(relErr(dw, ref[1]) < TOL, `${mode} s${s}: dW`);
  }
});

test('dilated conv2d gradients (dilation 2 and [1, 3]) on wasm equal cpu and the zero-spread-filter reference', () => {
  for (const d of [2, [1, 3]] as (number | [number, number])[]) {
    for (const pad of PADS) {
      const c = SHAPES[1];
      const dil: [number, number] = typeof d === 'number' ? [d, d] : d;
      const inputs = [randn([c.B, c.H + 4, c.W + 4, c.Ci]), randn([c.KH, c.KW, c.Ci, c.Co])];
      const f: Fn = (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, pad, 'NHWC', d);
      checkGrads(`conv2d dilation ${JSON.stringify(d)} ${padName(pad)}`, f, inputs);
      // Independent reference on cpu: the same conv written with an explicitly spread filter and dilation 1 runs
      // through tfjs-core's stock gradients only.
      const g: Fn = (x, w) => tf.conv2d(x as tf.Tensor4D, spreadFilter(w as tf.Tensor4D, dil[0], dil[1]), 1, pad);
      const dy = randn(outShape(f, inputs));
      const ours = gradsOn('cpu', f, inputs, dy);
      const ref = gradsOn('cpu', g, inputs, dy);
      ours.forEach((o, i) => assert.ok(relErr(o, ref[i]) < TOL, `dilation ${d} ${padName(pad)} input ${i} vs reference`));
    }
  }
});

test('depthwiseConv2d gradients: strides 1/2/3 × pads × channel multipliers 1 and 2', () => {
  for (const s of [1, 2, 3]) {
    for (const pad of PADS) {
      for (const c of SHAPES) {
        for (const M of [1, 2]) {
          const f: Fn = (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, pad);
          checkGrads(`depthwise s${s} ${padName(pad)} M${M} ${JSON.stringify(c)}`, f,
            [randn([c.B, c.H, c.W, c.Ci]), randn([c.KH, c.KW, c.Ci, M])]);
        }
      }
    }
  }
});

test('dilated depthwiseConv2d gradients match cpu and the reference', () => {
  for (const pad of PADS) {
    const c = SHAPES[1];
    const inputs = [randn([c.B, c.H + 4, c.W + 4, c.Ci]), randn([c.KH, c.KW, c.Ci, 2])];
    const f: Fn = (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, pad, 'NHWC', 2);
    checkGrads(`depthwise dilation 2 ${padName(pad)}`, f, inputs);
    const g: Fn = (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, spreadFilter(w as tf.Tensor4D, 2, 2), 1, pad);
    const dy = randn(outShape(f, inputs));
    const ours = gradsOn('wasm', f, inputs, dy);
    const ref = gradsOn('cpu', g, inputs, dy);
    ours.forEach((o, i) => assert.ok(relErr(o, ref[i]) < TOL, `depthwise dilation 2 ${padName(pad)} input ${i}`));
  }
});

test('depthwise backprop kernels honour a dilations attribute when called directly', () => {
  // tfjs-core never passes dilations > 1 to these kernels (our gradient spreads the filter instead), and the cpu
  // kernels ignore the attribute; the reference is the dilation-1 kernel on the spread filter.
  const c = { B: 2, H: 11, W: 10, C: 3, M: 2, KH: 3, KW: 2 };
  const x = randn([c.B, c.H, c.W, c.C]);
  const w = randn([c.KH, c.KW, c.C, c.M]);
  for (const pad of ['same', 'valid'] as const) {
    const info = tf.backend_util.computeConv2DInfo([c.B, c.H, c.W, c.C], [c.KH, c.KW, c.C, c.M], 1, 2, pad, undefined, true);
    const dy = randn(info.outShape);
    const run = (backend: string, name: string, inputs: Record<string, Data>, attrs: object): Float32Array => {
      tf.setBackend(backend);
      return tf.tidy(() => {
        const ts: Record<string, tf.Tensor> = {};
        for (const [k, d] of Object.entries(inputs)) ts[k] = tf.tensor(d.values, d.shape);
        if (ts.filter && (attrs as { spread?: boolean }).spread) ts.filter = spreadFilter(ts.filter as tf.Tensor4D, 2, 2);
        const out = tf.engine().runKernel(name, ts as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
        return (out.dataSync() as Float32Array).slice();
      });
    };
    const dx = run('wasm', tf.DepthwiseConv2dNativeBackpropInput, { dy, filter: w },
      { strides: 1, pad, dilations: 2, inputShape: x.shape });
    const dxRef = run('cpu', tf.DepthwiseConv2dNativeBackpropInput, { dy, filter: w },
      { strides: 1, pad, dilations: 1, inputShape: x.shape, spread: true });
    assert.ok(relErr(dx, dxRef) < TOL, `dilated depthwise backprop input ${pad}`);
    const dwSpread = run('cpu', tf.DepthwiseConv2dNativeBackpropFilter, { x, dy },
      { strides: 1, pad, dilations: 1, filterShape: [2 * c.KH - 1, 2 * c.KW - 1, c.C, c.M] });
    const dw = run('wasm', tf.DepthwiseConv2dNativeBackpropFilter, { x, dy },
      { strides: 1, pad, dilations: 2, filterShape: w.shape });
    // keep taps (2i, 2j) of the spread gradient
    const ref = new Float32Array(dw.length);
    const SW = 2 * c.KW - 1;
    for (let i = 0; i < c.KH; i++) for (let j = 0; j < c.KW; j++) for (let k = 0; k < c.C * c.M; k++) {
      ref[(i * c.KW + j) * c.C * c.M + k] = dwSpread[(2 * i * SW + 2 * j) * c.C * c.M + k];
    }
    assert.ok(relErr(dw, ref) < TOL, `dilated depthwise backprop filter ${pad}`);
  }
});

test('gather gradients (UnsortedSegmentSum) and unsortedSegmentSum itself', () => {
  checkGrads('gather axis 1, repeated ids', (x) => tf.gather(x, tf.tensor1d([0, 2, 2, 4], 'int32'), 1), [randn([3, 5, 4])]);
  checkGrads('gather axis 0, 2-D ids', (x) => tf.gather(x, tf.tensor2d([[0, 2], [2, 1]], [2, 2], 'int32'), 0), [randn([3, 5, 4])]);
  checkGrads('gather axis 3', (x) => tf.gather(x, tf.tensor1d([7, 0, 3], 'int32'), 3), [randn([2, 3, 3, 8])]);
  const x = randn([6, 3]);
  for (const dtype of ['float32', 'int32'] as const) {
    const out: Record<string, number[]> = {};
    for (const backend of ['cpu', 'wasm']) {
      tf.setBackend(backend);
      out[backend] = tf.tidy(() => Array.from(tf.unsortedSegmentSum(
        tf.cast(tf.mul(tf.tensor(x.values, x.shape), 10), dtype), tf.tensor1d([2, -1, 0, 2, 7, 1], 'int32'), 4).dataSync()));
    }
    assert.deepEqual(out.wasm, out.cpu, `unsortedSegmentSum ${dtype}, ids out of range dropped`);
  }
});

test('Tile (replaced on wasm) equals cpu for ranks 1–5, all reps patterns and dtypes', () => {
  const cases: [number[], number[]][] = [
    [[3], [4]], [[1, 1, 1, 5], [2, 3, 4, 1]], [[2, 3], [1, 1]], [[2, 1, 3], [3, 4, 2]], [[4, 1], [1, 7]],
    [[2, 2, 1, 2, 3], [1, 2, 3, 1, 2]], [[1], [1]], [[0, 2], [3, 1]],
  ];
  for (const [shape, reps] of cases) {
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      const size = shape.reduce((a, b) => a * b, 1);
      const vals = Array.from({ length: size }, (_, i) => (dtype === 'bool' ? i % 3 === 0 : i * 1.5 - 2)) as number[];
      const res: Record<string, number[]> = {};
      for (const backend of ['cpu', 'wasm']) {
        tf.setBackend(backend);
        res[backend] = tf.tidy(() => Array.from(tf.tile(tf.tensor(vals, shape, dtype), reps).dataSync()));
      }
      assert.deepEqual(res.wasm, res.cpu, `tile ${JSON.stringify(shape)} × ${JSON.stringify(reps)} ${dtype}`);
    }
  }
});

test('every gradient our training uses runs on wasm and equals cpu', () => {
  const x = () => randn([2, 9, 8, 3]);
  const cases: [string, Fn, Data[]][] = [
    ['grouped conv (split + concat)', (a, w) => {
      const xs = tf.split(a, 2, 3);
      const ws = tf.split(w, 2, 3);
      return tf.concat(xs.map((xi, i) => tf.conv2d(xi as tf.Tensor4D, tf.slice(ws[i], [0, 0, 0, 0], [3, 3, 2, 3]) as tf.Tensor4D, 1, 'same')), 3);
    }, [randn([2, 9, 8, 4]), randn([3, 3, 2, 6])]],
    ['conv2dTranspose', (a, w) => tf.conv2dTranspose(a as tf.Tensor4D, w as tf.Tensor4D, [2, 18, 16, 4], 2, 'same'), [x(), randn([3, 3, 4, 3])]],
    ['separableConv2d', (a, d, p) => tf.separableConv2d(a as tf.Tensor4D, d as tf.Tensor4D, p as tf.Tensor4D, 1, 'same'),
      [x(), randn([3, 3, 3, 2]), randn([1, 1, 6, 4])]],
    ['fused conv2d + bias + relu', (a, w, b) => tf.fused.conv2d({ x: a as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 2, pad: 'same', bias: b, activation: 'relu' }),
      [x(), randn([3, 3, 3, 4]), randn([4])]],
    ['avgPool', (a) => tf.avgPool(a as tf.Tensor4D, [3, 2], 2, 'valid'), [x()]],
    ['avgPool same', (a) => tf.avgPool(a as tf.Tensor4D, 3, 2, 'same'), [x()]],
    ['batchNorm with moments', (a, s, o) => {
      const m = tf.moments(a, [0, 1, 2]);
      return tf.batchNorm(a, m.mean, m.variance, o, s, 1e-3);
    }, [x(), randn([3]), randn([3])]],
    ['relu', (a) => tf.relu(a), [x()]],
    ['elu', (a) => tf.elu(a), [x()]],
    ['leakyRelu', (a) => tf.leakyRelu(a, 0.1), [x()]],
    ['sigmoid', (a) => tf.sigmoid(a), [x()]],
    ['softplus', (a) => tf.softplus(a), [x()]],
    ['resizeBilinear (non-square: needs the cpu shape fix)', (a) => tf.image.resizeBilinear(a as tf.Tensor4D, [13, 7]), [x()]],
    ['resizeBilinear down', (a) => tf.image.resizeBilinear(a as tf.Tensor4D, [4, 5]), [x()]],
    ['resizeBilinear alignCorners', (a) => tf.image.resizeBilinear(a as tf.Tensor4D, [5, 11], true), [x()]],
    ['gather', (a) => tf.gather(a, tf.tensor1d([0, 2, 2], 'int32'), 1), [x()]],
    ['mirrorPad reflect', (a) => tf.mirrorPad(a, [[0, 0], [1, 2], [2, 1], [0, 0]], 'reflect'), [x()]],
    ['mirrorPad symmetric', (a) => tf.mirrorPad(a, [[0, 0], [2, 2], [0, 1], [0, 0]], 'symmetric'), [x()]],
    ['pad', (a) => tf.pad(a, [[0, 0], [1, 2], [2, 1], [0, 0]], 0.5), [x()]],
    ['slice', (a) => tf.slice(a, [0, 1, 2, 0], [1, 5, 4, 2]), [x()]],
    ['concat', (a, b) => tf.concat([a, b], 2), [x(), x()]],
    ['reverse + transpose (rot90)', (a) => tf.reverse(tf.transpose(a, [0, 2, 1, 3]), 2), [x()]],
    ['tile', (a) => tf.tile(a, [1, 2, 1, 3]), [x()]],
    ['max', (a) => tf.max(a, [1, 2]), [x()]],
    ['mean', (a) => tf.mean(a, [1, 2]), [x()]],
    ['sum', (a) => tf.sum(a, [0, 3], true), [x()]],
    ['maximum', (a, b) => tf.maximum(a, b), [x(), x()]],
    ['matMul', (a, b) => tf.matMul(a, b), [randn([5, 6]), randn([6, 7])]],
    ['matMul transposed, batched', (a, b) => tf.matMul(a, b, true, true), [randn([2, 6, 5]), randn([2, 7, 6])]],
    ['sigmoidCrossEntropy', (a) => tf.losses.sigmoidCrossEntropy(tf.tensor2d([[1, 0, 1, 1, 0], [0, 0, 1, 0, 1]]), a), [randn([2, 5])]],
    ['balanced logistic loss expression', (a) => {
      const y = tf.tensor2d([[1, -1, 1, -1, -1], [-1, -1, 1, -1, 1]]);
      const w = tf.tensor2d([[0.25, 0.1, 0.25, 0.1, 0.1], [0.1, 0.1, 0.25, 0.1, 0.25]]);
      return tf.sum(tf.mul(w, tf.softplus(tf.neg(tf.mul(y, a)))));
    }, [randn([2, 5])]],
    ['softmaxCrossEntropy', (a) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([1, 2, 0, 4], 'int32'), 5), a), [randn([4, 5])]],
    ['squaredDifference, sqrt, div', (a, b) => tf.div(tf.squaredDifference(a, b), tf.sqrt(tf.add(tf.square(a), 1))), [x(), x()]],
  ];
  for (const [name, f, inputs] of cases) checkGrads(name, f, inputs);
});

test('maxPool gradients (MaxPoolGrad, replaced on wasm): windows, strides, pads, all-negative windows, ties', () => {
  for (const [k, s, pad] of [[3, 2, 'same'], [3, 2, 'valid'], [3, 1, 'same'], [2, 2, 'valid'], [[3, 2], [1, 2], 'same'],
    [3, 3, 'same'], [3, 2, 1], [2, 1, 'valid']] as [number | [number, number], number | [number, number], 'same' | 'valid' | number][]) {
    for (const c of SHAPES) {
      const name = `maxPool ${JSON.stringify([k, s, pad])} ${JSON.stringify(c)}`;
      checkGrads(name, (a) => tf.maxPool(a as tf.Tensor4D, k, s, pad), [randn([c.B, c.H, c.W, c.Ci])]);
      // All-negative inputs: the stock wasm kernel sent these gradients to the first pixel of every window.
      checkGrads(`${name} negative`, (a) => tf.maxPool(tf.sub(tf.neg(tf.abs(a)), 1) as tf.Tensor4D, k, s, pad),
        [randn([c.B, c.H, c.W, c.Ci])]);
    }
  }
  // Ties (ReLU zeros, repeated values): the first maximum of each window gets the gradient, as on cpu.
  const tied = { values: Float32Array.from({ length: 2 * 7 * 6 * 3 }, (_, i) => Math.max(0, (i % 5) - 2)), shape: [2, 7, 6, 3] };
  checkGrads('maxPool ties', (a) => tf.maxPool(a as tf.Tensor4D, 3, 2, 'same'), [tied]);
});

test('linear ops: wasm gradient · u equals f(u) for random u (an exact check independent of cpu)', () => {
  // For linear f, the gradient of Σ f(x)·dy is Fᵀdy, so grad·u = Σ f(u)·dy for every u.
  const w = randn([3, 2, 3, 4]);
  const d = randn([2, 3, 3, 2]);
  const cases: [string, (a: tf.Tensor) => tf.Tensor, number[]][] = [
    ['resizeBilinear non-square', (a) => tf.image.resizeBilinear(a as tf.Tensor4D, [13, 7]), [2, 9, 8, 3]],
    ['resizeBilinear alignCorners', (a) => tf.image.resizeBilinear(a as tf.Tensor4D, [5, 11], true), [1, 6, 4, 2]],
    ['conv2d stride 2', (a) => tf.conv2d(a as tf.Tensor4D, tf.tensor4d(w.values, [3, 2, 3, 4]), 2, 'same'), [2, 9, 8, 3]],
    ['depthwise stride 3', (a) => tf.depthwiseConv2d(a as tf.Tensor4D, tf.tensor4d(d.values, [2, 3, 3, 2]), 3, 'valid'), [3, 10, 11, 3]],
    ['gather', (a) => tf.gather(a, tf.tensor1d([2, 0, 2], 'int32'), 2), [2, 4, 5, 3]],
  ];
  tf.setBackend('wasm');
  for (const [name, f, shape] of cases) {
    const x = randn(shape);
    const u = randn(shape);
    tf.setBackend('wasm');
    tf.tidy(() => {
      const xt = tf.tensor(x.values, shape);
      const dy = tf.tensor(randn(f(xt).shape).values, f(xt).shape);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), dy)))(xt);
      const lhs = tf.sum(tf.mul(g, tf.tensor(u.values, shape))).dataSync()[0];
      const rhs = tf.sum(tf.mul(f(tf.tensor(u.values, shape)), dy)).dataSync()[0];
      const scale = tf.sum(tf.abs(tf.mul(f(tf.tensor(u.values, shape)), dy))).dataSync()[0];
      assert.ok(Math.abs(lhs - rhs) / scale < TOL, `${name}: ${lhs} vs ${rhs}`);
    });
  }
});

interface Net { w1: Data; gamma: Data; beta: Data; w2: Data; x: Data; target: Data }

/** One training step of conv(s2) → batchNorm(moments) → relu → conv → sigmoid cross-entropy, then Adam. */
function trainStep(backend: string, net: Net): { loss: number; grads: Record<string, Float32Array>; after: Record<string, Float32Array> } {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const vars: Record<string, tf.Variable> = {
      w1: tf.variable(tf.tensor(net.w1.values, net.w1.shape), true, `w1_${backend}`),
      gamma: tf.variable(tf.tensor(net.gamma.values, net.gamma.shape), true, `gamma_${backend}`),
      beta: tf.variable(tf.tensor(net.beta.values, net.beta.shape), true, `beta_${backend}`),
      w2: tf.variable(tf.tensor(net.w2.values, net.w2.shape), true, `w2_${backend}`),
    };
    const x = tf.tensor4d(net.x.values, net.x.shape as [number, number, number, number]);
    const target = tf.greater(tf.tensor(net.target.values, net.target.shape), 0).toFloat();
    const lossFn = () => {
      const h = tf.conv2d(x, vars.w1 as tf.Tensor4D, 2, 'same');
      const m = tf.moments(h, [0, 1, 2]);
      const a = tf.relu(tf.batchNorm(h, m.mean, m.variance, vars.beta as tf.Tensor1D, vars.gamma as tf.Tensor1D, 1e-3));
      const logits = tf.conv2d(a as tf.Tensor4D, vars.w2 as tf.Tensor4D, 1, 'valid');
      return tf.losses.sigmoidCrossEntropy(target, logits) as tf.Scalar;
    };
    const { value, grads } = tf.variableGrads(lossFn, Object.values(vars));
    const out: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(vars)) out[k] = (grads[v.name].dataSync() as Float32Array).slice();
    const opt = tf.train.adam(0.01);
    opt.applyGradients(grads as unknown as Parameters<typeof opt.applyGradients>[0]);
    const after: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(vars)) after[k] = (v.dataSync() as Float32Array).slice();
    opt.dispose();
    Object.values(vars).forEach((v) => v.dispose());
    return { loss: value.dataSync()[0], grads: out, after };
  });
}

test('a whole training step (conv → BN → relu → conv, loss, all gradients, Adam) is equal on wasm and cpu', () => {
  const net: Net = {
    x: randn([3, 11, 10, 3]),
    w1: randn([3, 3, 3, 8]),
    gamma: randn([8]),
    beta: randn([8]),
    w2: randn([3, 2, 8, 1]),
    target: randn([3, 4, 4, 1]),
  };
  const cpu = trainStep('cpu', net);
  const wasm = trainStep('wasm', net);
  assert.ok(Math.abs(wasm.loss - cpu.loss) / Math.abs(cpu.loss) < TOL, `loss ${wasm.loss} vs ${cpu.loss}`);
  for (const k of Object.keys(cpu.grads)) {
    const e = relErr(wasm.grads[k], cpu.grads[k]);
    assert.ok(e < TOL, `gradient of ${k}: relative error ${e.toExponential(2)}`);
    const u = relErr(wasm.after[k], cpu.after[k]);
    assert.ok(u < TOL, `${k} after Adam: relative error ${u.toExponential(2)}`);
  }
});

test('the wasm gradient kernels leak neither tensors nor wasm heap buffers', () => {
  tf.setBackend('wasm');
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const step = () => tf.tidy(() => {
    const x = tf.randomNormal([2, 9, 9, 4]) as tf.Tensor4D;
    const g = tf.grads((a: tf.Tensor, w: tf.Tensor, d: tf.Tensor) => tf.add(
      tf.sum(tf.tile(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid', 'NHWC'), [1, 1, 1, 2])),
      tf.sum(tf.gather(tf.depthwiseConv2d(a as tf.Tensor4D, d as tf.Tensor4D, 1, 'same', 'NHWC', 2), tf.tensor1d([1, 1, 3], 'int32'), 3)),
    ))([x, tf.randomNormal([3, 3, 4, 5]), tf.randomNormal([3, 3, 4, 2])]);
    g.forEach((t) => t.dataSync());
  });
  step();
  const tensors = tf.memory().numTensors;
  const ids = backend.numDataIds();
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, tensors, 'tensors');
  assert.equal(backend.numDataIds(), ids, 'wasm data ids');
});
