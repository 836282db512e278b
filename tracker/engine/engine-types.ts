/**
 * The inference-engine interface of the tracker's two networks (see engine.ts) and the input checks every engine
 * shares. Browser-safe and tfjs-free (the browser's asynchronous engine uses the checks without pulling in tfjs).
 */

/** Engine names as used by `--engine` / ROT_TRACK_ENGINE. */
export type EngineName = 'tfjs' | 'onnx';

/** Exemplar features held by an engine between frames (a tf tensor, an ort tensor…). */
export interface ExemplarFeatures {
  dispose(): void;
}

/** An inference engine over one network; it can serve many trackers (exemplars are per tracker). */
export interface SiamFCEngine {
  readonly name: EngineName;
  /** One line for logs, e.g. `onnxruntime-node (CPU, 2 threads)`. */
  readonly description: string;
  /** Features of one exemplar crop `[1, E, E, 3]` (NHWC float32, 0–255, E = exemplar size). */
  exemplar(crop: Float32Array): ExemplarFeatures;
  /**
   * Responses of `k` search crops `[k, X, X, 3]` (X = search size) against `z`: `[k, r, r]` float32, the
   * cross-correlation × outScale (SiamFCNet.xcorr). The returned array may be reused by the next call.
   */
  respond(z: ExemplarFeatures, crops: Float32Array, k: number): Float32Array;
  /**
   * Several exemplars' features as one (rotated templates): `respond` on the result gives `[k, T, r, r]`, T templates
   * per search crop, for the price of one search pass. Optional: without it the tracker calls `respond` per template.
   */
  stack?(zs: readonly ExemplarFeatures[]): ExemplarFeatures;
  /** Release what the engine owns (not the network). */
  dispose(): void;
}

function checkLength(what: string, a: Float32Array, n: number): void {
  if (!(a instanceof Float32Array) || a.length !== n) {
    throw new Error(`${what}: expected a Float32Array of ${n} values, got ${a instanceof Float32Array ? a.length : typeof a}`);
  }
}

/** Validate an exemplar crop's length against a network geometry (shared by the engines). */
export function checkExemplarCrop(engine: string, crop: Float32Array, exemplarSize: number): void {
  checkLength(`${engine} exemplar crop [1, ${exemplarSize}, ${exemplarSize}, 3]`, crop, exemplarSize * exemplarSize * 3);
}

/** Validate `k` search crops' length. */
export function checkSearchCrops(engine: string, crops: Float32Array, k: number, instanceSize: number): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`${engine}: number of search crops must be a positive integer, got ${k}`);
  checkLength(`${engine} search crops [${k}, ${instanceSize}, ${instanceSize}, 3]`, crops, k * instanceSize * instanceSize * 3);
}
