/**
 * `UnsortedSegmentSum` for the wasm backend (absent from tfjs-backend-wasm 4.22). It is the gradient of `tf.gather`
 * (GatherV2_grad), so any model that gathers from a trained tensor needs it.
 *
 * out[s, …] = Σ_{i : segmentIds[i] = s} x[i, …]; ids outside [0, numSegments) are dropped (TensorFlow's rule).
 * One pass over x straight on the wasm heap: O(size(x)), where the cpu backend's version is O(numSegments·size(x)).
 */
import { tf } from '../tf.js';
import type { TensorInfo, WasmBackendLike } from './util.js';

function unsortedSegmentSum({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): TensorInfo {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const b = backend as WasmBackendLike;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`wasm UnsortedSegmentSum supports float32 and int32, got ${x.dtype}`);
  }
  const idRank = segmentIds.shape.length;
  const innerShape = x.shape.slice(idRank);
  const inner = tf.util.sizeFromShape(innerShape);
  const out = b.makeOutput([numSegments, ...innerShape], x.dtype);
  const o = b.typedArrayFromHeap(out) as Float32Array | Int32Array;
  const v = b.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = b.typedArrayFromHeap(segmentIds) as Int32Array;
  o.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const seg = ids[i];
    if (seg < 0 || seg >= numSegments) continue;
    const src = i * inner;
    const dst = seg * inner;
    for (let k = 0; k < inner; k++) o[dst + k] += v[src + k];
  }
  return out;
}

/** `UnsortedSegmentSum` for 'wasm'. */
export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as tf.KernelFunc,
};
