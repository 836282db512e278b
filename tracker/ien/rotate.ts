/**
 * Rotations and reflections of image/feature maps `[B, H, W, C]` float32, differentiable w.r.t. the map.
 *
 * Sense: a positive angle is counter-clockwise on screen (y grows downwards), the same sense as
 * `geometry.rotateBoxBounds`: a point at offset (dx, dy) from the centre moves to (c·dx + s·dy, −s·dx + c·dy).
 * Rotations are about the map centre ((W−1)/2, (H−1)/2) in pixel-centre coordinates.
 *
 * - `rot90`: exact multiples of 90° by transpose + reverse (shape [B, W, H, C] for odd k), like `np.rot90`.
 * - `rotate` / `rotateBatch`: any angle, same output size, bilinear resampling with zero fill, as one `gather` of
 *   precomputed source indices and weights (cached per (H, W, angle) as typed arrays). Source points that fall exactly
 *   on pixels (90° multiples on square maps) use one neighbour with weight 1, so they equal `rot90` exactly.
 * - `rotationMask`: 1 where the source point lies inside the map, else 0 (corners that left the map).
 */
import { tf } from '../tf.js';
import type { Tensor4D } from '../tf.js';

/** Precomputed bilinear resampling of an H×W map rotated by one angle. */
export interface RotationSampling {
  readonly height: number;
  readonly width: number;
  /** Angle in degrees, counter-clockwise on screen, normalised to [0, 360). */
  readonly degrees: number;
  /** Neighbours per output pixel: 1 (all source points on pixel centres) or 4 (bilinear). */
  readonly taps: 1 | 4;
  /** `[H·W·taps]` flat source pixel index (y·W + x) per output pixel and tap; 0 where the weight is 0. */
  readonly indices: Int32Array;
  /** `[H·W·taps]` bilinear weights (0 for neighbours outside the map: zero fill). */
  readonly weights: Float32Array;
  /** `[H·W]` 1 where the source point lies inside the map, else 0. */
  readonly mask: Float32Array;
}

/** Error thrown for an angle or map the rotation functions cannot use. */
export class RotationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RotationError';
  }
}

// LRU cache of sampling tables, bounded by entries and bytes (a 255×255 bilinear table is ~1.8 MB)
const CACHE_ENTRIES = 256;
const CACHE_BYTES = 64 * 1024 * 1024;
const cache = new Map<string, RotationSampling>();
let cacheBytes = 0;
const tableBytes = (s: RotationSampling) => s.indices.byteLength + s.weights.byteLength + s.mask.byteLength;
// coordinates this close to a pixel centre are snapped onto it so that 90° rotations are exact
const SNAP = 1e-9;
// a source point counts as inside the map up to this far past its outer pixel centres (float noise)
const INSIDE_TOL = 1e-6;

/** Normalise degrees to [0, 360); multiples of 90 (to 1e-9) become exact. */
export function normalizeDegrees(deg: number): number {
  if (!Number.isFinite(deg)) throw new RotationError(`rotation angle must be a finite number of degrees, got ${deg}`);
  let d = deg % 360;
  if (d < 0) d += 360;
  const q = Math.round(d / 90);
  if (Math.abs(d - q * 90) < 1e-9) d = (q * 90) % 360;
  return d;
}

function cosSin(deg: number): [number, number] {
  switch (deg) {
    case 0: return [1, 0];
    case 90: return [0, 1];
    case 180: return [-1, 0];
    case 270: return [0, -1];
    default: {
      const t = (deg * Math.PI) / 180;
      return [Math.cos(t), Math.sin(t)];
    }
  }
}

function snap(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - r) < SNAP ? r : v;
}

/**
 * Sampling tables of an H×W map rotated by `deg` degrees (counter-clockwise on screen) about its centre. Cached (LRU,
 * at most 256 tables and 64 MB); the returned arrays are shared: do not modify them.
 */
export function rotationSampling(height: number, width: number, deg: number): RotationSampling {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new RotationError(`map size must be positive integers, got ${height}×${width}`);
  }
  const d = normalizeDegrees(deg);
  const key = `${height}x${width}@${d}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const [c, s] = cosSin(d);
  const cx = (width - 1) / 2, cy = (height - 1) / 2;
  const n = height * width;
  const sx = new Float64Array(n), sy = new Float64Array(n);
  let onGrid = true;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = x - cx, dy = y - cy;
      // inverse of the forward map (dx, dy) → (c·dx + s·dy, −s·dx + c·dy)
      const px = snap(cx + c * dx - s * dy), py = snap(cy + s * dx + c * dy);
      sx[y * width + x] = px; sy[y * width + x] = py;
      if (px !== Math.round(px) || py !== Math.round(py)) onGrid = false;
    }
  }
  const taps: 1 | 4 = onGrid ? 1 : 4;
  const indices = new Int32Array(n * taps), weights = new Float32Array(n * taps), mask = new Float32Array(n);
  const inside = (xx: number, yy: number) => xx >= 0 && xx < width && yy >= 0 && yy < height;
  for (let i = 0; i < n; i++) {
    const px = sx[i], py = sy[i];
    mask[i] = px >= -INSIDE_TOL && px <= width - 1 + INSIDE_TOL && py >= -INSIDE_TOL && py <= height - 1 + INSIDE_TOL ? 1 : 0;
    if (taps === 1) {
      if (inside(px, py)) { indices[i] = py * width + px; weights[i] = 1; }
      continue;
    }
    const x0 = Math.floor(px), y0 = Math.floor(py), fx = px - x0, fy = py - y0;
    const nb: Array<[number, number, number]> = [
      [x0, y0, (1 - fx) * (1 - fy)], [x0 + 1, y0, fx * (1 - fy)], [x0, y0 + 1, (1 - fx) * fy], [x0 + 1, y0 + 1, fx * fy],
    ];
    for (let t = 0; t < 4; t++) {
      const [xx, yy, wt] = nb[t];
      if (wt !== 0 && inside(xx, yy)) { indices[i * 4 + t] = yy * width + xx; weights[i * 4 + t] = wt; }
    }
  }
  const out: RotationSampling = { height, width, degrees: d, taps, indices, weights, mask };
  cache.set(key, out);
  cacheBytes += tableBytes(out);
  while (cache.size > 1 && (cache.size > CACHE_ENTRIES || cacheBytes > CACHE_BYTES)) {
    const oldest = cache.keys().next().value as string;
    cacheBytes -= tableBytes(cache.get(oldest)!);
    cache.delete(oldest);
  }
  return out;
}

function check4(x: tf.Tensor, what: string): asserts x is Tensor4D {
  if (x.rank !== 4) throw new RotationError(`${what} needs a [B, H, W, C] tensor, got shape [${x.shape.join(', ')}]`);
}

/**
 * Exact rotation by k·90° counter-clockwise on screen (k any integer): `[B, H, W, C]` → `[B, H, W, C]` for even k,
 * `[B, W, H, C]` for odd k. `out[i][j] = x[j][W−1−i]` for k = 1 (as `np.rot90`). Differentiable; returns a new tensor.
 */
export function rot90(x: Tensor4D, k: number): Tensor4D {
  check4(x, 'rot90');
  if (!Number.isInteger(k)) throw new RotationError(`rot90 needs an integer number of quarter turns, got ${k}`);
  const q = ((k % 4) + 4) % 4;
  return tf.tidy(() => {
    switch (q) {
      case 0: return tf.clone(x);
      case 1: return tf.transpose(tf.reverse(x, 2), [0, 2, 1, 3]);
      case 2: return tf.reverse(x, [1, 2]);
      default: return tf.reverse(tf.transpose(x, [0, 2, 1, 3]), 2);
    }
  });
}

/** Horizontal reflection (mirror about the vertical axis): `out[i][j] = x[i][W−1−j]`, `[B, H, W, C]` float32. */
export function flipHorizontal(x: Tensor4D): Tensor4D {
  check4(x, 'flipHorizontal');
  return tf.reverse(x, 2);
}

/**
 * Rotate every sample by its own angle (degrees, counter-clockwise on screen) about the map centre, same size, bilinear,
 * zero fill: `[B, H, W, C]` float32 → `[B, H, W, C]` float32, one gather for the whole batch, differentiable w.r.t. `x`
 * (the gradient is the transposed resampling). `degs` has one angle per sample, or a single angle for all.
 */
export function rotateBatch(x: Tensor4D, degs: readonly number[] | number): Tensor4D {
  check4(x, 'rotateBatch');
  const [b, h, w] = x.shape;
  const angles = typeof degs === 'number' ? new Array<number>(b).fill(degs) : degs;
  if (angles.length !== b) throw new RotationError(`rotateBatch: ${angles.length} angles for a batch of ${b}`);
  const samp = angles.map((a) => rotationSampling(h, w, a));
  if (samp.every((s) => s.degrees === 0)) return tf.clone(x);
  if (h === w && samp.every((s) => s.degrees === samp[0].degrees && s.degrees % 90 === 0)) {
    return rot90(x, samp[0].degrees / 90);
  }
  const taps = samp.some((s) => s.taps === 4) ? 4 : 1;
  const n = h * w;
  const idx = new Int32Array(b * n * taps), wts = new Float32Array(b * n * taps);
  for (let i = 0; i < b; i++) {
    const s = samp[i], off = i * n;
    if (s.taps === taps) {
      for (let j = 0; j < n * taps; j++) idx[off * taps + j] = s.indices[j] + off;
      wts.set(s.weights, off * taps);
    } else {
      // one-tap table inside a four-tap batch: first tap carries it, the other three weigh 0
      for (let j = 0; j < n; j++) {
        idx[(off + j) * 4] = s.indices[j] + off;
        wts[(off + j) * 4] = s.weights[j];
        for (let t = 1; t < 4; t++) idx[(off + j) * 4 + t] = off;
      }
    }
  }
  return resampleBatch(x, idx, wts, taps, h, w);
}

/**
 * Apply precomputed resampling tables to a batch: `x` `[B, H_in, W_in, C]` float32 → `[B, H, W, C]`, where output pixel
 * p of sample i is Σ_t wts[(i·H·W + p)·taps + t] · x_flat[idx[…]] (`idx` indexes the flattened `[B·H_in·W_in]` input).
 * One gather for the whole batch; differentiable w.r.t. `x` (the gradient is the transposed resampling).
 */
export function resampleBatch(x: Tensor4D, idx: Int32Array, wts: Float32Array, taps: number, h: number, w: number): Tensor4D {
  const [b, hi, wi, c] = x.shape;
  if (idx.length !== b * h * w * taps || wts.length !== idx.length) {
    throw new RotationError(`resampleBatch: tables of ${idx.length} entries for ${b}×${h}×${w}×${taps} taps`);
  }
  return tf.tidy(() => {
    const flat = tf.reshape(x, [b * hi * wi, c]);
    const g = tf.gather(flat, tf.tensor1d(idx, 'int32'), 0);
    if (taps === 1) {
      // Grid-aligned angles whose every source pixel lies inside the map (90° multiples on square maps): the weights are
      // all 1, and multiplying by them (and by them again in the gradient) would change nothing.
      if (wts.every((v) => v === 1)) return tf.reshape(g, [b, h, w, c]) as Tensor4D;
      return tf.mul(tf.reshape(g, [b, h, w, c]), tf.tensor4d(wts, [b, h, w, 1]));
    }
    const weighted = tf.mul(tf.reshape(g, [b, h, w, taps, c]), tf.tensor5d(wts, [b, h, w, taps, 1]));
    return tf.sum(weighted, 3) as Tensor4D;
  });
}

/**
 * Rotate all samples by `deg` degrees (counter-clockwise on screen) about the map centre, same size, bilinear, zero
 * fill; `[B, H, W, C]` float32. Exact (transpose + reverse) for multiples of 90° on square maps.
 */
export function rotate(x: Tensor4D, deg: number): Tensor4D {
  check4(x, 'rotate');
  return rotateBatch(x, deg);
}

/**
 * Validity mask of rotated maps: `[B, H, W, 1]` float32 (B = number of angles; a single number gives B = 1), 1 where the
 * rotation's source point lies inside the H×W map, 0 where it left it (all ones for 90° multiples on square maps).
 */
export function rotationMask(height: number, width: number, degs: readonly number[] | number): Tensor4D {
  const angles = typeof degs === 'number' ? [degs] : degs;
  return masksTensor(height, width, angles.map((a) => rotationSampling(height, width, a).mask));
}

/** Stack per-sample `[H·W]` masks into a `[B, H, W, 1]` float32 tensor. */
export function masksTensor(height: number, width: number, masks: readonly Float32Array[]): Tensor4D {
  const n = height * width;
  const m = new Float32Array(masks.length * n);
  masks.forEach((mk, i) => m.set(mk, i * n));
  return tf.tensor4d(m, [masks.length, height, width, 1]);
}

/** True when every angle maps the H×W pixel grid onto itself (90° multiples; 180° on any map): no resampling, full mask. */
export function isGridAligned(height: number, width: number, degs: readonly number[] | number): boolean {
  const angles = typeof degs === 'number' ? [degs] : degs;
  return angles.every((a) => {
    const s = rotationSampling(height, width, a);
    return s.taps === 1 && s.mask.every((v) => v === 1);
  });
}
