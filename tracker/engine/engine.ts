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

export {
  type EngineName, type ExemplarFeatures, type SiamFCEngine, checkExemplarCrop, checkSearchCrops,
} from './engine-types.js';
import { type ExemplarFeatures, type SiamFCEngine, checkExemplarCrop, checkSearchCrops } from './engine-types.js';

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
