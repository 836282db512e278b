/**
 * The dihedral group D4 (the paper's "R4R": 4 rotations and reflections) acting on square maps `[B, S, S, C]` float32,
 * one element per sample, exact (a pixel permutation), differentiable w.r.t. the map.
 *
 * Element e ∈ 0..7 encodes k = e mod 4 quarter turns and m = ⌊e/4⌋ reflections: g_e(x) = rot90(flipHorizontal^m(x), k),
 * mirror first, then turn counter-clockwise on screen (rot90's sense). Its inverse is flipHorizontal^m(rot90(x, −k)).
 * The permutation tables are made by pushing an index map through `flipHorizontal` and `rot90` themselves, so they
 * agree with those functions by construction.
 */
import type { Tensor4D } from '../tf.js';
import { tf } from '../tf.js';
import { flipHorizontal, resampleBatch, rot90 } from './rotate.js';

/** Error thrown for an element or map the D4 functions cannot use. */
export class DihedralError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DihedralError';
  }
}

/** The D4 elements (0 = identity). */
export const D4_ELEMENTS = [0, 1, 2, 3, 4, 5, 6, 7] as const;

const tables = new Map<string, Int32Array>();

function checkElement(e: number): void {
  if (!Number.isInteger(e) || e < 0 || e > 7) throw new DihedralError(`D4 element must be an integer in 0..7, got ${e}`);
}

/**
 * Source pixel (y·S + x) of every output pixel of g_e applied to an S×S map (`inverse`: of g_e⁻¹). Cached; shared
 * arrays: do not modify.
 */
export function d4Permutation(size: number, e: number, inverse = false): Int32Array {
  if (!Number.isInteger(size) || size < 1) throw new DihedralError(`map size must be a positive integer, got ${size}`);
  checkElement(e);
  const key = `${size}/${e}/${inverse ? 'inv' : 'fwd'}`;
  let t = tables.get(key);
  if (t) return t;
  const n = size * size;
  // read outside tf.tidy: a typed array returned from tidy is walked key by key
  const moved = tf.tidy(() => {
    const ids = tf.tensor4d(Float32Array.from({ length: n }, (_, i) => i), [1, size, size, 1]);
    return rot90(e >= 4 ? flipHorizontal(ids) : ids, e % 4);
  });
  const fwd = Int32Array.from(moved.dataSync());
  moved.dispose();
  if (inverse) {
    t = new Int32Array(n);
    for (let p = 0; p < n; p++) t[fwd[p]] = p;
  } else {
    t = fwd;
  }
  tables.set(key, t);
  return t;
}

/** Compose: the element of g_a ∘ g_b (apply b, then a). */
export function d4Compose(a: number, b: number): number {
  checkElement(a);
  checkElement(b);
  // g = r^k f^m; f r^k = r^−k f, so r^ka f^ma r^kb f^mb = r^(ka + (−1)^ma kb) f^(ma + mb)
  const ka = a % 4, ma = a >> 2, kb = b % 4, mb = b >> 2;
  const k = (((ka + (ma ? -kb : kb)) % 4) + 4) % 4;
  return k + 4 * ((ma + mb) % 2);
}

/** The inverse element: g_e⁻¹ (mirrors are their own inverses; a turn by k is undone by 4 − k). */
export function d4Inverse(e: number): number {
  checkElement(e);
  return e >= 4 ? e : (4 - e) % 4;
}

/**
 * Apply g_e (or g_e⁻¹ with `inverse`) to every sample, one element per sample: `[B, S, S, C]` → `[B, S, S, C]`, one
 * gather for the batch (exact: weights 1), differentiable w.r.t. `x`.
 */
export function d4Batch(x: Tensor4D, elements: readonly number[], inverse = false): Tensor4D {
  if (x.rank !== 4) throw new DihedralError(`d4Batch needs a [B, H, W, C] tensor, got shape [${x.shape.join(', ')}]`);
  const [b, h, w] = x.shape;
  if (h !== w) throw new DihedralError(`d4Batch needs square maps, got ${h}×${w}`);
  if (elements.length !== b) throw new DihedralError(`d4Batch: ${elements.length} elements for a batch of ${b}`);
  elements.forEach(checkElement);
  if (elements.every((e) => e === 0)) return tf.clone(x);
  const n = h * w;
  const idx = new Int32Array(b * n);
  elements.forEach((e, i) => {
    const t = d4Permutation(h, e, inverse);
    for (let p = 0; p < n; p++) idx[i * n + p] = t[p] + i * n;
  });
  return resampleBatch(x, idx, new Float32Array(b * n).fill(1), 1, h, w);
}
