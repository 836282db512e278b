/**
 * A small seeded synthetic sequence for tracker tests: a textured rectangle moving (and optionally rotating) over a
 * textured background. Pure TypeScript, RawFrames in memory, exact ground truth.
 */
import type { RawFrame } from '../../tracker/tracker.js';
import type { Box } from '../../tracker/geometry.js';
import { rotateBoxBounds } from '../../tracker/geometry.js';
import { mulberry32 } from '../../tracker/random.js';

/** Seeded PRNG in [0, 1) (the project's mulberry32). */
export const rng = mulberry32;

/** A smooth random RGB texture `w × h` (sum of a few random sinusoids per channel), 0–255. */
export function texture(w: number, h: number, rand: () => number, waves = 6, amplitude = 40): Float32Array {
  const out = new Float32Array(w * h * 3);
  for (let c = 0; c < 3; c++) {
    const ws = Array.from({ length: waves }, () => ({
      fx: (rand() - 0.5) * 0.6, fy: (rand() - 0.5) * 0.6, ph: rand() * 6.28, a: 0.5 + rand(),
    }));
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let v = 0;
        for (const q of ws) v += q.a * Math.sin(q.fx * x + q.fy * y + q.ph);
        out[(y * w + x) * 3 + c] = 128 + amplitude * v;
      }
    }
  }
  return out;
}

/** Options of `makeSequence`. */
export interface SeqOptions {
  width?: number;
  height?: number;
  frames?: number;
  objW?: number;
  objH?: number;
  /** Rotation of the object in degrees per frame (counter-clockwise on screen). */
  rotation?: number;
  seed?: number;
}

/** Frames and exact ground truth (axis-aligned bounds of the rotated object). */
export function makeSequence(o: SeqOptions = {}): { frames: RawFrame[]; gt: Box[] } {
  const W = o.width ?? 160, H = o.height ?? 120, N = o.frames ?? 30;
  const ow = o.objW ?? 30, oh = o.objH ?? 22, rot = o.rotation ?? 0;
  const rand = rng(o.seed ?? 7);
  // a low-contrast background: the object, not the static context, dominates the template
  const bg = texture(W, H, rand, 4, 12);
  const obj = texture(ow, oh, rand, 8);
  for (let i = 0; i < obj.length; i++) obj[i] = obj[i] > 128 ? 240 : 20; // high-contrast object pattern
  const frames: RawFrame[] = [];
  const gt: Box[] = [];
  for (let t = 0; t < N; t++) {
    const cx = W / 2 + (W / 4) * Math.sin((2 * Math.PI * t) / N);
    const cy = H / 2 + (H / 5) * Math.sin((4 * Math.PI * t) / N);
    const th = (-(rot * t) * Math.PI) / 180;
    const c = Math.cos(th), s = Math.sin(th);
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        // inverse-rotate the pixel centre into the object's frame (nearest neighbour)
        const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
        const u = c * dx + s * dy + ow / 2, v = -s * dx + c * dy + oh / 2;
        const inside = u >= 0 && u < ow && v >= 0 && v < oh;
        for (let ch = 0; ch < 3; ch++) {
          const val = inside ? obj[((v | 0) * ow + (u | 0)) * 3 + ch] : bg[(y * W + x) * 3 + ch];
          data[(y * W + x) * 3 + ch] = Math.max(0, Math.min(255, Math.round(val)));
        }
      }
    }
    frames.push({ data, width: W, height: H });
    const box = { x: cx - ow / 2, y: cy - oh / 2, width: ow, height: oh };
    gt.push(rot === 0 ? box : rotateBoxBounds(box, rot * t, cx, cy));
  }
  return { frames, gt };
}

/** Success AUC of the OTB protocol (21 thresholds, IoU strictly greater), for tests that need one number. */
export function successAuc(pred: Box[], gt: Box[], iou: (a: Box, b: Box) => number): number {
  const ious = gt.map((g, i) => (i === 0 ? 1 : iou(pred[i], g)));
  let s = 0;
  for (let k = 0; k <= 20; k++) s += ious.filter((v) => v > k / 20).length / ious.length;
  return s / 21;
}
