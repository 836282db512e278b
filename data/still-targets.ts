/**
 * Object-like target boxes in a still photograph, for still-image training sequences (data/stills.ts).
 *
 * Candidate boxes are drawn with the size and aspect statistics of real tracking targets — side √(w·h) log-uniform
 * in a fraction of the image side, aspect w/h log-normal with median 0.71 and log-sd 0.57 (the first-frame boxes of
 * the 100 OTB-2015 sequences in `../shared/data/otb-mini/OTB2015.json`), clipped to [0.3, 3] — and scored by two
 * objectness cues (Alexe et al., "Measuring the objectness of image windows", PAMI 2012): colour contrast between
 * the box and the ring around it (χ² distance of 64-bin colour histograms, the "CC" cue) and edge density inside
 * the box relative to the image (the "ED" cue). Flat sky, walls and half-object windows score low; a region that
 * stands out from its surroundings scores high. The best boxes are kept with non-maximum suppression.
 */
import type { Box } from '../tracker/geometry.js';
import { iou } from '../tracker/geometry.js';
import type { RawFrame } from '../tracker/tracker.js';
import type { SeededRandom } from '../tracker/random.js';

/** Statistics of OTB-2015 first-frame boxes used to draw candidate shapes. */
export const OTB_ASPECT = { median: 0.71, logSd: 0.57, min: 0.3, max: 3 } as const;

/** A proposed target with its objectness score (higher = more object-like). */
export interface ScoredBox {
  box: Box;
  score: number;
  colourContrast: number;
  edgeDensity: number;
}

/** Options of `proposeTargets`. */
export interface ProposalOptions {
  /** Box side √(w·h) as a fraction of √(W·H): [min, max], drawn log-uniformly. */
  side: readonly [number, number];
  /** Candidates drawn before scoring. */
  candidates?: number;
  /** IoU above which a lower-scored box is suppressed. */
  nmsIou?: number;
}

function quantise(img: RawFrame): Uint8Array {
  const n = img.width * img.height;
  const q = new Uint8Array(n);
  for (let i = 0; i < n; i++) q[i] = ((img.data[3 * i] >> 6) << 4) | ((img.data[3 * i + 1] >> 6) << 2) | (img.data[3 * i + 2] >> 6);
  return q;
}

/** Integral image (W+1)×(H+1) of the gradient magnitude of the luminance. */
function gradientIntegral(img: RawFrame): Float64Array {
  const { width: W, height: H, data } = img;
  const lum = new Float32Array(W * H);
  for (let i = 0; i < W * H; i++) lum[i] = 0.299 * data[3 * i] + 0.587 * data[3 * i + 1] + 0.114 * data[3 * i + 2];
  const ii = new Float64Array((W + 1) * (H + 1));
  for (let y = 0; y < H; y++) {
    let row = 0;
    for (let x = 0; x < W; x++) {
      const gx = lum[y * W + Math.min(W - 1, x + 1)] - lum[y * W + Math.max(0, x - 1)];
      const gy = lum[Math.min(H - 1, y + 1) * W + x] - lum[Math.max(0, y - 1) * W + x];
      row += Math.hypot(gx, gy);
      ii[(y + 1) * (W + 1) + x + 1] = ii[y * (W + 1) + x + 1] + row;
    }
  }
  return ii;
}

function rectSum(ii: Float64Array, W: number, x0: number, y0: number, x1: number, y1: number): number {
  const w = W + 1;
  return ii[y1 * w + x1] - ii[y0 * w + x1] - ii[y1 * w + x0] + ii[y0 * w + x0];
}

function histogram(q: Uint8Array, W: number, x0: number, y0: number, x1: number, y1: number, hole?: [number, number, number, number]): Float64Array {
  const h = new Float64Array(64);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (hole && x >= hole[0] && x < hole[2] && y >= hole[1] && y < hole[3]) continue;
      h[q[y * W + x]]++;
    }
  }
  let s = 0;
  for (const v of h) s += v;
  if (s > 0) for (let i = 0; i < 64; i++) h[i] /= s;
  return h;
}

function chi2(a: Float64Array, b: Float64Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const s = a[i] + b[i];
    if (s > 0) d += ((a[i] - b[i]) ** 2) / s;
  }
  return d / 2;
}

/** Draw one candidate box fully inside the image (continuous pixels, 0-based). */
export function drawCandidate(W: number, H: number, side: readonly [number, number], rng: SeededRandom): Box {
  const s = Math.exp(rng.uniform(Math.log(side[0]), Math.log(side[1]))) * Math.sqrt(W * H);
  // Box–Muller normal for the log-aspect
  const u = Math.max(1e-12, rng.next());
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  const a = Math.min(OTB_ASPECT.max, Math.max(OTB_ASPECT.min, OTB_ASPECT.median * Math.exp(OTB_ASPECT.logSd * z)));
  const w = Math.min(0.6 * W, s * Math.sqrt(a));
  const h = Math.min(0.6 * H, s / Math.sqrt(a));
  return { x: rng.uniform(0, W - w), y: rng.uniform(0, H - h), width: w, height: h };
}

/**
 * Up to `count` object-like boxes of `img`, best first (scores from the cues above; boxes in `img` pixels).
 * Deterministic for a given generator state.
 */
export function proposeTargets(img: RawFrame, count: number, rng: SeededRandom, opts: ProposalOptions): ScoredBox[] {
  const { width: W, height: H } = img;
  const q = quantise(img);
  const gi = gradientIntegral(img);
  const meanEdge = rectSum(gi, W, 0, 0, W, H) / (W * H) + 1e-6;
  const scored: ScoredBox[] = [];
  for (let k = 0; k < (opts.candidates ?? 300); k++) {
    const b = drawCandidate(W, H, opts.side, rng);
    const x0 = Math.floor(b.x), y0 = Math.floor(b.y);
    const x1 = Math.min(W, Math.ceil(b.x + b.width)), y1 = Math.min(H, Math.ceil(b.y + b.height));
    if (x1 - x0 < 4 || y1 - y0 < 4) continue;
    // the ring: the box grown by half its size on each side (area ×4), clipped to the image
    const gw = Math.round((x1 - x0) / 2), gh = Math.round((y1 - y0) / 2);
    const rx0 = Math.max(0, x0 - gw), ry0 = Math.max(0, y0 - gh), rx1 = Math.min(W, x1 + gw), ry1 = Math.min(H, y1 + gh);
    const inside = histogram(q, W, x0, y0, x1, y1);
    const ring = histogram(q, W, rx0, ry0, rx1, ry1, [x0, y0, x1, y1]);
    const cc = chi2(inside, ring);
    const ed = rectSum(gi, W, x0, y0, x1, y1) / ((x1 - x0) * (y1 - y0)) / meanEdge;
    scored.push({ box: b, score: cc * Math.sqrt(Math.min(2, ed)), colourContrast: cc, edgeDensity: ed });
  }
  scored.sort((a, b) => b.score - a.score);
  const kept: ScoredBox[] = [];
  for (const s of scored) {
    if (kept.length >= count) break;
    if (kept.every((k) => iou(k.box, s.box) <= (opts.nmsIou ?? 0.3))) kept.push(s);
  }
  return kept;
}
