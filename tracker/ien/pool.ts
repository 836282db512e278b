/**
 * Group pooling G(·) of IEN: pixel-wise max over the Λ maps of every feature group, per block of a GroupLayout.
 */
import { tf } from '../tf.js';
import type { Tensor4D } from '../tf.js';
import { applyGroupSpec, type GroupLayout, type GroupSpec } from './groups.js';

/** Error thrown when a tensor does not match the group layout it is used with. */
export class GroupLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GroupLayoutError';
  }
}

/** Throw GroupLayoutError unless `x` is rank 4 with `layout.channels` channels; `what` names the tensor. */
export function checkLayout(x: tf.Tensor, layout: GroupLayout, what = 'input'): void {
  if (x.rank !== 4) throw new GroupLayoutError(`${what} must be [B, H, W, C], got shape [${x.shape.join(', ')}]`);
  if (x.shape[3] !== layout.channels) {
    throw new GroupLayoutError(
      `${what} has ${x.shape[3]} channels but its group layout ${layout.spec.name} expects ${layout.channels}`,
    );
  }
}

/**
 * Group pooling: `[B, H, W, C]` float32 → `[B, H, W, pooledChannels]` float32, pooled channels in block then group
 * order. Each block is reshaped to `[B, H, W, groups, Λ]` and max-reduced over Λ (identity for Λ = 1); differentiable
 * (the max gradient goes to the arg-max maps). `layout` may be a spec (applied to the input's channel count).
 */
export function groupPool(x: Tensor4D, layout: GroupLayout | GroupSpec | string): Tensor4D {
  const lay = typeof layout === 'object' && 'blocks' in layout ? layout : applyGroupSpec(layout, x.shape[3]);
  checkLayout(x, lay, 'groupPool input');
  return tf.tidy(() => {
    const [b, h, w] = x.shape;
    const parts = lay.blocks.map((blk) => {
      const part = lay.blocks.length === 1 ? x : tf.slice(x, [0, 0, 0, blk.start], [b, h, w, blk.channels]);
      if (blk.size === 1) return part;
      return tf.max(tf.reshape(part, [b, h, w, blk.groups, blk.size]), 4) as Tensor4D;
    });
    return parts.length === 1 ? (parts[0] === x ? tf.clone(x) : parts[0]) : tf.concat(parts, 3);
  });
}

/**
 * Cyclic shift of the orientation axis of regular-representation fields (channel `o·Λ + r`, r fastest):
 * `out[..., o·Λ + r] = x[..., o·Λ + (r − shift) mod Λ]`. `[B, H, W, C]` float32 → same shape. This is the channel
 * action of a rotation by `shift` group steps on the output of a C_Λ group convolution.
 */
export function rollOrientation(x: Tensor4D, lambda: number, shift: number): Tensor4D {
  const [b, h, w, c] = x.shape;
  if (!Number.isInteger(lambda) || lambda < 1 || c % lambda !== 0) {
    throw new GroupLayoutError(`rollOrientation: ${c} channels do not split into fields of ${lambda}`);
  }
  const s = ((Math.round(shift) % lambda) + lambda) % lambda;
  if (s === 0) return tf.clone(x);
  return tf.tidy(() => {
    const idx = tf.tensor1d(Array.from({ length: lambda }, (_, r) => (r - s + lambda) % lambda), 'int32');
    return tf.reshape(tf.gather(tf.reshape(x, [b, h, w, c / lambda, lambda]), idx, 4), [b, h, w, c]) as Tensor4D;
  });
}
