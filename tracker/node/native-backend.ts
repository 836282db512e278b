/**
 * The `native-cpu` tfjs backend (Node only): tfjs's cpu backend with its heavy kernels replaced by the optional
 * rot-track-native add-on (tracker/native: N-API + the system BLAS, OpenBLAS on Linux).
 *
 * The backend class extends `MathBackendCPU`, so tensors live in JS TypedArrays exactly as on 'cpu'; the native
 * kernels read those arrays and write into a Float32Array that becomes the output through `backend.makeTensorInfo`
 * (no copies, and tf.memory() accounting stays the cpu backend's). Every cpu kernel is registered for 'native-cpu'
 * too; these are overridden (NHWC float32; anything else falls through to the cpu kernel):
 *   Conv2D, FusedConv2D, Conv2DBackpropInput, Conv2DBackpropFilter, BatchMatMul, _FusedMatMul,
 *   MaxPool, MaxPoolGrad, AvgPool, AvgPoolGrad; and the memory-bound kernels that dominate a training step once the
 *   convs are fast (BatchNorm with batch statistics, biases, relu and their gradients): Add, Sub, Multiply, RealDiv,
 *   SquaredDifference, Maximum, Minimum (broadcasting), Relu, Step, Neg, Square, Sqrt, Rsqrt, Exp, Log, Sigmoid,
 *   Elu, EluGrad, Abs, Sum and Mean (any axes; other than leading or trailing ones through a transpose), Tile, PadV2 (the gradient of slice), Transpose,
 *   GatherV2 (IEN's rotation gather) and its gradient UnsortedSegmentSum, Equal (the mask of max-reduction gradients,
 *   i.e. group pooling), Cast to float32 (see castKernel), non-contiguous Slice, SplitV, Unpack and Reverse (block
 *   copies: the C4/C8 filter expansion and heterogeneous groups), FusedBatchNorm — and BatchNorm's gradient (see registerNativeBatchNormGradient),
 *   Max over trailing axes (group pooling). Plus the fused training-step kernels of tracker/node/native-fused.ts
 *   (optimiser updates, batched xcorr, BatchNorm with batch statistics, Relu / Max gradients in one pass).
 * The cpu backend's UnsortedSegmentSum builds a tensor per segment (O(segments · size)): an IEN training step spent 44 s
 * in it and its garbage grew the process past 12 GB, which is why native-cpu once had to be opt-in.
 *
 * When the add-on was not built (it is an optional dependency), `registerNativeBackend()` returns `{ ok: false,
 * reason }` and registers nothing: callers fall back to wasm and say why.
 *
 * Threads: `ROT_TRACK_THREADS` (default: all cores) sizes the add-on's threads (its loops and the row blocks of every
 * large GEMM, run on its persistent worker pool, tracker/native/src/pool.h; OpenBLAS itself runs single-threaded, see
 * tracker/native/src/kernels.cc). Outputs: arrays from `outputPool` (tracker/node/buffer-pool.ts), reused once their
 * tensor is disposed.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { tf } from '../tf.js';
import {
  addonHasFused, fusedKernels, maxKernel, registerFusedGradients, sameShape, size, type FusedAddon,
} from './native-fused.js';
import { registerReduceGradients } from './native-reduce-grads.js';
import { setFrameKernels, type FrameKernels } from '../engine/frame-kernels.js';
import { outputPool } from './buffer-pool.js';
import { applyMallocPolicy } from './malloc-thresholds.js';
import { nativeEnvProblem } from './native-env.js';
import type { NativeNetAddon } from './native-net.js';
import { addonHasGroupConv, groupConvKernels, registerGroupConvGradient } from './native-group-conv.js';

/** The functions the add-on exports (tracker/native/src/kernels.cc, fused.cc). */
export interface NativeAddon extends FusedAddon {
  conv2d(x: Float32Array, w: Float32Array, y: Float32Array, p: Int32Array, bias: Float32Array | null, act: number, alpha: number): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, p: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, p: Int32Array): void;
  batchMatMul(a: Float32Array, b: Float32Array, c: Float32Array, p: Int32Array, bias: Float32Array | null, act: number, alpha: number): void;
  sgemm(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number): void;
  maxPool(x: Float32Array, y: Float32Array, p: Int32Array): void;
  avgPool(x: Float32Array, y: Float32Array, p: Int32Array): void;
  maxPoolGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, p: Int32Array): void;
  avgPoolGrad(dy: Float32Array, dx: Float32Array, p: Int32Array, multiplier: number): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, p: Int32Array): void;
  equal(a: Float32Array, b: Float32Array, out: Uint8Array, p: Int32Array): void;
  segmentSum(x: Float32Array, ids: Int32Array, out: Float32Array, inner: number): void;
  unary(op: number, x: Float32Array, y: Float32Array, n: number, alpha: number): void;
  reduceSum(x: Float32Array, out: Float32Array, outer: number, inner: number, reduceOuter: number, divisor: number): void;
  tile(x: Float32Array, out: Float32Array, p: Int32Array): void;
  pad(x: Float32Array, out: Float32Array, p: Int32Array, constant: number, fill: number): void;
  transpose(x: Float32Array, out: Float32Array, p: Int32Array): void;
  gather(x: Float32Array, indices: Int32Array, out: Float32Array, outer: number, axisDim: number, inner: number): void;
  batchNorm(x: Float32Array, mean: Float32Array, variance: Float32Array, offset: Float32Array | null, scale: Float32Array | null,
    out: Float32Array, n: number, eps: number): void;
  bnGradSums(x: Float32Array, dy: Float32Array, mean: Float32Array, sums: Float64Array, n: number, channels: number): void;
  setThreads(n: number): void;
  getThreads(): number;
  /** Per part of `jobs` pool jobs of `parts` parts, how often it ran on the calling thread (a probe for the pool's tests). */
  poolProbe?(parts: number, jobs: number): Int32Array;
  /** Present (and true) when conv params may carry a group count (tracker/node/native-group-conv.ts). */
  convGroups?(): boolean;
  /** Bounds one thread's im2col block (floats; default 16 Mi); tests shrink it to one row per block to cover the block loops. */
  setScratchLimit(floats: number): void;
  blasInfo(): string;
  /**
   * Which convs run oneDNN's primitives (1 forward, 2 input gradient, 4 filter gradient; −1 auto: all three
   * at every thread count since session 15; src/dnnl_conv.h). `convEngine()` is the mask in use at the current thread count.
   */
  setConvEngine?(mask: number): void;
  convEngine?(): number;
  /**
   * The oneDNN kernel one part of a conv runs on (forward 'f', input gradient 'd', filter gradient 'w') at the current
   * thread count and mask — e.g. "jit_wino_4x3:avx512_core" for a Winograd one —, or null when im2col runs it.
   */
  convImpl?(params: Int32Array, kind: 'f' | 'd' | 'w'): string | null;
  /** A tracked frame's crops and response upsampling (src/frame.cc; tracker/engine/frame-kernels.ts). */
  cropBytes?: FrameKernels['cropBytes'];
  upsampleMaps?: FrameKernels['upsampleMaps'];
  finishMap?: FrameKernels['finishMap'];
  /** SiamFC's cross-correlation head on NCHW features (src/xcorr.cc; `xcorr` is the training kernel of fused.cc). */
  headXcorr?: FrameKernels['xcorr'];
  /** A plain backbone as a oneDNN chain (src/net.cc; oneDNN builds only) — tracker/node/native-net.ts. */
  netCreate?: NativeNetAddon['netCreate'];
  netRun?: NativeNetAddon['netRun'];
  /** glibc's mmap and trim thresholds (tracker/node/malloc-thresholds.ts); false when not glibc. */
  mallocThresholds?(mmapBytes: number, trimBytes: number): boolean;
}

export type NativeRegistration = { ok: true; threads: number; blas: string; malloc: string } | { ok: false; reason: string };

/** Kernels that native-cpu implements natively (the rest are the cpu backend's). */
export const NATIVE_KERNELS: readonly string[] = [
  tf.Conv2D, tf.FusedConv2D, tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter, tf.BatchMatMul, tf._FusedMatMul,
  tf.MaxPool, tf.MaxPoolGrad, tf.AvgPool, tf.AvgPoolGrad,
  tf.Add, tf.Sub, tf.Multiply, tf.RealDiv, tf.SquaredDifference, tf.Maximum, tf.Minimum,
  tf.Relu, tf.Step, tf.Neg, tf.Square, tf.Sqrt, tf.Rsqrt, tf.Exp, tf.Log, tf.Sigmoid, tf.Elu, tf.Abs, tf.EluGrad,
  tf.Sum, tf.Mean, tf.Max, tf.Tile, tf.PadV2, tf.Transpose, tf.GatherV2, tf.FusedBatchNorm, tf.Equal, tf.UnsortedSegmentSum, tf.Cast, tf.Slice, tf.SplitV, tf.Unpack, tf.Reverse, tf.Concat,
];

export const NATIVE_BACKEND_NAME = 'native-cpu';

/** The built add-on; ROT_TRACK_NATIVE_ADDON names another build (A/B benchmarks of two builds in one session). */
const ADDON_PATH = process.env.ROT_TRACK_NATIVE_ADDON || fileURLToPath(new URL('../native/build/Release/rot_track_native.node', import.meta.url));

let addon: NativeAddon | null = null;
let loadError: string | null = null;

/**
 * OpenBLAS 0.3.21 (Debian 12) takes AVX-512 AMD cores (Zen 4) for Haswell and runs its AVX2 sgemm there; its SkylakeX
 * (AVX-512) kernels measured faster on such a core here (44 vs 28 GFLOP/s for a 1024³ sgemm, one noisy run on a loaded
 * machine). OPENBLAS_CORETYPE is read when the library loads, so it is set before the add-on is required — only when
 * the CPU reports the AVX-512 subsets those kernels use and the environment has not chosen a core type already.
 */
function chooseOpenBlasCore(): void {
  if (process.platform !== 'linux' || process.arch !== 'x64' || process.env.OPENBLAS_CORETYPE) return;
  try {
    const flags = new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
    if (['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f))) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
  } catch {
    // No /proc/cpuinfo: keep OpenBLAS's own choice.
  }
}

/** The loaded add-on, or null with the reason in `nativeLoadError()`. */
export function loadNativeAddon(): NativeAddon | null {
  if (addon || loadError) return addon;
  // a switch the C++ would read as its default without a word is the user's error, not a missing add-on: thrown
  const bad = nativeEnvProblem(process.env);
  if (bad) throw new Error(`native add-on: ${bad}`);
  if (!existsSync(ADDON_PATH)) {
    loadError = `the native add-on is not built (${ADDON_PATH} missing: 'npm install' builds it when a C++ toolchain and ` +
      `libopenblas-dev are present; 'node tracker/native/scripts/build.cjs' retries)`;
    return null;
  }
  // OpenMP (oneDNN's threads, used only by the backbone runner's wide chains, src/net.cc) reads OMP_WAIT_POLICY when
  // the add-on loads it: passive, unless the user set it, so that its idle workers sleep instead of spinning beside the
  // add-on's own threads (AlexNet 2-thread frame: crops 1.29–1.31 → 0.61–0.84 ms, locate 0.64–0.68 → 0.40–0.52 ms).
  // Set for the load only, so that child processes (a peer's PyTorch) keep their own default.
  const ompPolicy = process.env.OMP_WAIT_POLICY;
  if (ompPolicy === undefined) process.env.OMP_WAIT_POLICY = 'PASSIVE';
  try {
    chooseOpenBlasCore();
    addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
  } catch (err) {
    loadError = `the native add-on failed to load: ${(err as Error).message}`;
  } finally {
    if (ompPolicy === undefined) delete process.env.OMP_WAIT_POLICY;
  }
  return addon;
}

/** Why the add-on is unavailable (null when it loaded or was not tried yet). */
export function nativeLoadError(): string | null {
  return loadError;
}

/** Threads from ROT_TRACK_THREADS, else every core (loadNativeAddon has refused a bad value already, native-env.ts). */
export function defaultNativeThreads(): number {
  const env = Number.parseInt(process.env.ROT_TRACK_THREADS ?? '', 10);
  return Number.isFinite(env) && env >= 1 ? env : availableParallelism();
}

/** Sets the add-on's thread count (OpenBLAS and its own loops); returns the count in force. */
export function setNativeThreads(n: number): number {
  const a = loadNativeAddon();
  if (!a) throw new Error(`native-cpu: ${loadError}`);
  a.setThreads(Math.max(1, Math.floor(n)));
  return a.getThreads();
}

/**
 * The cpu backend with native heavy kernels. Kernel outputs come from `outputPool` (tracker/node/buffer-pool.ts): the
 * overrides below tell the pool when an array becomes a tensor's data, when that data is disposed, and when it
 * becomes visible outside the backend (then it is never reused).
 */
export class NativeCPUBackend extends MathBackendCPU {
  constructor() {
    super();
    // MathBackendCPU prints a "you are running in Node, install tfjs-node" banner on first use: not for this backend.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    const dataId = super.write(values, shape, dtype);
    outputPool.bind(values, dataId);
    return dataId;
  }

  override move(dataId: tf.DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    outputPool.escape(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    const values = super.readSync(dataId);
    outputPool.escape(values);
    return values;
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const disposed = super.disposeData(dataId, force);
    if (disposed && values !== undefined && !this.data.has(dataId)) outputPool.release(values, dataId);
    return disposed;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Kernels

type Backend = MathBackendCPU;
type Info = tf.TensorInfo;
type Attrs = tf.NamedAttrMap;
type Inputs = tf.NamedTensorInfoMap;

function cpuKernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`native-cpu: tfjs cpu kernel ${name} is not registered`);
  return k.kernelFunc;
}

/** Runs the cpu backend's kernel `name` on this backend (for cases the native code does not take). */
function viaCpu(name: string, inputs: Inputs, backend: Backend, attrs: Attrs = {}): Info {
  return cpuKernel(name)({ inputs, backend, attrs }) as Info;
}

function f32(backend: Backend, t: Info): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : null;
}

function need(inputs: Inputs, name: string): Info {
  const t = inputs[name];
  if (t == null) throw new Error(`native-cpu: missing input '${name}'`);
  return t;
}


function output(backend: Backend, shape: number[], values: Float32Array): Info {
  return backend.makeTensorInfo(shape, 'float32', values);
}

/** Activation codes of kernels.cc (others run through the cpu kernels after the native op). */
const ACT: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3 };

/** y ← act(y + bias) through the cpu kernels, disposing the intermediates (the non-native fused cases). */
function biasActViaCpu(backend: Backend, y: Info, bias: Info | undefined, activation: string, prelu: Info | undefined, alpha: number): Info {
  let out = y;
  if (bias) {
    const next = viaCpu(tf.Add, { a: out, b: bias }, backend);
    backend.disposeIntermediateTensorInfo(out);
    out = next;
  }
  let next: Info | null = null;
  switch (activation) {
    case 'linear':
      break;
    case 'relu': next = viaCpu(tf.Relu, { x: out }, backend); break;
    case 'relu6': next = viaCpu(tf.Relu6, { x: out }, backend); break;
    case 'elu': next = viaCpu(tf.Elu, { x: out }, backend); break;
    case 'sigmoid': next = viaCpu(tf.Sigmoid, { x: out }, backend); break;
    case 'leakyrelu': next = viaCpu(tf.LeakyRelu, { x: out }, backend, { alpha }); break;
    case 'prelu':
      if (!prelu) throw new Error('native-cpu: prelu activation without weights');
      next = viaCpu(tf.Prelu, { x: out, alpha: prelu }, backend);
      break;
    default:
      throw new Error(`native-cpu: unknown activation ${activation}`);
  }
  if (next) {
    backend.disposeIntermediateTensorInfo(out);
    out = next;
  }
  return out;
}

function convParams(ci: tf.backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    ci.batchSize, ci.inHeight, ci.inWidth, ci.inChannels, ci.outHeight, ci.outWidth, ci.outChannels,
    ci.filterHeight, ci.filterWidth, ci.strideHeight, ci.strideWidth, ci.dilationHeight, ci.dilationWidth,
    ci.padInfo.top, ci.padInfo.left,
  ]);
}

function convUsable(ci: tf.backend_util.Conv2DInfo): boolean {
  return ci.dataFormat === 'channelsLast' && ci.padInfo.top >= 0 && ci.padInfo.left >= 0;
}

function emptyShape(shape: number[]): boolean {
  return shape.some((d) => d === 0);
}

function conv2dInfo(x: Info, filterShape: number[], attrs: Attrs, dilations: number | [number, number]): tf.backend_util.Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as tf.Conv2DAttrs;
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape as [number, number, number, number], strides, dilations,
    pad, dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(dataFormat));
}

function runConv(backend: Backend, x: Info, filter: Info, attrs: Attrs, bias: Info | undefined, activation: string,
  prelu: Info | undefined, alpha: number, fallback: () => Info): Info {
  const { dilations } = attrs as unknown as tf.Conv2DAttrs;
  const ci = conv2dInfo(x, filter.shape, attrs, dilations);
  const xv = f32(backend, x);
  const wv = f32(backend, filter);
  if (!xv || !wv || !convUsable(ci) || filter.shape[2] !== ci.inChannels || emptyShape(ci.outShape) || emptyShape(x.shape)) {
    return fallback();
  }
  const nativeBias = bias && bias.shape[bias.shape.length - 1] === ci.outChannels && size(bias.shape) === ci.outChannels
    ? f32(backend, bias) : null;
  const act = ACT[activation];
  const fullyNative = (bias == null || nativeBias != null) && act != null;
  const y = outputPool.take(size(ci.outShape));
  addon!.conv2d(xv, wv, y, convParams(ci), fullyNative ? nativeBias : null, fullyNative ? act : 0, alpha);
  const out = output(backend, ci.outShape, y);
  return fullyNative ? out : biasActViaCpu(backend, out, bias, activation, prelu, alpha);
}

const conv2dKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = need(inputs, 'x');
  const filter = need(inputs, 'filter');
  const b = backend as Backend;
  return runConv(b, x, filter, attrs ?? {}, undefined, 'linear', undefined, 0, () => viaCpu(tf.Conv2D, inputs, b, attrs));
};

const fusedConv2dKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = need(inputs, 'x');
  const filter = need(inputs, 'filter');
  const { bias, preluActivationWeights } = inputs;
  const { activation, leakyreluAlpha } = attrs as unknown as tf.FusedConv2DAttrs;
  const b = backend as Backend;
  return runConv(b, x, filter, attrs ?? {}, bias, activation ?? 'linear', preluActivationWeights, leakyreluAlpha ?? 0.2,
    () => viaCpu(tf.FusedConv2D, inputs, b, attrs));
};

const conv2dBackpropInputKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = need(inputs, 'dy');
  const filter = need(inputs, 'filter');
  const { inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const b = backend as Backend;
  // As tfjs's kernels: the backprop kernels take no dilations.
  const ci = conv2dInfo({ shape: inputShape } as unknown as Info, filter.shape, attrs ?? {}, 1);
  const dyv = f32(b, dy);
  const wv = f32(b, filter);
  if (!dyv || !wv || !convUsable(ci) || emptyShape(ci.inShape) || emptyShape(ci.outShape) || !sameShape(dy.shape, ci.outShape)) {
    return viaCpu(tf.Conv2DBackpropInput, inputs, b, attrs);
  }
  const dx = outputPool.take(size(ci.inShape));
  addon!.conv2dBackpropInput(dyv, wv, dx, convParams(ci));
  return output(b, ci.inShape, dx);
};

const conv2dBackpropFilterKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = need(inputs, 'x');
  const dy = need(inputs, 'dy');
  const { filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const b = backend as Backend;
  const ci = conv2dInfo(x, filterShape, attrs ?? {}, 1);
  const xv = f32(b, x);
  const dyv = f32(b, dy);
  if (!xv || !dyv || !convUsable(ci) || emptyShape(ci.inShape) || emptyShape(ci.outShape) || emptyShape(filterShape) || !sameShape(dy.shape, ci.outShape)) {
    return viaCpu(tf.Conv2DBackpropFilter, inputs, b, attrs);
  }
  const dw = outputPool.take(size(filterShape));
  addon!.conv2dBackpropFilter(xv, dyv, dw, convParams(ci));
  return output(b, filterShape, dw);
};

function runMatMul(backend: Backend, a: Info, bm: Info, transposeA: boolean, transposeB: boolean, bias: Info | undefined,
  activation: string, prelu: Info | undefined, alpha: number, fallback: () => Info): Info {
  const av = f32(backend, a);
  const bv = f32(backend, bm);
  if (!av || !bv || a.shape.length < 2 || bm.shape.length < 2) return fallback();
  const ra = a.shape.length;
  const rb = bm.shape.length;
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const K2 = transposeB ? bm.shape[rb - 1] : bm.shape[rb - 2];
  const N = transposeB ? bm.shape[rb - 2] : bm.shape[rb - 1];
  if (K !== K2) return fallback(); // the cpu kernel throws tfjs's message
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(bm.shape.slice(0, -2));
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), bm.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  // Shapes the cpu kernel handles oddly (mixed broadcasting) or empty ones: keep its behaviour exactly.
  if (size(outer) !== batch || batchA === 0 || batchB === 0 || M === 0 || N === 0) return fallback();
  const nativeBias = bias && bias.shape[bias.shape.length - 1] === N && size(bias.shape) === N ? f32(backend, bias) : null;
  const act = ACT[activation];
  const fullyNative = (bias == null || nativeBias != null) && act != null;
  const c = outputPool.take(batch * M * N);
  addon!.batchMatMul(av, bv, c, Int32Array.from([batch, batchA, batchB, M, N, K, transposeA ? 1 : 0, transposeB ? 1 : 0]),
    fullyNative ? nativeBias : null, fullyNative ? act : 0, alpha);
  const out = output(backend, [...outer, M, N], c);
  return fullyNative ? out : biasActViaCpu(backend, out, bias, activation, prelu, alpha);
}

const batchMatMulKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = need(inputs, 'a');
  const b = need(inputs, 'b');
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  const be = backend as Backend;
  return runMatMul(be, a, b, !!transposeA, !!transposeB, undefined, 'linear', undefined, 0,
    () => viaCpu(tf.BatchMatMul, inputs, be, attrs));
};

const fusedMatMulKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = need(inputs, 'a');
  const b = need(inputs, 'b');
  const { bias, preluActivationWeights } = inputs;
  const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as unknown as tf._FusedMatMulAttrs;
  const be = backend as Backend;
  return runMatMul(be, a, b, !!transposeA, !!transposeB, bias, activation ?? 'linear', preluActivationWeights,
    leakyreluAlpha ?? 0.2, () => viaCpu(tf._FusedMatMul, inputs, be, attrs));
};

function poolParams(ci: tf.backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    ci.batchSize, ci.inHeight, ci.inWidth, ci.inChannels, ci.outHeight, ci.outWidth,
    ci.effectiveFilterHeight, ci.effectiveFilterWidth, ci.strideHeight, ci.strideWidth, ci.dilationHeight,
    ci.dilationWidth, ci.padInfo.top, ci.padInfo.left,
  ]);
}

function poolInfo(x: Info, attrs: Attrs, withRounding: boolean): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolAttrs;
  return tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad,
    withRounding ? dimRoundingMode : undefined);
}

function poolForward(kind: 'max' | 'avg'): tf.KernelFunc {
  const name = kind === 'max' ? tf.MaxPool : tf.AvgPool;
  return ({ inputs, backend, attrs }) => {
    const x = need(inputs, 'x');
    const b = backend as Backend;
    const xv = f32(b, x);
    const ci = poolInfo(x, attrs ?? {}, true);
    if (!xv || x.shape.length !== 4 || emptyShape(x.shape) || emptyShape(ci.outShape) || ci.padInfo.top < 0 || ci.padInfo.left < 0) {
      return viaCpu(name, inputs, b, attrs);
    }
    const y = outputPool.take(size(ci.outShape));
    if (kind === 'max') addon!.maxPool(xv, y, poolParams(ci));
    else addon!.avgPool(xv, y, poolParams(ci));
    return output(b, ci.outShape, y);
  };
}

const maxPoolGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = need(inputs, 'dy');
  const input = need(inputs, 'input');
  const b = backend as Backend;
  const xv = f32(b, input);
  const dyv = f32(b, dy);
  const ci = poolInfo(input, attrs ?? {}, true);
  if (!xv || !dyv || emptyShape(input.shape) || emptyShape(ci.outShape) || ci.padInfo.top < 0 || ci.padInfo.left < 0) {
    return viaCpu(tf.MaxPoolGrad, inputs, b, attrs);
  }
  const dx = outputPool.take(size(input.shape));
  addon!.maxPoolGrad(dyv, xv, dx, poolParams(ci));
  return output(b, input.shape, dx);
};

const avgPoolGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = need(inputs, 'dy');
  const input = need(inputs, 'input');
  const b = backend as Backend;
  const dyv = f32(b, dy);
  // As tfjs's cpu kernel: no dimRoundingMode here, and 1 / (filterHeight · filterWidth) whatever the padding.
  const ci = poolInfo(input, attrs ?? {}, false);
  if (!dyv || input.dtype !== 'float32' || emptyShape(input.shape) || emptyShape(ci.outShape) || ci.padInfo.top < 0 || ci.padInfo.left < 0) {
    return viaCpu(tf.AvgPoolGrad, inputs, b, attrs);
  }
  const dx = outputPool.take(size(input.shape));
  addon!.avgPoolGrad(dyv, dx, poolParams(ci), 1 / (ci.filterHeight * ci.filterWidth));
  return output(b, input.shape, dx);
};

// Element-wise, reductions, Tile, BatchNorm (float32; other dtypes and layouts run the cpu kernels).

const BINARY: Record<string, number> = {
  [tf.Add]: 0, [tf.Sub]: 1, [tf.Multiply]: 2, [tf.RealDiv]: 3, [tf.SquaredDifference]: 4, [tf.Maximum]: 5, [tf.Minimum]: 6,
};

/**
 * [rank, outShape, aStrides, bStrides] for a broadcasting binary op, with size-1 output dims dropped and adjacent dims
 * merged where both inputs stay contiguous (or both broadcast) across them.
 */
export function broadcastParams(aShape: number[], bShape: number[]): { outShape: number[]; params: Int32Array } {
  const outShape = tf.backend_util.assertAndGetBroadcastShape(aShape, bShape);
  const r = outShape.length;
  const pad = (s: number[]) => [...new Array(r - s.length).fill(1), ...s];
  const strides = (s: number[]) => {
    const st = new Array<number>(r);
    let acc = 1;
    for (let d = r - 1; d >= 0; d--) {
      st[d] = s[d] === 1 && outShape[d] !== 1 ? 0 : acc;
      acc *= s[d];
    }
    return st;
  };
  const ap = pad(aShape);
  const bp = pad(bShape);
  const as = strides(ap);
  const bs = strides(bp);
  const dims: { n: number; a: number; b: number }[] = [];
  for (let d = 0; d < r; d++) {
    if (outShape[d] === 1) continue;
    const cur = { n: outShape[d], a: as[d], b: bs[d] };
    const prev = dims[dims.length - 1];
    if (prev && prev.a === cur.a * cur.n && prev.b === cur.b * cur.n) {
      prev.n *= cur.n;
      prev.a = cur.a;
      prev.b = cur.b;
    } else {
      dims.push(cur);
    }
  }
  if (dims.length === 0) dims.push({ n: 1, a: 0, b: 0 });
  const params = Int32Array.from([dims.length, ...dims.map((d) => d.n), ...dims.map((d) => d.a), ...dims.map((d) => d.b)]);
  return { outShape, params };
}

function binaryKernel(name: string): tf.KernelFunc {
  const op = BINARY[name];
  return ({ inputs, backend, attrs }) => {
    const b = backend as Backend;
    const x = need(inputs, 'a');
    const y = need(inputs, 'b');
    const xv = f32(b, x);
    const yv = f32(b, y);
    if (!xv || !yv || x.shape.some((d) => d === 0) || y.shape.some((d) => d === 0)) return viaCpu(name, inputs, b, attrs);
    const { outShape, params } = broadcastParams(x.shape, y.shape);
    const out = outputPool.take(size(outShape));
    addon!.binary(op, xv, yv, out, params);
    return output(b, outShape, out);
  };
}

const UNARY: Record<string, number> = {
  [tf.Relu]: 0, [tf.Step]: 1, [tf.Neg]: 2, [tf.Square]: 3, [tf.Sqrt]: 4, [tf.Rsqrt]: 5, [tf.Exp]: 6, [tf.Log]: 7,
  [tf.Sigmoid]: 8, [tf.Elu]: 9, [tf.Abs]: 10,
};

function unaryKernel(name: string): tf.KernelFunc {
  const op = UNARY[name];
  return ({ inputs, backend, attrs }) => {
    const b = backend as Backend;
    const x = need(inputs, 'x');
    const xv = f32(b, x);
    if (!xv) return viaCpu(name, inputs, b, attrs);
    const n = size(x.shape);
    const out = outputPool.take(n);
    const alpha = name === tf.Step ? Number((attrs as unknown as tf.StepAttrs).alpha ?? 0) : 0;
    addon!.unary(op, xv, out, n, alpha);
    return output(b, x.shape, out);
  };
}

function reduceKernel(name: string): tf.KernelFunc {
  const mean = name === tf.Mean;
  return ({ inputs, backend, attrs }) => {
    const b = backend as Backend;
    const x = need(inputs, 'x');
    const xv = f32(b, x);
    const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
    const r = x.shape.length;
    if (!xv || r === 0 || x.shape.some((d) => d === 0)) return viaCpu(name, inputs, b, attrs);
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
    const k = axes.length;
    const prefix = k > 0 && axes.every((a, i) => a === i);
    const suffix = k > 0 && axes.every((a, i) => a === r - k + i);
    const [outShape, reduceShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    const reduceSize = size(reduceShape);
    const outSize = size(outShape);
    const out = outputPool.take(outSize);
    if (!prefix && !suffix) {
      // Other axes (BatchNorm over orientation fields: [0, 1, 2, 4]): move the reduced axes last, then reduce rows.
      const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
      const perm = [...kept, ...axes];
      const moved = outputPool.take(xv.length);
      addon!.transpose(xv, moved, Int32Array.from([r, ...x.shape, ...perm]));
      addon!.reduceSum(moved, out, outSize, reduceSize, 0, mean ? reduceSize : 0);
      outputPool.giveBack(moved);
    } else if (suffix) {
      // Suffix (or all axes): rows of reduceSize; prefix: columns.
      addon!.reduceSum(xv, out, outSize, reduceSize, 0, mean ? reduceSize : 0);
    } else {
      addon!.reduceSum(xv, out, reduceSize, outSize, 1, mean ? reduceSize : 0);
    }
    const shape = keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    return output(b, shape, out);
  };
}

const tileKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const x = need(inputs, 'x');
  const { reps } = attrs as unknown as tf.TileAttrs;
  const xv = f32(b, x);
  if (!xv || x.shape.length === 0 || reps.length !== x.shape.length || x.shape.some((d) => d === 0) || reps.some((d) => d < 1)) {
    return viaCpu(tf.Tile, inputs, b, attrs);
  }
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = outputPool.take(size(outShape));
  addon!.tile(xv, out, Int32Array.from([x.shape.length, ...x.shape, ...reps]));
  return output(b, outShape, out);
};

const padKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const x = need(inputs, 'x');
  const { paddings, constantValue } = attrs as unknown as tf.PadV2Attrs;
  const xv = f32(b, x);
  if (!xv || x.shape.length === 0 || paddings.length !== x.shape.length || x.shape.some((d) => d === 0) ||
    paddings.some(([p, q]) => p < 0 || q < 0)) {
    return viaCpu(tf.PadV2, inputs, b, attrs);
  }
  const outShape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
  const c = Number(constantValue ?? 0);
  // pooled outputs hold stale values: the add-on always fills the border (its fill flag, last argument)
  const out = outputPool.take(size(outShape));
  addon!.pad(xv, out, Int32Array.from([x.shape.length, ...x.shape, ...paddings.map((p) => p[0]), ...paddings.map((p) => p[1])]), c, 1);
  return output(b, outShape, out);
};

const eluGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const dy = need(inputs, 'dy');
  const y = need(inputs, 'y');
  const dyv = f32(b, dy);
  const yv = f32(b, y);
  if (!dyv || !yv || !sameShape(dy.shape, y.shape) || size(y.shape) === 0) return viaCpu(tf.EluGrad, inputs, b, attrs);
  const out = outputPool.take(size(y.shape));
  addon!.binary(7, dyv, yv, out, Int32Array.from([1, out.length, 1, 1]));
  return output(b, y.shape, out);
};

const transposeKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const x = need(inputs, 'x');
  const { perm } = attrs as unknown as tf.TransposeAttrs;
  const xv = f32(b, x);
  if (!xv || x.shape.length === 0 || perm.length !== x.shape.length || size(x.shape) === 0) return viaCpu(tf.Transpose, inputs, b, attrs);
  const outShape = perm.map((p) => x.shape[p]);
  const out = outputPool.take(size(outShape));
  addon!.transpose(xv, out, Int32Array.from([x.shape.length, ...x.shape, ...perm]));
  return output(b, outShape, out);
};

const gatherKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const x = need(inputs, 'x');
  const indices = need(inputs, 'indices');
  const { axis, batchDims } = attrs as unknown as tf.GatherV2Attrs;
  const xv = f32(b, x);
  const iv = indices.dtype === 'int32' ? b.data.get(indices.dataId).values : null;
  if (!xv || !(iv instanceof Int32Array) || (batchDims ?? 0) !== 0 || x.shape.length === 0 || size(x.shape) === 0 || iv.length === 0) {
    return viaCpu(tf.GatherV2, inputs, b, attrs);
  }
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const axisDim = x.shape[ax];
  // Out-of-range indices: the cpu kernel throws its own message.
  if (iv.some((i) => i < 0 || i >= axisDim)) return viaCpu(tf.GatherV2, inputs, b, attrs);
  const outShape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
  const out = outputPool.take(size(outShape));
  addon!.gather(xv, iv, out, size(x.shape.slice(0, ax)), axisDim, size(x.shape.slice(ax + 1)));
  return output(b, outShape, out);
};

/**
 * Cast to float32 with real Float32Array storage. The cpu kernel keeps a bool tensor's Uint8Array as the storage of
 * the float32 result, which every native kernel then refuses (the max gradient's mask fell back to the cpu Multiply,
 * 60× slower). Other casts are the cpu kernel's.
 */
const castKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const x = need(inputs, 'x');
  const { dtype } = attrs as unknown as tf.CastAttrs;
  const values = dtype === 'float32' && (x.dtype === 'bool' || x.dtype === 'int32') ? b.data.get(x.dataId).values : null;
  if (!(values instanceof Uint8Array || values instanceof Int32Array)) return viaCpu(tf.Cast, inputs, b, attrs);
  return output(b, x.shape, Float32Array.from(values));
};

/**
 * A strided block copy for Slice: the cpu kernel walks a non-contiguous slice (a channel range of NHWC, which IEN's
 * heterogeneous group pooling and the gradient of its concat do) element by element through index arithmetic, 2.8 s
 * of a 3.2 s het-siamfc step. Here: runs of the contiguous inner block copied with `set`, outer indices by odometer.
 */
function sliceInto(xv: Float32Array, shape: number[], begin: number[], sizes: number[]): Float32Array {
  const r = shape.length;
  const out = outputPool.take(size(sizes));
  if (out.length === 0) return out;
  // Trailing dims taken whole merge into the copied run, plus the first partial one from the end.
  let k = r - 1;
  let run = 1;
  while (k >= 0 && sizes[k] === shape[k]) run *= shape[k--];
  if (k < 0) {
    out.set(xv.subarray(0, run));
    return out;
  }
  const strides = new Array<number>(r);
  let acc = 1;
  for (let d = r - 1; d >= 0; d--) {
    strides[d] = acc;
    acc *= shape[d];
  }
  run *= sizes[k];
  const outer = sizes.slice(0, k);
  const idx = new Array<number>(k).fill(0);
  let base = 0;
  for (let d = 0; d <= k; d++) base += begin[d] * strides[d];
  let src = base;
  for (let o = 0; o < out.length; o += run) {
    out.set(xv.subarray(src, src + run), o);
    let d = k - 1;
    while (d >= 0) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < outer[d]) break;
      src -= idx[d] * strides[d];
      idx[d] = 0;
      d--;
    }
  }
  return out;
}

const sliceKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const x = need(inputs, 'x');
  const { begin, size: sz } = attrs as unknown as tf.SliceAttrs;
  const xv = f32(b, x);
  if (!xv || x.shape.length === 0) return viaCpu(tf.Slice, inputs, b, attrs);
  const [begin_, size_] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, sz);
  // Contiguous slices: the cpu kernel shares the buffer without copying.
  if (tf.slice_util.isSliceContinous(x.shape, begin_, size_)) return viaCpu(tf.Slice, inputs, b, attrs);
  tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, begin_, size_);
  return output(b, size_, sliceInto(xv, x.shape, begin_, size_));
};

/** Unpack (unstack) through the block copy: one slice per index of the axis. */
const unpackKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const x = need(inputs, 'value');
  const { axis } = attrs as unknown as tf.UnpackAttrs;
  const xv = f32(b, x);
  if (!xv || x.shape.length === 0) return viaCpu(tf.Unpack, inputs, b, attrs);
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const outShape = x.shape.filter((_, d) => d !== ax);
  const begin = new Array<number>(x.shape.length).fill(0);
  const sizes = x.shape.slice();
  sizes[ax] = 1;
  return Array.from({ length: x.shape[ax] }, (_, i) => {
    begin[ax] = i;
    return output(b, outShape, sliceInto(xv, x.shape, begin, sizes));
  }) as unknown as Info;
};

/** Reverse (the C4 filter rotations) by rows: source rows found by odometer, the last axis copied or mirrored. */
const reverseKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const x = need(inputs, 'x');
  const { dims } = attrs as unknown as tf.ReverseAttrs;
  const xv = f32(b, x);
  const r = x.shape.length;
  if (!xv || r === 0 || size(x.shape) === 0) return viaCpu(tf.Reverse, inputs, b, attrs);
  const rev = new Set(tf.util.parseAxisParam(dims, x.shape));
  const inner = x.shape[r - 1];
  const out = outputPool.take(xv.length);
  const strides = new Array<number>(r);
  let acc = 1;
  for (let d = r - 1; d >= 0; d--) {
    strides[d] = acc;
    acc *= x.shape[d];
  }
  const idx = new Array<number>(r - 1).fill(0);
  const mirrorLast = rev.has(r - 1);
  for (let o = 0; o < out.length; o += inner) {
    let src = 0;
    for (let d = 0; d < r - 1; d++) src += (rev.has(d) ? x.shape[d] - 1 - idx[d] : idx[d]) * strides[d];
    if (mirrorLast) for (let j = 0; j < inner; j++) out[o + j] = xv[src + inner - 1 - j];
    else out.set(xv.subarray(src, src + inner), o);
    for (let d = r - 2; d >= 0; d--) {
      if (++idx[d] < x.shape[d]) break;
      idx[d] = 0;
    }
  }
  return output(b, x.shape, out);
};

/** SplitV (the gradient of concat) through the same block copy (the cpu kernel slices element by element). */
const splitVKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const x = need(inputs, 'x');
  const { numOrSizeSplits, axis } = attrs as unknown as tf.SplitVAttrs;
  const xv = f32(b, x);
  if (!xv || x.shape.length === 0) return viaCpu(tf.SplitV, inputs, b, attrs);
  const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
  const splits = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, $axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  const sizes = x.shape.slice();
  return splits.map((s) => {
    sizes[$axis] = s;
    const out = output(b, sizes.slice(), sliceInto(xv, x.shape, begin, sizes));
    begin[$axis] += s;
    return out;
  }) as unknown as Info;
};

/**
 * Concat of float32 tensors into a pooled output, a row block of each input per outer index (the cpu kernel fills a
 * fresh array: for IEN's [x; rotated x] input batches 2.8 MB of new pages a step). Empty inputs are skipped.
 */
const concatKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const all = Object.values(inputs) as tf.TensorInfo[];
  const xs = all.filter((x) => size(x.shape) > 0);
  const vals = xs.map((x) => f32(b, x));
  if (xs.length < 2 || xs.some((x) => x.shape.length === 0) || vals.some((v) => !v)) return viaCpu(tf.Concat, inputs, b, attrs);
  const ax = tf.util.parseAxisParam((attrs as unknown as tf.ConcatAttrs).axis, xs[0].shape)[0];
  const outShape = tf.backend_util.computeOutShape(all.map((x) => x.shape), ax);
  const outer = size(outShape.slice(0, ax));
  const inners = xs.map((x) => size(x.shape.slice(ax)));
  const row = inners.reduce((p, q) => p + q, 0);
  const out = outputPool.take(outer * row);
  for (let i = 0, at = 0; i < xs.length; at += inners[i], i++) {
    const v = vals[i]!;
    const n = inners[i];
    if (n >= 64 || outer === 1) {
      for (let o = 0; o < outer; o++) out.set(v.subarray(o * n, (o + 1) * n), o * row + at);
    } else {
      for (let o = 0; o < outer; o++) for (let j = 0, src = o * n, dst = o * row + at; j < n; j++) out[dst + j] = v[src + j];
    }
  }
  return output(b, outShape, out);
};

const equalKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const x = need(inputs, 'a');
  const y = need(inputs, 'b');
  const xv = f32(b, x);
  const yv = f32(b, y);
  if (!xv || !yv || x.shape.some((d) => d === 0) || y.shape.some((d) => d === 0)) return viaCpu(tf.Equal, inputs, b, attrs);
  const { outShape, params } = broadcastParams(x.shape, y.shape);
  const out = new Uint8Array(size(outShape));
  addon!.equal(xv, yv, out, params);
  return b.makeTensorInfo(outShape, 'bool', out);
};

const unsortedSegmentSumKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const x = need(inputs, 'x');
  const segmentIds = need(inputs, 'segmentIds');
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const xv = f32(b, x);
  const ids = segmentIds.dtype === 'int32' ? b.data.get(segmentIds.dataId).values : null;
  const idRank = segmentIds.shape.length;
  const innerShape = x.shape.slice(idRank);
  const inner = size(innerShape);
  if (!xv || !(ids instanceof Int32Array) || idRank === 0 || !sameShape(x.shape.slice(0, idRank), segmentIds.shape) ||
    inner === 0 || ids.length === 0 || numSegments < 1) {
    return viaCpu(tf.UnsortedSegmentSum, inputs, b, attrs);
  }
  const out = outputPool.take(numSegments * inner);
  addon!.segmentSum(xv, ids, out, inner);
  return output(b, [numSegments, ...innerShape], out);
};

const batchNormKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const x = need(inputs, 'x');
  const { scale, offset } = inputs;
  const mean = need(inputs, 'mean');
  const variance = need(inputs, 'variance');
  const xv = f32(b, x);
  const mv = f32(b, mean);
  const vv = f32(b, variance);
  const sv = scale ? f32(b, scale) : null;
  const ov = offset ? f32(b, offset) : null;
  const ranksOk = mean.shape.length === variance.shape.length && (offset == null || offset.shape.length === mean.shape.length) &&
    (scale == null || scale.shape.length === mean.shape.length);
  if (!xv || !mv || !vv || (scale && !sv) || (offset && !ov) || !ranksOk || size(x.shape) === 0 || mv.length === 0 ||
    vv.length === 0 || (sv && sv.length === 0) || (ov && ov.length === 0)) {
    return viaCpu(tf.FusedBatchNorm, inputs, b, attrs);
  }
  const eps = (attrs as unknown as tf.FusedBatchNormAttrs).varianceEpsilon ?? 0.001;
  const out = outputPool.take(size(x.shape));
  // The kernel indexes parameters by element modulo their length, as tfjs's does: pass exact-length views.
  const view = (t: Info, v: Float32Array) => v.subarray(0, size(t.shape));
  addon!.batchNorm(xv, view(mean, mv), view(variance, vv), offset && ov ? view(offset, ov) : null, scale && sv ? view(scale, sv) : null,
    out, out.length, eps);
  return output(b, x.shape, out);
};

const nativeKernels: Record<string, tf.KernelFunc> = {
  [tf.Conv2D]: conv2dKernel,
  [tf.FusedConv2D]: fusedConv2dKernel,
  [tf.Conv2DBackpropInput]: conv2dBackpropInputKernel,
  [tf.Conv2DBackpropFilter]: conv2dBackpropFilterKernel,
  [tf.BatchMatMul]: batchMatMulKernel,
  [tf._FusedMatMul]: fusedMatMulKernel,
  [tf.MaxPool]: poolForward('max'),
  [tf.AvgPool]: poolForward('avg'),
  [tf.MaxPoolGrad]: maxPoolGradKernel,
  [tf.AvgPoolGrad]: avgPoolGradKernel,
  ...Object.fromEntries(Object.keys(BINARY).map((k) => [k, binaryKernel(k)])),
  ...Object.fromEntries(Object.keys(UNARY).map((k) => [k, unaryKernel(k)])),
  [tf.Sum]: reduceKernel(tf.Sum),
  [tf.Mean]: reduceKernel(tf.Mean),
  [tf.Tile]: tileKernel,
  [tf.PadV2]: padKernel,
  [tf.EluGrad]: eluGradKernel,
  [tf.Transpose]: transposeKernel,
  [tf.GatherV2]: gatherKernel,
  [tf.FusedBatchNorm]: batchNormKernel,
  [tf.Equal]: equalKernel,
  [tf.Cast]: castKernel,
  [tf.Slice]: sliceKernel,
  [tf.SplitV]: splitVKernel,
  [tf.Concat]: concatKernel,
  [tf.Unpack]: unpackKernel,
  [tf.Reverse]: reverseKernel,
  [tf.UnsortedSegmentSum]: unsortedSegmentSumKernel,
};

let batchNormGradientWrapped = false;

/**
 * BatchNorm's gradient on native-cpu in two passes instead of tfjs-core's ~12 full-size element-wise ops and 4
 * reductions: dx = dy · scale / sqrt(var + eps) (one broadcast multiply) and, per channel, Σdy and Σdy·(x − mean) (one
 * pass, double precision), from which d mean, d variance, d scale and d offset follow. The gradient registry is global:
 * on any other backend, or for shapes other than per-channel parameters over the last axis, tfjs-core's gradient runs.
 */
function registerNativeBatchNormGradient(): void {
  if (batchNormGradientWrapped) return;
  const stock = tf.getGradient(tf.FusedBatchNorm);
  if (!stock) return;
  batchNormGradientWrapped = true;
  tf.registerGradient({
    ...stock,
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved as (tf.Tensor | undefined)[];
      const eps = (attrs as unknown as tf.FusedBatchNormAttrs).varianceEpsilon;
      const backend = tf.backend() as Backend;
      if (tf.getBackend() !== NATIVE_BACKEND_NAME || !addon || Array.isArray(dy) || !x || !mean || !variance || eps == null ||
        x.rank < 1) {
        return stock.gradFunc(dy, saved, attrs);
      }
      const C = x.shape[x.rank - 1];
      const xv = f32(backend, x);
      const dyv = f32(backend, dy);
      const mv = f32(backend, mean);
      const vv = f32(backend, variance);
      const sv = scale ? f32(backend, scale) : null;
      if (!xv || !dyv || !mv || !vv || (scale && !sv) || mean.rank !== 1 || variance.rank !== 1 || mean.size !== C ||
        variance.size !== C || (scale && (scale.rank !== 1 || scale.size !== C)) || x.size === 0 || !sameShape(dy.shape, x.shape)) {
        return stock.gradFunc(dy, saved, attrs);
      }
      // r = 1 / sqrt(variance + eps), k = scale · r (per channel).
      const r = new Float64Array(C);
      for (let c = 0; c < C; c++) r[c] = 1 / Math.sqrt(Math.fround(vv[c] + eps));
      const sc = (c: number) => (sv ? sv[c] : 1);
      let sums: Float64Array | null = null;
      const getSums = (): Float64Array => {
        if (!sums) {
          sums = new Float64Array(2 * C);
          addon!.bnGradSums(xv, dyv, mv, sums, x.size, C);
        }
        return sums;
      };
      const perChannel = (f: (c: number, s: Float64Array) => number) => () => {
        const s = getSums();
        return tf.tensor1d(Float32Array.from({ length: C }, (_, c) => f(c, s)), 'float32');
      };
      return {
        x: () => {
          const k = Float32Array.from({ length: C }, (_, c) => sc(c) * r[c]);
          const out = outputPool.take(x.size);
          addon!.binary(BINARY[tf.Multiply], dyv, k, out, broadcastParams(x.shape, [C]).params);
          return tf.tensor(out, x.shape, 'float32');
        },
        mean: perChannel((c, s) => -r[c] * sc(c) * s[c]),
        variance: perChannel((c, s) => -0.5 * r[c] * r[c] * r[c] * sc(c) * s[C + c]),
        scale: perChannel((c, s) => r[c] * s[C + c]),
        offset: perChannel((c, s) => s[c]),
      };
    },
  });
}

let registration: NativeRegistration | null = null;

/**
 * Loads the add-on and registers the 'native-cpu' backend (priority -1: never chosen implicitly; select it with
 * `tf.setBackend('native-cpu')`). Every kernel registered for 'cpu' is registered for 'native-cpu', the heavy ones
 * replaced by native versions. Idempotent; a later call also copies cpu kernels registered since.
 * `threads` (default ROT_TRACK_THREADS, else all cores) sizes the native thread pools.
 */
export function registerNativeBackend(options: { threads?: number } = {}): NativeRegistration {
  if (registration && !registration.ok) return registration;
  const a = loadNativeAddon();
  if (!a) {
    registration = { ok: false, reason: loadError ?? 'the native add-on is unavailable' };
    return registration;
  }
  if (!registration || options.threads != null) a.setThreads(Math.max(1, Math.floor(options.threads ?? defaultNativeThreads())));
  if (tf.findBackendFactory(NATIVE_BACKEND_NAME) == null) {
    tf.registerBackend(NATIVE_BACKEND_NAME, () => new NativeCPUBackend(), -1);
  }
  // An add-on built before fused.cc existed (not rebuilt since) lacks these: keep the op chains then.
  const fused = addonHasFused(a);
  const own: Record<string, tf.KernelFunc> = fused ? { ...nativeKernels, [tf.Max]: maxKernel(a, cpuKernel(tf.Max)) } : nativeKernels;
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (tf.getKernel(config.kernelName, NATIVE_BACKEND_NAME) != null) continue;
    const kernelFunc = own[config.kernelName] ?? config.kernelFunc;
    tf.registerKernel({ ...config, backendName: NATIVE_BACKEND_NAME, kernelFunc });
  }
  // The fused training-step kernels (tracker/fused-kernels.ts names) and the grouped conv, which only native-cpu has.
  const grouped = addonHasGroupConv(a);
  for (const [kernelName, kernelFunc] of Object.entries({ ...(fused ? fusedKernels(a) : {}), ...(grouped ? groupConvKernels(a) : {}) })) {
    if (tf.getKernel(kernelName, NATIVE_BACKEND_NAME) == null) tf.registerKernel({ kernelName, backendName: NATIVE_BACKEND_NAME, kernelFunc });
  }
  registerNativeBatchNormGradient();
  registerReduceGradients(NATIVE_BACKEND_NAME);
  if (fused) registerFusedGradients(NATIVE_BACKEND_NAME);
  if (grouped) registerGroupConvGradient();
  // the tracker's per-frame crops, upsampling and peak search (every engine's SiamFCCore) and the onnx engine's
  // cross-correlation head; ROT_TRACK_FRAME_NATIVE=0 keeps the JS (and the head inside onnxruntime)
  const { cropBytes, upsampleMaps, finishMap, headXcorr } = a;
  if (cropBytes && upsampleMaps && finishMap && headXcorr && process.env.ROT_TRACK_FRAME_NATIVE !== '0') {
    setFrameKernels({ cropBytes, upsampleMaps, finishMap, xcorr: headXcorr });
  }
  // once per process (a later call re-registers kernels only)
  const malloc = registration?.ok ? registration.malloc : applyMallocPolicy(a.mallocThresholds?.bind(a));
  registration = { ok: true, threads: a.getThreads(), blas: a.blasInfo(), malloc };
  return registration;
}
