/**
 * Inference engines for the tracker's two networks: the exemplar branch (once per `init`) and the search branch with
 * the cross-correlation head (once per frame, all scales in one call). Implementations: `TfjsEngine` here (any tfjs
 * backend; the reference) and the onnxruntime-node engine in tracker/node/onnx/ (Node only). Browser-safe.
 *
 * Data crosses the interface as NHWC float32 arrays of 0–255 values so that an engine needs no tfjs: the tracker
 * writes its crops into a buffer it reuses between frames and gets the raw responses back.
 */
import { tf } from '../tf.js';
import type { Tensor4D } from '../tf.js';
import type { SiamFCNet } from '../siamfc/network.js';

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

/** Exemplar features `[T, hz, wz, C]` (T templates, usually 1). */
class TfjsExemplar implements ExemplarFeatures {
  constructor(readonly features: Tensor4D) {}
  dispose(): void {
    this.features.dispose();
  }
}

/** The reference engine: the network's own tfjs forward pass on the current tfjs backend. */
export class TfjsEngine implements SiamFCEngine {
  readonly name = 'tfjs' as const;
  readonly description: string;

  /** `net` stays owned by the caller. */
  constructor(private readonly net: SiamFCNet) {
    this.description = `tfjs (${tf.getBackend()})`;
  }

  exemplar(crop: Float32Array): ExemplarFeatures {
    const E = this.net.geometry.exemplarSize;
    checkExemplarCrop('tfjs engine', crop, E);
    return new TfjsExemplar(tf.tidy(() => this.net.backbone.apply(tf.tensor4d(crop, [1, E, E, 3]), false)));
  }

  respond(z: ExemplarFeatures, crops: Float32Array, k: number): Float32Array {
    const X = this.net.geometry.instanceSize;
    checkSearchCrops('tfjs engine', crops, k, X);
    if (!(z instanceof TfjsExemplar)) throw new Error('tfjs engine: exemplar features come from another engine');
    const r = tf.tidy(() => {
      const x = this.net.backbone.apply(tf.tensor4d(crops, [k, X, X, 3]), false);
      if (z.features.shape[0] === 1) return this.net.xcorr(z.features, x);
      // T templates: one conv with T output channels, [k, r, r, T] → [k, T, r, r]
      const kernel = tf.transpose(z.features, [1, 2, 3, 0]) as Tensor4D;
      return tf.mul(tf.transpose(tf.conv2d(x, kernel, 1, 'valid'), [0, 3, 1, 2]), this.net.outScale);
    });
    const out = r.dataSync() as Float32Array;
    r.dispose();
    return out;
  }

  stack(zs: readonly ExemplarFeatures[]): ExemplarFeatures {
    if (!zs.every((z) => z instanceof TfjsExemplar)) throw new Error('tfjs engine: exemplar features come from another engine');
    return new TfjsExemplar(tf.concat(zs.map((z) => (z as TfjsExemplar).features), 0) as Tensor4D);
  }

  dispose(): void {
    // nothing owned: the network belongs to the caller
  }
}
