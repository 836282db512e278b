/**
 * Optional native versions of a tracked frame's crops, response upsampling and peak search (tracker/native/src/
 * frame.cc): the same values bit for bit as tracker/engine/crop.ts (byte frames), upsample.ts and SiamFCCore.locate,
 * threaded; and the cross-correlation head (src/xcorr.cc) for the onnx engine, which then runs only the backbone in
 * onnxruntime. Node registers them when the native add-on is built (tracker/node/native-backend.ts); in the browser, or
 * without the add-on, none are set and SiamFCCore runs its JavaScript. Browser-safe: this module only holds the slot.
 */

export interface FrameKernels {
  /** crop.ts `cropPatchesInto` for a byte frame; `boxes` holds crop-box.ts `cropBox` [y1, x1, y2, x2] per crop. */
  cropBytes(rgb: Uint8Array, H: number, W: number, avgColor: Float32Array, boxes: Float64Array, outSize: number, out: Float32Array): void;
  /** upsample.ts `upsampleTapsRange` of `k` maps `n × n` → `u × u` into `out` (k·u²), [min, max] per map into `minMax`. */
  upsampleMaps(maps: Float32Array, k: number, n: number, u: number, start: Int32Array, index: Int32Array, weight: Float64Array,
    out: Float64Array, minMax: Float64Array): void;
  /**
   * SiamFCCore.locate's last passes on the chosen upsampled map, in place: `map·penalty − min` (`map − min` when the
   * penalty is 1), normalised by its sum and blended with `hann` by `windowInfluence`; returns the peak's index.
   */
  finishMap(map: Float64Array, penalty: number, min: number, hann: Float64Array, windowInfluence: number): number;
  /**
   * `out[n, t] = outScale · Σ_c features[n, c] ⋆ kernel[t, c]` (valid cross-correlation, stride 1; NCHW float32;
   * `dims` = [N, C, H, W, T, h, w]); out holds N·T·(H−h+1)·(W−w+1).
   */
  xcorr(features: Float32Array, kernel: Float32Array, dims: Int32Array, outScale: number, out: Float32Array): void;
}

let current: FrameKernels | null = null;

/** Sets (or with null, clears) the native frame kernels every SiamFCCore uses from its next frame on. */
export function setFrameKernels(k: FrameKernels | null): void {
  current = k;
}

/** The registered frame kernels, or null. */
export function frameKernels(): FrameKernels | null {
  return current;
}
