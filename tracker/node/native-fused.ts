/**
 * The fused training-step kernels of the native-cpu backend (tracker/native/src/fused.cc), registered under the names of
 * tracker/fused-kernels.ts, with the gradients of the differentiable ones, plus one-pass gradients of Relu and of Max
 * over trailing axes (IEN's group pooling) and a native Max kernel for those axes. The gradient registry is global:
 * the Relu and Max gradient wrappers run tfjs-core's own gradient on every other backend and for other shapes.
 */
import { outputPool } from './buffer-pool.js';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { tf } from '../tf.js';
import {
  ADAM_KERNEL, BN_TRAIN_GRAD_KERNEL, BN_TRAIN_KERNEL, MAX_GRAD_KERNEL, RELU_GRAD_KERNEL, SGD_KERNEL, XCORR_GRAD_KERNEL,
  XCORR_KERNEL, runFused, type AdamAttrs, type SgdAttrs,
} from '../fused-kernels.js';

/** The add-on functions these kernels call (tracker/native/src/fused.cc). */
export interface FusedAddon {
  adamUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, wOut: Float32Array, mOut: Float32Array,
    vOut: Float32Array, scalars: Float32Array, hasWeightDecay: number): void;
  sgdUpdate(w: Float32Array, g: Float32Array, vel: Float32Array, wOut: Float32Array, velOut: Float32Array, scalars: Float32Array,
    hasWeightDecay: number): void;
  xcorr(z: Float32Array, x: Float32Array, out: Float32Array, p: Int32Array): void;
  xcorrGrad(z: Float32Array, x: Float32Array, dy: Float32Array, dz: Float32Array, dx: Float32Array, p: Int32Array): void;
  bnTrain(x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, y: Float32Array, mean: Float32Array,
    variance: Float32Array, p: Int32Array, eps: number, relu: number): void;
  bnTrainGrad(x: Float32Array, dy: Float32Array, mean: Float32Array, variance: Float32Array, gamma: Float32Array | null,
    dMean: Float32Array | null, dVariance: Float32Array | null, dx: Float32Array, dGamma: Float32Array, dBeta: Float32Array,
    p: Int32Array, eps: number, yRelu: Float32Array | null): void;
  reluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, n: number): void;
  maxLast(x: Float32Array, y: Float32Array, rows: number, inner: number): void;
  maxLastGrad(dy: Float32Array, x: Float32Array, y: Float32Array, dx: Float32Array, rows: number, inner: number): void;
}

const FUSED_FUNCTIONS: readonly (keyof FusedAddon)[] = [
  'adamUpdate', 'sgdUpdate', 'xcorr', 'xcorrGrad', 'bnTrain', 'bnTrainGrad', 'reluGrad', 'maxLast', 'maxLastGrad',
];

/** True when the loaded add-on exports every fused kernel (false for a build older than fused.cc). */
export function addonHasFused(addon: object): addon is FusedAddon {
  return FUSED_FUNCTIONS.every((k) => typeof (addon as Record<string, unknown>)[k] === 'function');
}

export type Backend = MathBackendCPU;
export type Info = tf.TensorInfo;

export const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

export function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A float32 tensor's values as a Float32Array (a copy when the cpu backend stores it otherwise, e.g. a cast bool). */
export function f32(b: Backend, t: Info, name: string): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`native-cpu fused kernel: input '${name}' is ${t.dtype}, not float32`);
  const v = b.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/** The named inputs, in order; throws naming a missing one. */
export function ins(inputs: tf.NamedTensorInfoMap, ...names: string[]): Info[] {
  return names.map((n) => {
    const t = inputs[n];
    if (!t) throw new Error(`native-cpu fused kernel: missing input '${n}'`);
    return t;
  });
}

export const out = (b: Backend, shape: number[], values: Float32Array): Info => b.makeTensorInfo(shape, 'float32', values);

/** `[B, k, h, w, H, W, C]` of a cross-correlation of `z` `[B, h, w, C]` with `x` `[B·k, H, W, C]`; throws on a mismatch. */
function xcorrParams(z: Info, x: Info): Int32Array {
  const [B, h, w, C] = z.shape;
  const [n, H, W, Cx] = x.shape;
  if (z.shape.length !== 4 || x.shape.length !== 4 || C !== Cx || n % B !== 0 || h > H || w > W) {
    throw new Error(`native-cpu xcorr: exemplar [${z.shape}] and search [${x.shape}] do not fit`);
  }
  return Int32Array.from([B, n / B, h, w, H, W, C]);
}

/** Attributes of BN_TRAIN_KERNEL and its gradient (tracker/batchnorm.ts). */
interface BnAttrs { eps: number; fieldSize: number; relu?: boolean }

/** `[rows, C, fieldSize]` of BatchNorm over `x` `[…, C]`. */
function bnParams(x: Info, fieldSize: number): Int32Array {
  const C = x.shape[x.shape.length - 1];
  if (!Number.isInteger(fieldSize) || fieldSize < 1 || C % fieldSize !== 0) {
    throw new Error(`native-cpu batchNorm: ${C} channels do not split into fields of ${fieldSize}`);
  }
  return Int32Array.from([size(x.shape) / C, C, fieldSize]);
}

/** Kernel functions of the fused kernels, by kernel name, calling `addon`. */
export function fusedKernels(addon: FusedAddon): Record<string, tf.KernelFunc> {
  return {
    [ADAM_KERNEL]: ({ inputs, backend, attrs }) => {
      const b = backend as Backend;
      const [w, g, m, v] = ins(inputs, 'w', 'g', 'm', 'v');
      const at = attrs as unknown as AdamAttrs;
      const n = size(w.shape);
      const [wo, mo, vo] = [outputPool.take(n), outputPool.take(n), outputPool.take(n)];
      // The scalars exactly as the op chain's float32 scalar tensors hold them (1 − β and lr / c1 computed in double).
      const s = Float32Array.from([at.weightDecay, at.beta1, 1 - at.beta1, at.beta2, 1 - at.beta2, at.c2, at.epsilon, at.lr / at.c1]);
      addon.adamUpdate(f32(b, w, 'w'), f32(b, g, 'g'), f32(b, m, 'm'), f32(b, v, 'v'), wo, mo, vo, s, at.weightDecay ? 1 : 0);
      return [out(b, w.shape, wo), out(b, w.shape, mo), out(b, w.shape, vo)];
    },
    [SGD_KERNEL]: ({ inputs, backend, attrs }) => {
      const b = backend as Backend;
      const [w, g, vel] = ins(inputs, 'w', 'g', 'vel');
      const at = attrs as unknown as SgdAttrs;
      const n = size(w.shape);
      const [wo, vo] = [outputPool.take(n), outputPool.take(n)];
      addon.sgdUpdate(f32(b, w, 'w'), f32(b, g, 'g'), f32(b, vel, 'vel'), wo, vo, Float32Array.from([at.weightDecay, at.momentum, at.lr]),
        at.weightDecay ? 1 : 0);
      return [out(b, w.shape, wo), out(b, w.shape, vo)];
    },
    [XCORR_KERNEL]: ({ inputs, backend }) => {
      const b = backend as Backend;
      const [z, x] = ins(inputs, 'z', 'x');
      const p = xcorrParams(z, x);
      const shape = [x.shape[0], x.shape[1] - z.shape[1] + 1, x.shape[2] - z.shape[2] + 1, 1];
      const y = outputPool.take(size(shape));
      addon.xcorr(f32(b, z, 'z'), f32(b, x, 'x'), y, p);
      return out(b, shape, y);
    },
    [XCORR_GRAD_KERNEL]: ({ inputs, backend }) => {
      const b = backend as Backend;
      const [dy, z, x] = ins(inputs, 'dy', 'z', 'x');
      const dz = outputPool.take(size(z.shape));
      const dx = outputPool.take(size(x.shape));
      addon.xcorrGrad(f32(b, z, 'z'), f32(b, x, 'x'), f32(b, dy, 'dy'), dz, dx, xcorrParams(z, x));
      return [out(b, z.shape, dz), out(b, x.shape, dx)];
    },
    [BN_TRAIN_KERNEL]: ({ inputs, backend, attrs }) => {
      const b = backend as Backend;
      const [x, gamma, beta] = ins(inputs, 'x', 'gamma', 'beta');
      const { eps, fieldSize, relu } = attrs as unknown as BnAttrs;
      const p = bnParams(x, fieldSize);
      const F = p[1] / fieldSize;
      const [y, mean, variance] = [outputPool.take(size(x.shape)), outputPool.take(F), outputPool.take(F)];
      addon.bnTrain(f32(b, x, 'x'), f32(b, gamma, 'gamma'), f32(b, beta, 'beta'), y, mean, variance, p, eps, relu ? 1 : 0);
      return [out(b, x.shape, y), out(b, [F], mean), out(b, [F], variance)];
    },
    [BN_TRAIN_GRAD_KERNEL]: ({ inputs, backend, attrs }) => {
      const b = backend as Backend;
      const [dy, x, mean, variance, gamma, dMean, dVariance] = ins(inputs, 'dy', 'x', 'mean', 'variance', 'gamma', 'dMean', 'dVariance');
      const { eps, fieldSize, relu } = attrs as unknown as BnAttrs;
      const p = bnParams(x, fieldSize);
      const F = p[1] / fieldSize;
      const [dx, dGamma, dBeta] = [outputPool.take(size(x.shape)), outputPool.take(F), outputPool.take(F)];
      const y = relu ? ins(inputs, 'y')[0] : null;
      addon.bnTrainGrad(f32(b, x, 'x'), f32(b, dy, 'dy'), f32(b, mean, 'mean'), f32(b, variance, 'variance'),
        f32(b, gamma, 'gamma'), f32(b, dMean, 'dMean'), f32(b, dVariance, 'dVariance'),
        dx, dGamma, dBeta, p, eps, y ? f32(b, y, 'y') : null);
      return [out(b, x.shape, dx), out(b, [F], dGamma), out(b, [F], dBeta)];
    },
    [RELU_GRAD_KERNEL]: ({ inputs, backend }) => {
      const b = backend as Backend;
      const [dy, x] = ins(inputs, 'dy', 'x');
      const dx = outputPool.take(size(x.shape));
      addon.reluGrad(f32(b, dy, 'dy'), f32(b, x, 'x'), dx, dx.length);
      return out(b, x.shape, dx);
    },
    [MAX_GRAD_KERNEL]: ({ inputs, backend }) => {
      const b = backend as Backend;
      const [dy, x, y] = ins(inputs, 'dy', 'x', 'y');
      const rows = size(y.shape);
      const dx = outputPool.take(size(x.shape));
      addon.maxLastGrad(f32(b, dy, 'dy'), f32(b, x, 'x'), f32(b, y, 'y'), dx, rows, dx.length / rows);
      return out(b, x.shape, dx);
    },
  };
}

/** The number of trailing dims `axes` covers when they are exactly the last ones of a rank-`rank` tensor, else 0. */
function trailingAxes(axes: number[], rank: number): number {
  const s = [...new Set(axes)].sort((p, q) => p - q);
  return s.length > 0 && s.every((a, i) => a === rank - s.length + i) ? s.length : 0;
}

/**
 * Max over trailing axes natively (IEN's group pooling: the Λ orientation maps are the last axis); other axes, dtypes
 * and empty tensors run `cpuMax`.
 */
export function maxKernel(addon: FusedAddon, cpuMax: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const b = backend as Backend;
    const x = inputs.x;
    const { reductionIndices, keepDims } = attrs as unknown as tf.MaxAttrs;
    const values = x && x.dtype === 'float32' ? b.data.get(x.dataId).values : null;
    if (!x || !(values instanceof Float32Array) || x.shape.length === 0 || size(x.shape) === 0) return cpuMax(args);
    const axes = tf.util.parseAxisParam(reductionIndices, x.shape);
    const k = trailingAxes(axes, x.shape.length);
    if (k === 0) return cpuMax(args);
    const kept = x.shape.slice(0, x.shape.length - k);
    const inner = size(x.shape.slice(x.shape.length - k));
    const y = outputPool.take(size(kept));
    addon.maxLast(values, y, y.length, inner);
    return out(b, keepDims ? [...kept, ...new Array<number>(k).fill(1)] : kept, y);
  };
}

let gradientsWrapped = false;

/**
 * Gradients of the fused kernels, and one-pass gradients of Relu and Max (trailing axes) on `backendName`; tfjs-core's
 * own gradients everywhere else. Idempotent.
 */
export function registerFusedGradients(backendName: string): void {
  if (gradientsWrapped) return;
  gradientsWrapped = true;
  tf.registerGradient({
    kernelName: XCORR_KERNEL,
    inputsToSave: ['z', 'x'],
    gradFunc: (dy, saved) => {
      const [z, x] = saved;
      // Both gradients come from one kernel call, made here rather than inside the closures: the tape runs each
      // closure in its own tidy, which would dispose the other output before its closure runs.
      const [dz, dx] = runFused(XCORR_GRAD_KERNEL, { dy: dy as tf.Tensor, z, x });
      return { z: () => dz, x: () => dx };
    },
  });
  tf.registerGradient({
    kernelName: BN_TRAIN_KERNEL,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy, dMean, dVariance] = dys as tf.Tensor[];
      // BN_TRAIN_KERNEL always takes gamma and beta (tracker/batchnorm.ts): saved = [x, gamma, y, mean, variance].
      const [x, gamma, y, mean, variance] = saved;
      const relu = (attrs as unknown as BnAttrs).relu;
      // One kernel call for the three gradients, made here (see the xcorr gradient); y masks dy after a fused relu.
      const [dx, dGamma, dBeta] = runFused(BN_TRAIN_GRAD_KERNEL,
        { dy, x, mean, variance, gamma, dMean, dVariance, ...(relu ? { y } : {}) }, attrs);
      return { x: () => dx, gamma: () => dGamma, beta: () => dBeta };
    },
  });
  const stockRelu = tf.getGradient(tf.Relu);
  if (stockRelu) {
    tf.registerGradient({
      ...stockRelu,
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        if (tf.getBackend() !== backendName || Array.isArray(dy) || x.dtype !== 'float32' || dy.dtype !== 'float32') {
          return stockRelu.gradFunc(dy, saved, attrs);
        }
        return { x: () => runFused(RELU_GRAD_KERNEL, { dy, x })[0] };
      },
    });
  }
  const stockMax = tf.getGradient(tf.Max);
  if (stockMax) {
    tf.registerGradient({
      ...stockMax,
      gradFunc: (dy, saved, attrs) => {
        const [x, y] = saved;
        const axes = tf.util.parseAxisParam((attrs as unknown as tf.MaxAttrs).reductionIndices, x.shape);
        if (tf.getBackend() !== backendName || Array.isArray(dy) || x.dtype !== 'float32' || dy.dtype !== 'float32' || !y ||
          trailingAxes(axes, x.rank) === 0 || x.size === 0) {
          return stockMax.gradFunc(dy, saved, attrs);
        }
        return { x: () => runFused(MAX_GRAD_KERNEL, { dy, x, y })[0] };
      },
    });
  }
}
