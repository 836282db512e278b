/**
 * The SiamFC network (Bertinetto et al. 2016): one backbone shared by the exemplar and search branches, and a
 * cross-correlation head. Used by the tracker (inference) and by training.
 */
import { tf } from '../tf.js';
import type { Tensor, Tensor4D, Variable } from '../tf.js';
import type { BackboneSpec } from '../backbone-spec.js';
import { outputSize, totalStride } from '../backbone-spec.js';
import { XCORR_KERNEL, hasFusedKernel, runFused } from '../fused-kernels.js';

/** What SiamFC needs of a backbone (plain CNN, IEN, or C4/C8 equivariant). */
export interface FeatureExtractor {
  readonly spec: BackboneSpec;
  /** Channels of the output features. */
  readonly outChannels: number;
  /** `[B, H, W, inChannels]` float32 0–255 → `[B, h, w, outChannels]` float32. */
  apply(x: Tensor4D, training?: boolean): Tensor4D;
  trainableVariables(): Variable[];
  namedWeights(): { name: string; tensor: Tensor }[];
  loadWeights(weights: Record<string, Tensor>, where?: string): void;
  parameterCount(): number;
  dispose(): void;
}

/** A SiamFC network: backbone + cross-correlation head scaled by `outScale`. Owns its backbone. */
export class SiamFCNet {
  readonly backbone: FeatureExtractor;
  readonly outScale: number;

  constructor(backbone: FeatureExtractor, outScale = 0.001) {
    this.backbone = backbone;
    this.outScale = outScale;
  }

  /** Exemplar crop size, search crop size, total stride, and the response map's side, all from the spec. */
  get geometry(): { exemplarSize: number; instanceSize: number; stride: number; responseSize: number } {
    const s = this.backbone.spec;
    const responseSize = outputSize(s, s.instanceSize) - outputSize(s, s.exemplarSize) + 1;
    if (responseSize < 1) {
      throw new Error(`backbone "${s.name}": exemplar features larger than search features (response size ${responseSize})`);
    }
    return { exemplarSize: s.exemplarSize, instanceSize: s.instanceSize, stride: totalStride(s), responseSize };
  }

  /**
   * Cross-correlate each exemplar feature map with the search features of the same sample.
   * `z`: `[B, hz, wz, C]`, `x`: `[B·k, hx, wx, C]` (k search crops per exemplar, e.g. scales) → `[B·k, r, r, 1]`.
   */
  xcorr(z: Tensor4D, x: Tensor4D): Tensor4D {
    return tf.tidy(() => {
      const B = z.shape[0];
      const k = x.shape[0] / B;
      if (!Number.isInteger(k)) throw new Error(`xcorr: ${x.shape[0]} search maps for ${B} exemplars`);
      // One fused kernel (forward and gradient) when the backend has it: no per-sample slices, transposes and convs.
      if (B > 1 && hasFusedKernel(XCORR_KERNEL) && z.dtype === 'float32' && x.dtype === 'float32') {
        return tf.mul(runFused(XCORR_KERNEL, { z, x })[0], this.outScale) as Tensor4D;
      }
      const outs: Tensor4D[] = [];
      for (let b = 0; b < B; b++) {
        const kernel = tf.transpose(tf.slice(z, [b, 0, 0, 0], [1, -1, -1, -1]), [1, 2, 3, 0]) as Tensor4D;
        const xb = B === 1 ? x : (tf.slice(x, [b * k, 0, 0, 0], [k, -1, -1, -1]) as Tensor4D);
        outs.push(tf.conv2d(xb, kernel, 1, 'valid'));
      }
      const r = outs.length === 1 ? outs[0] : tf.concat(outs, 0);
      return tf.mul(r, this.outScale) as Tensor4D;
    });
  }

  /** Full forward pass for training: exemplar crops `[B, 127, 127, 3]`, search crops `[B, 255, 255, 3]` → responses. */
  forward(z: Tensor4D, x: Tensor4D, training = false): Tensor4D {
    return tf.tidy(() => this.xcorr(this.backbone.apply(z, training), this.backbone.apply(x, training)));
  }

  /** Release the backbone's variables. */
  dispose(): void {
    this.backbone.dispose();
  }
}
