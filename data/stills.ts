/**
 * Still-image training sequences: a real photograph turned into a short tracking sequence by smooth random motion of
 * an object-like region of it (data/still-targets.ts), the way GOTURN and SiamRPN++ train on still images.
 *
 * Each frame is composed of
 * - the background: the photograph under a slow camera motion (pan, zoom, roll), with the target's original place
 *   filled by a blurred copy so that the target does not stay behind as an exact twin;
 * - 0–2 distractor copies of the target (colour-jittered, own motion), drawn below it;
 * - the target: the region's pixels inside a soft super-ellipse mask, moving with translation, scale change, aspect
 *   change and in-plane rotation (any angle, at up to `rotationRate` °/frame, counter-clockwise on screen for
 *   positive rates, the map of tracker/geometry.ts rotateBoxBounds);
 * - an occluder (a patch of the photograph) passing over part of the target, in some sequences;
 * - a smooth illumination change (gain and colour cast) and occasional blur.
 * Ground truth is the tight axis-aligned box of the rotated mask; cover labels (GOT-10k 0–8) give the visible share.
 * Every random choice comes from one seeded generator per sequence: same inputs, same bytes.
 */
import { z } from 'zod';
import type { Box } from '../tracker/geometry.js';
import type { RawFrame } from '../tracker/tracker.js';
import { SeededRandom } from '../tracker/random.js';
import { coverLevel, range, sequenceSeed } from './synthetic.js';

/** Parameters of the still-sequence generator (zod `.strict()`, every field has a default). */
export const StillsConfigSchema = z
  .object({
    seed: z.number().int().default(1),
    /** Sequences made from each photograph (each with its own target). */
    sequencesPerImage: z.number().int().min(1).max(20).default(3),
    /** Frames per sequence. */
    frames: z.number().int().min(2).max(1000).default(40),
    /** Longer side of the frames in pixels (photographs are resized to it; aspect kept, at most 2:1). */
    frameSide: z.number().int().min(64).max(2048).default(400),
    /** Target side √(w·h) as a fraction of √(W·H). */
    targetSide: range(0.08, 0.3),
    /** Maximum translation speed of the target, as a fraction of the frame's longer side per frame. */
    speed: z.number().min(0).max(0.2).default(0.012),
    /** Maximum change of log-scale per frame, and the range the scale stays in. */
    scaleRate: z.number().min(0).max(0.2).default(0.01),
    scaleRange: range(0.7, 1.4),
    /** Maximum change of log-aspect per frame, and its range. */
    aspectRate: z.number().min(0).max(0.2).default(0.004),
    aspectRange: range(0.85, 1.18),
    /** Maximum in-plane rotation rate of the target, degrees per frame (each sequence draws one in ±this). */
    rotationRate: z.number().min(0).max(90).default(3),
    /** Camera: maximum pan (fraction of the frame side per frame), zoom (log-scale per frame) and roll (°/frame). */
    cameraPan: z.number().min(0).max(0.05).default(0.003),
    cameraZoom: z.number().min(0).max(0.05).default(0.002),
    cameraRoll: z.number().min(0).max(10).default(0.3),
    /** Probability of an occluder in a sequence; maximum number of distractors. */
    occlusionProb: z.number().min(0).max(1).default(0.35),
    distractors: z.number().int().min(0).max(5).default(2),
    /** Amplitude of the illumination change (gain 1 ± this) and the probability that a frame is blurred. */
    illumination: z.number().min(0).max(0.9).default(0.25),
    blurProb: z.number().min(0).max(1).default(0.12),
    /** JPEG quality of the written frames. */
    quality: z.number().int().min(1).max(100).default(88),
  })
  .strict();
export type StillsConfig = z.infer<typeof StillsConfigSchema>;

/** Pose of a moving patch: centre (continuous pixels), half sizes, rotation (degrees, CCW on screen). */
interface Pose {
  cx: number;
  cy: number;
  hw: number;
  hh: number;
  deg: number;
}

/** A patch of the photograph drawn at a pose per frame: `src` is where it is cut from (photo pixels). */
interface Mover {
  src: Box;
  poses: Pose[];
  /** Per-channel gain (colour jitter of distractors). */
  tint: [number, number, number];
}

/** Everything about one still sequence except its pixels. */
export interface StillPlan {
  frames: number;
  width: number;
  height: number;
  target: Mover;
  distractors: Mover[];
  occluder: { start: number; end: number; src: Box; rects: Box[] } | null;
  /** Camera similarity per frame: zoom k, roll (degrees), shift (pixels) about the frame centre. */
  camera: { k: number; deg: number; dx: number; dy: number }[];
  gain: number[];
  cast: [number, number, number][];
  blur: number[];
  groundTruth: Box[];
  cover: number[];
  absence: boolean[];
  cutByImage: boolean[];
  rotationRate: number;
}

/** Super-ellipse exponent of the target mask (4: a rounded rectangle) and its soft edge (fraction of the radius). */
const MASK_POWER = 4;
const MASK_FEATHER = 0.08;

function maskAlpha(p: number, q: number): number {
  const r = Math.pow(Math.abs(p) ** MASK_POWER + Math.abs(q) ** MASK_POWER, 1 / MASK_POWER);
  return r >= 1 ? 0 : r <= 1 - MASK_FEATHER ? 1 : (1 - r) / MASK_FEATHER;
}

/** Points on the mask's outline in local normalised coordinates (for the exact box of the rotated mask). */
const OUTLINE: [number, number][] = Array.from({ length: 144 }, (_, k) => {
  const t = (2 * Math.PI * k) / 144;
  const c = Math.cos(t), s = Math.sin(t);
  return [Math.sign(c) * Math.abs(c) ** (2 / MASK_POWER), Math.sign(s) * Math.abs(s) ** (2 / MASK_POWER)];
});

/** Tight axis-aligned box of the mask at `pose`: local (u, v) lands at (cx + c·u + s·v, cy − s·u + c·v). */
export function poseBox(pose: Pose): Box {
  const t = (pose.deg * Math.PI) / 180;
  const c = Math.cos(t), s = Math.sin(t);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [p, q] of OUTLINE) {
    const u = p * pose.hw, v = q * pose.hh;
    const x = pose.cx + c * u + s * v, y = pose.cy - s * u + c * v;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

function movePoses(rng: SeededRandom, cfg: StillsConfig, W: number, H: number, start: Pose, rate: number): Pose[] {
  const side = Math.max(W, H);
  const vmax = cfg.speed * side;
  let { cx, cy } = start;
  const dir = rng.uniform(0, 2 * Math.PI);
  const sp = rng.uniform(0.2, 1) * vmax;
  let vx = sp * Math.cos(dir), vy = sp * Math.sin(dir);
  let logS = 0, dS = rng.uniform(-1, 1) * cfg.scaleRate;
  let logA = 0, dA = rng.uniform(-1, 1) * cfg.aspectRate;
  let deg = start.deg, w = rate;
  const [sMin, sMax] = [Math.log(cfg.scaleRange[0]), Math.log(cfg.scaleRange[1])];
  const [aMin, aMax] = [Math.log(cfg.aspectRange[0]), Math.log(cfg.aspectRange[1])];
  const poses: Pose[] = [];
  for (let t = 0; t < cfg.frames; t++) {
    const k = Math.exp(logS), a = Math.exp(logA / 2);
    poses.push({ cx, cy, hw: start.hw * k * a, hh: (start.hh * k) / a, deg });
    vx += rng.uniform(-0.2, 0.2) * vmax; vy += rng.uniform(-0.2, 0.2) * vmax;
    const v = Math.hypot(vx, vy);
    if (v > vmax && v > 0) { vx *= vmax / v; vy *= vmax / v; }
    cx += vx; cy += vy;
    // keep the centre inside the frame (the target may leave it partly)
    const mx = 0.4 * start.hw * k, my = 0.4 * start.hh * k;
    if (cx < mx) { cx = mx; vx = Math.abs(vx); } else if (cx > W - mx) { cx = W - mx; vx = -Math.abs(vx); }
    if (cy < my) { cy = my; vy = Math.abs(vy); } else if (cy > H - my) { cy = H - my; vy = -Math.abs(vy); }
    if (rng.next() < 0.05) dS = rng.uniform(-1, 1) * cfg.scaleRate;
    logS += dS;
    if (logS < sMin) { logS = sMin; dS = Math.abs(dS); } else if (logS > sMax) { logS = sMax; dS = -Math.abs(dS); }
    if (rng.next() < 0.05) dA = rng.uniform(-1, 1) * cfg.aspectRate;
    logA += dA;
    if (logA < aMin) { logA = aMin; dA = Math.abs(dA); } else if (logA > aMax) { logA = aMax; dA = -Math.abs(dA); }
    // the rotation rate wanders a little around the sequence's own rate
    w += rng.uniform(-0.1, 0.1) * Math.max(0.5, Math.abs(rate));
    if (Math.abs(w) > cfg.rotationRate) w = Math.sign(w) * cfg.rotationRate;
    deg += w;
  }
  return poses;
}

/** Visible share of the target's mask (inside the frame and not under the occluder), sampled on a grid. */
function visibleShare(pose: Pose, W: number, H: number, occ: Box | null): number {
  const t = (pose.deg * Math.PI) / 180;
  const c = Math.cos(t), s = Math.sin(t);
  let total = 0, seen = 0;
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      const p = (j + 0.5) / 8 - 1, q = (i + 0.5) / 8 - 1;
      if (maskAlpha(p, q) < 0.5) continue;
      total++;
      const u = p * pose.hw, v = q * pose.hh;
      const x = pose.cx + c * u + s * v, y = pose.cy - s * u + c * v;
      if (x < 0 || y < 0 || x >= W || y >= H) continue;
      if (occ && x >= occ.x && x < occ.x + occ.width && y >= occ.y && y < occ.y + occ.height) continue;
      seen++;
    }
  }
  return total ? seen / total : 0;
}

/**
 * Plan sequence `index` of a photograph of `W × H` (frame pixels) whose target is `target` (frame pixels): all
 * motion, lighting and labels. `seed` is the dataset seed; the generator is derived from (seed, index).
 */
export function planStillSequence(cfg: StillsConfig, W: number, H: number, target: Box, index: number): StillPlan {
  const rng = new SeededRandom(sequenceSeed(cfg.seed, index));
  const n = cfg.frames;
  const rate = rng.uniform(-1, 1) * cfg.rotationRate;
  const start: Pose = { cx: target.x + target.width / 2, cy: target.y + target.height / 2, hw: target.width / 2, hh: target.height / 2, deg: 0 };
  const tMover: Mover = { src: target, poses: movePoses(rng, cfg, W, H, start, rate), tint: [1, 1, 1] };
  const distractors: Mover[] = [];
  const nd = rng.int(0, cfg.distractors);
  for (let k = 0; k < nd; k++) {
    const kSize = rng.uniform(0.8, 1.15);
    const dStart: Pose = { cx: rng.uniform(0, W), cy: rng.uniform(0, H), hw: start.hw * kSize, hh: start.hh * kSize, deg: rng.uniform(0, 360) };
    const tint: [number, number, number] = [rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2)];
    distractors.push({ src: target, poses: movePoses(rng, cfg, W, H, dStart, rng.uniform(-1, 1) * cfg.rotationRate), tint });
  }
  let occluder: StillPlan['occluder'] = null;
  if (rng.next() < cfg.occlusionProb) {
    const len = Math.max(2, Math.round(n * rng.uniform(0.15, 0.35)));
    const s0 = rng.int(1, Math.max(1, n - len));
    const side = Math.sqrt(target.width * target.height);
    const ow = side * rng.uniform(0.4, 0.8), oh = side * rng.uniform(0.5, 1.0);
    const src: Box = { x: rng.uniform(0, Math.max(0, W - ow)), y: rng.uniform(0, Math.max(0, H - oh)), width: ow, height: oh };
    const off = rng.uniform(-0.4, 0.4) * side;
    const dirn = rng.next() < 0.5 ? -1 : 1;
    const rects: Box[] = [];
    for (let t = 0; t < n; t++) {
      const p = tMover.poses[t];
      const k = len > 1 ? (t - s0) / (len - 1) : 0.5;
      rects.push({ x: p.cx + dirn * (k * 2 - 1) * side * 0.9 - ow / 2, y: p.cy + off - oh / 2, width: ow, height: oh });
    }
    occluder = { start: s0, end: Math.min(n, s0 + len), src, rects };
  }
  const side = Math.max(W, H);
  const pan = rng.uniform(0, cfg.cameraPan * side), panDir = rng.uniform(0, 2 * Math.PI);
  const zoom = rng.uniform(-1, 1) * cfg.cameraZoom, roll = rng.uniform(-1, 1) * cfg.cameraRoll;
  const camera = Array.from({ length: n }, (_, t) => ({
    k: Math.exp(zoom * t), deg: roll * t, dx: Math.cos(panDir) * pan * t, dy: Math.sin(panDir) * pan * t,
  }));
  const period = rng.uniform(20, 60), phase = rng.uniform(0, 2 * Math.PI);
  const gain = Array.from({ length: n }, (_, t) => 1 + cfg.illumination * Math.sin((2 * Math.PI * t) / period + phase));
  const castEnd: [number, number, number] = [rng.uniform(0.9, 1.1), rng.uniform(0.9, 1.1), rng.uniform(0.9, 1.1)];
  const cast = Array.from({ length: n }, (_, t) => castEnd.map((c) => 1 + ((c - 1) * t) / Math.max(1, n - 1)) as [number, number, number]);
  const blur = Array.from({ length: n }, (_, t) => (t > 0 && rng.next() < cfg.blurProb ? rng.int(1, 2) : 0));
  const groundTruth: Box[] = [], cover: number[] = [], absence: boolean[] = [], cutByImage: boolean[] = [];
  for (let t = 0; t < n; t++) {
    const pose = tMover.poses[t];
    const box = poseBox(pose);
    groundTruth.push(box);
    const occ = occluder && t >= occluder.start && t < occluder.end ? occluder.rects[t] : null;
    const v = visibleShare(pose, W, H, occ);
    cover.push(coverLevel(v));
    absence.push(v === 0);
    cutByImage.push(box.x < 0 || box.y < 0 || box.x + box.width > W || box.y + box.height > H);
  }
  return { frames: n, width: W, height: H, target: tMover, distractors, occluder, camera, gain, cast, blur, groundTruth, cover, absence, cutByImage, rotationRate: rate };
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering: float RGB canvases, bilinear sampling of the photograph.

/** A float RGB image `[h, w, 3]`. */
interface Canvas {
  data: Float32Array;
  width: number;
  height: number;
}

function toCanvas(f: RawFrame): Canvas {
  return { data: Float32Array.from(f.data), width: f.width, height: f.height };
}

function sample(img: Canvas, x: number, y: number, out: number[], fill: readonly number[]): void {
  const { width: W, height: H, data } = img;
  const x0 = Math.floor(x), y0 = Math.floor(y);
  if (x0 < 0 || y0 < 0 || x0 >= W - 1 || y0 >= H - 1) {
    const xi = Math.round(x), yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= W || yi >= H) { out[0] = fill[0]; out[1] = fill[1]; out[2] = fill[2]; return; }
    const o = (yi * W + xi) * 3;
    out[0] = data[o]; out[1] = data[o + 1]; out[2] = data[o + 2];
    return;
  }
  const fx = x - x0, fy = y - y0;
  const o = (y0 * W + x0) * 3, o2 = o + W * 3;
  for (let c = 0; c < 3; c++) {
    const a = data[o + c] * (1 - fx) + data[o + 3 + c] * fx;
    const b = data[o2 + c] * (1 - fx) + data[o2 + 3 + c] * fx;
    out[c] = a * (1 - fy) + b * fy;
  }
}

/** Box blur of radius `r` via an integral image (any radius at the same cost). */
function boxBlur(img: Canvas, r: number): Canvas {
  const { width: W, height: H, data } = img;
  const w1 = W + 1;
  const ii = new Float64Array(w1 * (H + 1) * 3);
  for (let y = 0; y < H; y++) {
    const row = [0, 0, 0];
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        row[c] += data[(y * W + x) * 3 + c];
        ii[((y + 1) * w1 + x + 1) * 3 + c] = ii[(y * w1 + x + 1) * 3 + c] + row[c];
      }
    }
  }
  const out = new Float32Array(data.length);
  for (let y = 0; y < H; y++) {
    const y0 = Math.max(0, y - r), y1 = Math.min(H, y + r + 1);
    for (let x = 0; x < W; x++) {
      const x0 = Math.max(0, x - r), x1 = Math.min(W, x + r + 1);
      const n = (x1 - x0) * (y1 - y0);
      for (let c = 0; c < 3; c++) {
        const s = ii[(y1 * w1 + x1) * 3 + c] - ii[(y0 * w1 + x1) * 3 + c] - ii[(y1 * w1 + x0) * 3 + c] + ii[(y0 * w1 + x0) * 3 + c];
        out[(y * W + x) * 3 + c] = s / n;
      }
    }
  }
  return { data: out, width: W, height: H };
}

function meanOf(img: Canvas): [number, number, number] {
  const m = [0, 0, 0];
  for (let i = 0; i < img.data.length; i += 3) { m[0] += img.data[i]; m[1] += img.data[i + 1]; m[2] += img.data[i + 2]; }
  const n = Math.max(1, img.data.length / 3);
  return [m[0] / n, m[1] / n, m[2] / n];
}

/** The photograph with the target's place filled by a strongly blurred copy (soft edge). */
function backgroundPlate(photo: Canvas, target: Box): Canvas {
  const r = Math.max(2, Math.round(0.35 * Math.min(target.width, target.height)));
  const blurred = boxBlur(photo, r);
  const out = new Float32Array(photo.data);
  const cx = target.x + target.width / 2, cy = target.y + target.height / 2;
  const hw = target.width / 2 * 1.15, hh = target.height / 2 * 1.15;
  for (let y = Math.max(0, Math.floor(cy - hh)); y < Math.min(photo.height, Math.ceil(cy + hh)); y++) {
    for (let x = Math.max(0, Math.floor(cx - hw)); x < Math.min(photo.width, Math.ceil(cx + hw)); x++) {
      const a = maskAlpha((x + 0.5 - cx) / hw, (y + 0.5 - cy) / hh);
      if (a <= 0) continue;
      const o = (y * photo.width + x) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = out[o + c] * (1 - a) + blurred.data[o + c] * a;
    }
  }
  return { data: out, width: photo.width, height: photo.height };
}

/** Draw `src` (a box of the photograph) at `pose` with the soft mask, scaled per channel by `tint`. */
function drawPatch(dst: Canvas, photo: Canvas, src: Box, pose: Pose, tint: readonly number[], fill: readonly number[]): void {
  const b = poseBox(pose);
  const t = (pose.deg * Math.PI) / 180;
  const c = Math.cos(t), s = Math.sin(t);
  const scx = src.x + src.width / 2, scy = src.y + src.height / 2;
  const px = [0, 0, 0];
  for (let y = Math.max(0, Math.floor(b.y)); y < Math.min(dst.height, Math.ceil(b.y + b.height)); y++) {
    const dy = y + 0.5 - pose.cy;
    for (let x = Math.max(0, Math.floor(b.x)); x < Math.min(dst.width, Math.ceil(b.x + b.width)); x++) {
      const dx = x + 0.5 - pose.cx;
      const p = (c * dx - s * dy) / pose.hw, q = (s * dx + c * dy) / pose.hh;
      const a = maskAlpha(p, q);
      if (a <= 0) continue;
      sample(photo, scx + (p * src.width) / 2 - 0.5, scy + (q * src.height) / 2 - 0.5, px, fill);
      const o = (y * dst.width + x) * 3;
      for (let ch = 0; ch < 3; ch++) dst.data[o + ch] = dst.data[o + ch] * (1 - a) + px[ch] * tint[ch] * a;
    }
  }
}

/**
 * Render the frames of `plan` from `photo` (already at the plan's frame size), one at a time: `[H, W, 3]` RGB bytes.
 */
export function* renderStillSequence(plan: StillPlan, photoFrame: RawFrame): Generator<RawFrame> {
  if (photoFrame.width !== plan.width || photoFrame.height !== plan.height) {
    throw new Error(`renderStillSequence: photograph is ${photoFrame.width}×${photoFrame.height}, the plan ${plan.width}×${plan.height}`);
  }
  const photo = toCanvas(photoFrame);
  const fill = meanOf(photo);
  const plate = backgroundPlate(photo, plan.target.src);
  const { width: W, height: H } = plan;
  const px = [0, 0, 0];
  const one = [1, 1, 1];
  for (let t = 0; t < plan.frames; t++) {
    let frame: Canvas = { data: new Float32Array(W * H * 3), width: W, height: H };
    const cam = plan.camera[t];
    const ct = (cam.deg * Math.PI) / 180;
    const cc = Math.cos(ct) / cam.k, cs = Math.sin(ct) / cam.k;
    const mx = (W - 1) / 2, my = (H - 1) / 2;
    for (let y = 0, o = 0; y < H; y++) {
      for (let x = 0; x < W; x++, o += 3) {
        // inverse camera map: frame pixel → photograph pixel
        const dx = x - mx - cam.dx, dy = y - my - cam.dy;
        sample(plate, mx + cc * dx - cs * dy, my + cs * dx + cc * dy, px, fill);
        frame.data[o] = px[0]; frame.data[o + 1] = px[1]; frame.data[o + 2] = px[2];
      }
    }
    for (const d of plan.distractors) drawPatch(frame, photo, d.src, d.poses[t], d.tint, fill);
    drawPatch(frame, photo, plan.target.src, plan.target.poses[t], one, fill);
    const occ = plan.occluder;
    if (occ && t >= occ.start && t < occ.end) {
      const r = occ.rects[t];
      for (let y = Math.max(0, Math.ceil(r.y - 0.5)); y < H && y + 0.5 < r.y + r.height; y++) {
        for (let x = Math.max(0, Math.ceil(r.x - 0.5)); x < W && x + 0.5 < r.x + r.width; x++) {
          sample(photo, occ.src.x + (x + 0.5 - r.x) - 0.5, occ.src.y + (y + 0.5 - r.y) - 0.5, px, fill);
          const o = (y * W + x) * 3;
          frame.data[o] = px[0]; frame.data[o + 1] = px[1]; frame.data[o + 2] = px[2];
        }
      }
    }
    if (plan.blur[t] > 0) frame = boxBlur(frame, plan.blur[t]);
    const g = plan.gain[t], cast = plan.cast[t];
    const data = new Uint8Array(W * H * 3);
    for (let i = 0; i < data.length; i++) {
      const v = frame.data[i] * g * cast[i % 3] + 0.5;
      data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    yield { data, width: W, height: H };
  }
}
