/**
 * Shared plumbing for the kernels in this folder: they run on the tfjs wasm backend and are built by calling other
 * wasm kernel functions directly (`{inputs, backend, attrs}`), as tfjs-backend-wasm's own kernels do, plus a few
 * memory moves written in TypeScript straight on the wasm heap.
 *
 * Browser-safe: no node imports.
 */
import { tf } from '../tf.js';

/** The tfjs kernel-level tensor handle: data id + shape + dtype, no engine bookkeeping. */
export type TensorInfo = tf.TensorInfo;

/** The part of tfjs-backend-wasm's `BackendWasm` that these kernels use. */
export interface WasmBackendLike {
  /** Allocates an output on the wasm heap (uninitialised memory). */
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  /** A view of a tensor's bytes on the wasm heap; invalidated when the heap grows (so take it after allocating). */
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  /** Drops one reference; frees the memory at zero. */
  disposeData(dataId: object, force?: boolean): boolean;
}

/** The wasm kernel function registered under `name` now (a Map lookup; not cached, so later overrides apply). */
function wasmKernel(name: string): tf.KernelFunc {
  const config = tf.getKernel(name, 'wasm');
  if (config == null) throw new Error(`wasm training kernels need the wasm kernel '${name}', which is not registered`);
  return config.kernelFunc;
}

/**
 * Runs kernels on the wasm backend and frees every intermediate they made, except the one handed back with
 * `result()`. Use one per kernel invocation inside try/finally.
 */
export class Scratch {
  private readonly temps: TensorInfo[] = [];
  constructor(readonly backend: WasmBackendLike) {}

  /** Runs the stock wasm kernel `name`; its output is freed by `dispose()` unless passed to `result()`. */
  run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): TensorInfo {
    const out = wasmKernel(name)({ inputs, backend: this.backend, attrs }) as TensorInfo;
    this.temps.push(out);
    return out;
  }

  /** Registers a tensor made outside `run` (e.g. by `makeOutput`) for freeing. */
  track(info: TensorInfo): TensorInfo {
    this.temps.push(info);
    return info;
  }

  /** A view of `shape` on the same data (costs nothing; it is another reference, freed like the rest). */
  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /**
   * Transposes `x` by `perm`; when the permutation only moves size-1 axes (e.g. batch 1) the data order does not
   * change and this is a free reshape instead of the stock kernel's copy.
   */
  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    const kept = perm.filter((p) => x.shape[p] !== 1);
    const ordered = kept.every((p, i) => i === 0 || kept[i - 1] < p);
    if (ordered) return this.reshape(x, perm.map((p) => x.shape[p]));
    return this.run('Transpose', { x }, { perm });
  }

  /** Marks `info` as the kernel's output: it is not freed by `dispose()`. */
  result(info: TensorInfo): TensorInfo {
    const i = this.temps.lastIndexOf(info);
    if (i >= 0) this.temps.splice(i, 1);
    return info;
  }

  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}

/** Runs `body` with a fresh Scratch and frees its intermediates whatever happens. */
export function withScratch(backend: unknown, body: (s: Scratch) => TensorInfo): TensorInfo {
  const s = new Scratch(backend as WasmBackendLike);
  try {
    return s.result(body(s));
  } finally {
    s.dispose();
  }
}

/**
 * Writes NHWC `x` [B, H, W, C] into a new zero tensor [B, outH, outW, C] so that x[b, i, j] lands at
 * (top + i·strideH, left + j·strideW); whatever falls outside is dropped. With strides 1 this pads and/or crops;
 * with strides > 1 it also inserts stride − 1 zeros between pixels (the "dilated output gradient" of a strided conv).
 * One pass over the heap, no intermediate.
 */
export function placeStrided(
  backend: WasmBackendLike,
  x: TensorInfo,
  strideH: number,
  strideW: number,
  top: number,
  left: number,
  outH: number,
  outW: number,
): TensorInfo {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const out = backend.makeOutput([B, outH, outW, C], x.dtype);
  // Views after the allocation: makeOutput may grow (and so detach) the heap.
  const o = backend.typedArrayFromHeap(out) as Float32Array;
  const v = backend.typedArrayFromHeap(x) as Float32Array;
  // Source rows/columns whose destination is inside the output.
  const i0 = Math.max(0, Math.ceil(-top / strideH));
  const i1 = Math.min(H, Math.floor((outH - 1 - top) / strideH) + 1);
  const j0 = Math.max(0, Math.ceil(-left / strideW));
  const j1 = Math.min(W, Math.floor((outW - 1 - left) / strideW) + 1);
  const full = strideH === 1 && strideW === 1 && top === 0 && left === 0 && outH === H && outW === W;
  if (full) {
    o.set(v);
    return out;
  }
  o.fill(0);
  if (i1 <= i0 || j1 <= j0) return out;
  for (let b = 0; b < B; b++) {
    for (let i = i0; i < i1; i++) {
      const src = ((b * H + i) * W) * C;
      const dst = ((b * outH + top + i * strideH) * outW) * C;
      if (strideW === 1) {
        o.set(v.subarray(src + j0 * C, src + j1 * C), dst + (left + j0) * C);
      } else {
        for (let j = j0; j < j1; j++) {
          const s = src + j * C;
          const d = dst + (left + j * strideW) * C;
          for (let c = 0; c < C; c++) o[d + c] = v[s + c];
        }
      }
    }
  }
  return out;
}

/** Throws the error tfjs-backend-wasm's own conv kernels throw for NCHW. */
export function assertChannelsLast(kernel: string, dataFormat: unknown): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`wasm backend ${kernel} does not support dataFormat:'${String(dataFormat)}'. Please use 'NHWC'.`);
  }
}

/**
 * `info` with the output size taken from the actual dy [B, OH, OW, C]. They differ when a conv used a numeric pad
 * with `dimRoundingMode` 'ceil'/'round': tfjs-core's Conv2D gradient drops that attribute, so the kernel's own shape
 * computation truncates and sees fewer output rows than dy has; trusting it would size the XNNPACK conv below
 * differently from the buffer tfjs allocates for it (a heap overrun, seen in testing). With dy's real size the
 * gradient is the exact one of the forward conv (output windows past the padding read zeros).
 */
export function withDyShape(info: tf.backend_util.Conv2DInfo, dy: TensorInfo): tf.backend_util.Conv2DInfo {
  const [, OH, OW] = dy.shape;
  if (OH === info.outHeight && OW === info.outWidth) return info;
  return { ...info, outHeight: OH, outWidth: OW, outShape: [info.batchSize, OH, OW, info.outChannels] };
}

/** Explicit 4-D padding attribute in the form tfjs conv kernels accept. */
export function explicitPad(top: number, bottom: number, left: number, right: number): tf.NamedAttrMap[string] {
  return [[0, 0], [top, bottom], [left, right], [0, 0]];
}
