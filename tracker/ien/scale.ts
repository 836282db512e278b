/**
 * Rescaling of image/feature maps `[B, H, W, C]` float32 about the map centre, same output size, differentiable w.r.t.
 * the map: the scale action of IEN's equivariance loss on Scale-MNIST (paper Table 8), the counterpart of
 * `rotateBatch` for rotations.
 *
 * Factor s: content at offset d from the centre ((W−1)/2, (H−1)/2) moves to offset s·d, so output pixel p samples the
 * source at c + (p − c)/s (bilinear, zero fill). s < 1 shrinks: the whole map lands inside, and the output's outer
 * ring samples points outside the map (zeros; `scaleMask` is 0 there); s > 1 enlarges: every output pixel samples a
 * point inside the map (the outer part of the map leaves the output). With `antialias`, each output pixel of a shrink averages k×k bilinear samples (k = ⌈1/s⌉, spread over
 * the output pixel's footprint) — a box prefilter, so a halved digit is not aliased.
 */
import type { Tensor4D } from '../tf.js';
import { tf } from '../tf.js';
import { masksTensor, resampleBatch } from './rotate.js';

/** Error thrown for a factor or map the scale functions cannot use. */
export class ScaleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScaleError';
  }
}

/** Precomputed resampling of an H×W map rescaled by one factor. */
export interface ScaleSampling {
  readonly height: number;
  readonly width: number;
  readonly factor: number;
  /** Sub-samples per axis per output pixel (1 without antialiasing). */
  readonly supersample: number;
  /** Neighbours per output pixel: 4·supersample². */
  readonly taps: number;
  /** `[H·W·taps]` flat source index (y·W + x); 0 where the weight is 0. */
  readonly indices: Int32Array;
  /** `[H·W·taps]` weights (bilinear × 1/supersample²; 0 outside the map). */
  readonly weights: Float32Array;
  /** `[H·W]` 1 where the output pixel's source point lies inside the map, else 0. */
  readonly mask: Float32Array;
}

const cache = new Map<string, ScaleSampling>();
const CACHE_ENTRIES = 128;
const INSIDE_TOL = 1e-6;
const MAX_SUPERSAMPLE = 8;

function checkFactor(s: number): void {
  if (!Number.isFinite(s) || s <= 0) throw new ScaleError(`scale factor must be a positive finite number, got ${s}`);
}

/** Supersampling per axis that `antialias` uses for factor `s`: ⌈1/s⌉ for shrinks (at most 8), 1 otherwise. */
export function supersampleFor(s: number, antialias: boolean): number {
  checkFactor(s);
  return antialias && s < 1 ? Math.min(MAX_SUPERSAMPLE, Math.ceil(1 / s - 1e-9)) : 1;
}

/**
 * Sampling tables of an H×W map rescaled by `factor` about its centre, with `supersample` sub-samples per axis per
 * output pixel (1 = plain bilinear). Cached (LRU, 128 tables); the returned arrays are shared: do not modify them.
 */
export function scaleSampling(height: number, width: number, factor: number, supersample = 1): ScaleSampling {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new ScaleError(`map size must be positive integers, got ${height}×${width}`);
  }
  checkFactor(factor);
  if (!Number.isInteger(supersample) || supersample < 1 || supersample > MAX_SUPERSAMPLE) {
    throw new ScaleError(`supersample must be an integer in 1..${MAX_SUPERSAMPLE}, got ${supersample}`);
  }
  const key = `${height}x${width}@${factor}/${supersample}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const k = supersample, taps = 4 * k * k, n = height * width;
  const cx = (width - 1) / 2, cy = (height - 1) / 2;
  const indices = new Int32Array(n * taps), weights = new Float32Array(n * taps), mask = new Float32Array(n);
  const inside = (xx: number, yy: number) => xx >= 0 && xx < width && yy >= 0 && yy < height;
  const subW = 1 / (k * k);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const mx = cx + (x - cx) / factor, my = cy + (y - cy) / factor;
      mask[i] = mx >= -INSIDE_TOL && mx <= width - 1 + INSIDE_TOL && my >= -INSIDE_TOL && my <= height - 1 + INSIDE_TOL ? 1 : 0;
      let t = i * taps;
      for (let a = 0; a < k; a++) {
        for (let b = 0; b < k; b++) {
          // sub-sample at the centre of cell (a, b) of the output pixel's k×k footprint
          const ox = x + (b + 0.5) / k - 0.5, oy = y + (a + 0.5) / k - 0.5;
          const px = cx + (ox - cx) / factor, py = cy + (oy - cy) / factor;
          const x0 = Math.floor(px), y0 = Math.floor(py), fx = px - x0, fy = py - y0;
          const nb: Array<[number, number, number]> = [
            [x0, y0, (1 - fx) * (1 - fy)], [x0 + 1, y0, fx * (1 - fy)], [x0, y0 + 1, (1 - fx) * fy], [x0 + 1, y0 + 1, fx * fy],
          ];
          for (const [xx, yy, wt] of nb) {
            if (wt !== 0 && inside(xx, yy)) { indices[t] = yy * width + xx; weights[t] = wt * subW; }
            t++;
          }
        }
      }
    }
  }
  const out: ScaleSampling = { height, width, factor, supersample: k, taps, indices, weights, mask };
  cache.set(key, out);
  while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  return out;
}

function check4(x: Tensor4D, what: string): void {
  if (x.rank !== 4) throw new ScaleError(`${what} needs a [B, H, W, C] tensor, got shape [${x.shape.join(', ')}]`);
}

/**
 * Rescale every sample by its own factor about the map centre, same size, bilinear, zero fill (box-prefiltered for
 * shrinks when `antialias`): `[B, H, W, C]` float32 → `[B, H, W, C]` float32, one gather for the whole batch,
 * differentiable w.r.t. `x`. `factors` has one factor per sample, or one number for all.
 */
export function scaleBatch(x: Tensor4D, factors: readonly number[] | number, opts: { antialias?: boolean } = {}): Tensor4D {
  check4(x, 'scaleBatch');
  const [b, h, w] = x.shape;
  const fs = typeof factors === 'number' ? new Array<number>(b).fill(factors) : factors;
  if (fs.length !== b) throw new ScaleError(`scaleBatch: ${fs.length} factors for a batch of ${b}`);
  fs.forEach(checkFactor);
  if (fs.every((f) => f === 1)) return tf.clone(x);
  const k = Math.max(...fs.map((f) => supersampleFor(f, opts.antialias ?? false)));
  const tables = fs.map((f) => scaleSampling(h, w, f, k));
  const n = h * w, taps = tables[0].taps;
  const idx = new Int32Array(b * n * taps), wts = new Float32Array(b * n * taps);
  tables.forEach((t, i) => {
    const off = i * n;
    for (let j = 0; j < n * taps; j++) idx[off * taps + j] = t.indices[j] + off;
    wts.set(t.weights, off * taps);
  });
  return resampleBatch(x, idx, wts, taps, h, w);
}

/**
 * Validity mask of rescaled maps: `[B, H, W, 1]` float32 (B = number of factors), 1 where the output pixel's source
 * point lies inside the H×W map (all ones for enlargements, factors ≥ 1).
 */
export function scaleMask(height: number, width: number, factors: readonly number[] | number): Tensor4D {
  const fs = typeof factors === 'number' ? [factors] : factors;
  return masksTensor(height, width, fs.map((f) => scaleSampling(height, width, f).mask));
}

/** True when every factor's source points stay inside the map (enlargements, factors ≥ 1): the mask is all ones. */
export function scaleKeepsInside(height: number, width: number, factors: readonly number[] | number): boolean {
  const fs = typeof factors === 'number' ? [factors] : factors;
  return fs.every((f) => scaleSampling(height, width, f).mask.every((v) => v === 1));
}
