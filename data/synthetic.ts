/**
 * Seeded synthetic tracking sequences: a textured target (rectangle, ellipse or polygon; stripes, checker, noise
 * blobs or gradient) moving over a textured or photographic background with translation, rotation at a chosen rate
 * (degrees per frame, counter-clockwise on screen for positive rates), scale change, partial occlusion, distractors of
 * similar appearance, illumination change and blur. Written in GOT-10k layout (training) or OTB layout (evaluation).
 *
 * Ground truth is exact: the tight axis-aligned box of the rotated target shape in continuous pixels (0-based), with
 * the same rotation map as tracker/geometry.ts rotateBoxBounds. The same config (seed included) gives byte-identical
 * files: every random choice comes from one seeded generator per sequence, nothing reads the clock.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { Box } from '../tracker/geometry.js';
import type { RawFrame } from '../tracker/tracker.js';
import { SeededRandom } from '../tracker/random.js';
import { readFrameResized } from './frames.js';
import { got10kSequenceName, writeGot10kList, writeGot10kSequence } from './got10k.js';
import { writeOtbSequence } from './otb.js';

/** A `[min, max]` pair of finite numbers with a default, checked min ≤ max (zod field of generator configs). */
export const range = (lo: number, hi: number) => z.tuple([z.number().finite(), z.number().finite()]).default([lo, hi]).refine((r) => r[0] <= r[1], 'range must be [min, max] with min <= max');

/** Parameters of the generator (zod `.strict()`, every field has a default). */
export const SyntheticConfigSchema = z
  .object({
    /** Seed of the whole dataset; sequence i uses a generator derived from (seed, i). */
    seed: z.number().int().default(1),
    /** Number of sequences. */
    count: z.number().int().min(1).max(100000).default(4),
    /** Frames per sequence. */
    frames: z.number().int().min(2).max(100000).default(60),
    /** Frame size in pixels. */
    width: z.number().int().min(32).max(4096).default(320),
    height: z.number().int().min(32).max(4096).default(240),
    /** Target rotation rate in degrees per frame (magnitude; sign from `rotationSign`). */
    rotationRate: z.number().finite().min(0).max(90).default(1),
    /** Sign of the rotation: counter-clockwise on screen (`positive`), clockwise, or random per sequence. */
    rotationSign: z.enum(['positive', 'negative', 'random']).default('random'),
    /** Target size (longer side before scaling) as a fraction of min(width, height). */
    targetSize: range(0.15, 0.35),
    /** Target aspect ratio width/height range. */
    aspect: range(0.5, 2),
    /** Maximum translation speed of the target, pixels per frame. */
    speed: z.number().finite().min(0).default(2.5),
    /** Maximum change of log-scale per frame (0 = no scale change). */
    scaleRate: z.number().finite().min(0).max(0.2).default(0.01),
    /** Scale stays within this range of the initial size. */
    scaleRange: range(0.6, 1.6),
    /** Probability that an occluder passes over the target in a sequence. */
    occlusionProb: z.number().min(0).max(1).default(0.5),
    /** Maximum number of distractors (similar-looking shapes); each sequence draws 0..this many. */
    distractors: z.number().int().min(0).max(10).default(2),
    /** Amplitude of the global illumination change (gain 1 ± amplitude). */
    illumination: z.number().min(0).max(0.9).default(0.25),
    /** Probability that a frame is blurred. */
    blurProb: z.number().min(0).max(1).default(0.15),
    /** Maximum camera pan of the background, pixels per frame. */
    pan: z.number().min(0).max(8).default(0.5),
    /** Folder of still images used as backgrounds (jpg/png); procedural textures when absent. */
    backgrounds: z.string().min(1).optional(),
    /** Image format and JPEG quality of the written frames. */
    format: z.enum(['jpg', 'png']).default('jpg'),
    quality: z.number().int().min(1).max(100).default(90),
  })
  .strict();

/** Parsed generator parameters. */
export type SyntheticConfig = z.infer<typeof SyntheticConfigSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Random numbers: mulberry32 seeded through a splitmix-style mix of (seed, index).

/** A deterministic random generator (the project's mulberry32, tracker/random.ts), seeded with the 32-bit state. */
export const Rng = SeededRandom;
export type Rng = SeededRandom;

/** Seed of sequence `index` of a dataset with `seed`. */
export function sequenceSeed(seed: number, index: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Shapes and textures, in target-local normalised coordinates (p, q) ∈ [−1, 1]² (p along the target's width).

type Rgb = [number, number, number];
/** Shape kinds of targets and distractors. */
export type ShapeKind = 'rectangle' | 'ellipse' | 'polygon';
/** Texture kinds painted on targets. */
export type TextureKind = 'stripes' | 'checker' | 'blobs' | 'gradient';

interface Texture {
  kind: TextureKind;
  a: Rgb;
  b: Rgb;
  angle: number;
  freq: number;
  blobs: { p: number; q: number; r: number; c: Rgb }[];
}

interface Shape {
  kind: ShapeKind;
  /** Polygon vertices in normalised coordinates (convex, inside the unit square). */
  poly: [number, number][];
  texture: Texture;
}

function randomColour(rng: Rng): Rgb {
  return [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
}

function randomTexture(rng: Rng): Texture {
  const a = randomColour(rng);
  let b = randomColour(rng);
  // Keep the two colours apart so the texture (and thus the rotation) is visible.
  if (Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]) < 150) b = a.map((v) => 255 - v) as Rgb;
  const blobs = Array.from({ length: rng.int(3, 7) }, () => ({
    p: rng.uniform(-1, 1), q: rng.uniform(-1, 1), r: rng.uniform(0.2, 0.6), c: randomColour(rng),
  }));
  return { kind: rng.pick(['stripes', 'checker', 'blobs', 'gradient'] as const), a, b, angle: rng.uniform(0, Math.PI), freq: rng.uniform(2, 5), blobs };
}

function randomShape(rng: Rng): Shape {
  const kind = rng.pick(['rectangle', 'ellipse', 'polygon'] as const);
  const n = rng.int(5, 8);
  const poly: [number, number][] = [];
  // A convex polygon: vertices at sorted angles on the unit circle's inscribed ellipse, slightly jittered radially
  // inwards, then stretched so that it touches the unit square on each side (tight local extent).
  const angles = Array.from({ length: n }, (_, k) => (2 * Math.PI * (k + rng.uniform(-0.3, 0.3))) / n).sort((x, y) => x - y);
  for (const t of angles) poly.push([Math.cos(t), Math.sin(t)]);
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [x, y] of poly) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const norm = poly.map(([x, y]) => [((x - x0) / (x1 - x0)) * 2 - 1, ((y - y0) / (y1 - y0)) * 2 - 1] as [number, number]);
  return { kind, poly: norm, texture: randomTexture(rng) };
}

function insideShape(s: Shape, p: number, q: number): boolean {
  if (p < -1 || p > 1 || q < -1 || q > 1) return false;
  if (s.kind === 'rectangle') return true;
  if (s.kind === 'ellipse') return p * p + q * q <= 1;
  let inside = false;
  const v = s.poly;
  for (let i = 0, j = v.length - 1; i < v.length; j = i++) {
    const [xi, yi] = v[i], [xj, yj] = v[j];
    if (yi > q !== yj > q && p < ((xj - xi) * (q - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function textureColour(t: Texture, p: number, q: number, out: number[]): void {
  const u = p * Math.cos(t.angle) + q * Math.sin(t.angle);
  let c: Rgb;
  switch (t.kind) {
    case 'stripes':
      c = Math.sin(u * t.freq * Math.PI) >= 0 ? t.a : t.b;
      break;
    case 'checker':
      c = (Math.floor((p + 1) * t.freq * 0.75) + Math.floor((q + 1) * t.freq * 0.75)) % 2 === 0 ? t.a : t.b;
      break;
    case 'gradient': {
      const k = (u + 1.5) / 3;
      out[0] = t.a[0] + (t.b[0] - t.a[0]) * k; out[1] = t.a[1] + (t.b[1] - t.a[1]) * k; out[2] = t.a[2] + (t.b[2] - t.a[2]) * k;
      // A notch of the second colour in one corner makes the gradient's orientation unambiguous.
      if (p > 0.45 && q < -0.45) { out[0] = t.b[0]; out[1] = t.b[1]; out[2] = t.b[2]; }
      return;
    }
    default: {
      out[0] = t.a[0]; out[1] = t.a[1]; out[2] = t.a[2];
      for (const b of t.blobs) {
        const d2 = ((p - b.p) ** 2 + (q - b.q) ** 2) / (b.r * b.r);
        if (d2 < 4) {
          const w = Math.exp(-d2);
          out[0] += (b.c[0] - out[0]) * w; out[1] += (b.c[1] - out[1]) * w; out[2] += (b.c[2] - out[2]) * w;
        }
      }
      return;
    }
  }
  out[0] = c[0]; out[1] = c[1]; out[2] = c[2];
}

/** Pose of a shape in one frame: centre (continuous pixels), half sizes, rotation (degrees, CCW on screen). */
interface Pose {
  cx: number;
  cy: number;
  hw: number;
  hh: number;
  deg: number;
}

/**
 * Tight axis-aligned box of `shape` at `pose`: the local point (u, v) lands at (cx + c·u + s·v, cy − s·u + c·v), the
 * map of geometry.rotateBoxBounds. Rectangles and polygons: bounds of the moved vertices; ellipses: analytic extent.
 */
function shapeBox(shape: Shape, pose: Pose): Box {
  const t = (pose.deg * Math.PI) / 180;
  const c = Math.cos(t), s = Math.sin(t);
  if (shape.kind === 'ellipse') {
    const ex = Math.sqrt((pose.hw * c) ** 2 + (pose.hh * s) ** 2);
    const ey = Math.sqrt((pose.hw * s) ** 2 + (pose.hh * c) ** 2);
    return { x: pose.cx - ex, y: pose.cy - ey, width: 2 * ex, height: 2 * ey };
  }
  const verts = shape.kind === 'rectangle' ? [[-1, -1], [1, -1], [1, 1], [-1, 1]] : shape.poly;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [p, q] of verts) {
    const u = p * pose.hw, v = q * pose.hh;
    const x = pose.cx + c * u + s * v, y = pose.cy - s * u + c * v;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/**
 * Visit the pixels of the canvas `W × H` covered by `shape` at `pose`; `fn(x, y, p, q)` gets pixel indices and the
 * local normalised coordinates of the pixel centre. Pixels outside the canvas are visited only with `all`.
 */
function forEachShapePixel(
  shape: Shape, pose: Pose, W: number, H: number, all: boolean, fn: (x: number, y: number, p: number, q: number) => void,
): void {
  const b = shapeBox(shape, pose);
  const t = (pose.deg * Math.PI) / 180;
  const c = Math.cos(t), s = Math.sin(t);
  let xa = Math.floor(b.x), xb = Math.ceil(b.x + b.width), ya = Math.floor(b.y), yb = Math.ceil(b.y + b.height);
  if (!all) { xa = Math.max(xa, 0); ya = Math.max(ya, 0); xb = Math.min(xb, W); yb = Math.min(yb, H); }
  for (let y = ya; y < yb; y++) {
    const dy = y + 0.5 - pose.cy;
    for (let x = xa; x < xb; x++) {
      const dx = x + 0.5 - pose.cx;
      // Inverse of the forward map: u = c·dx − s·dy, v = s·dx + c·dy.
      const p = (c * dx - s * dy) / pose.hw, q = (s * dx + c * dy) / pose.hh;
      if (insideShape(shape, p, q)) fn(x, y, p, q);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Planning: every random choice and every pose of a sequence, before any pixel is drawn.

interface Mover {
  shape: Shape;
  poses: Pose[];
}

interface Occluder {
  /** Frames [start, end) during which the occluder is drawn. */
  start: number;
  end: number;
  /** Axis-aligned rectangle per frame (continuous pixels). */
  rects: Box[];
  texture: Texture;
}

/** Everything about one synthetic sequence except its pixels. */
export interface SyntheticPlan {
  index: number;
  name: string;
  config: SyntheticConfig;
  target: Mover;
  distractors: Mover[];
  occluder: Occluder | null;
  /** Background canvas offset per frame (integer pixels, camera pan). */
  pan: [number, number][];
  /** Background source: procedural texture or an image file. */
  background: { kind: 'texture'; texture: Texture; tint: Rgb; clutter: Texture['blobs'] } | { kind: 'image'; file: string };
  gain: number[];
  blur: number[];
  groundTruth: Box[];
  cover: number[];
  absence: boolean[];
  cutByImage: boolean[];
  /** Fraction of the target's pixels visible (inside the frame and not occluded), per frame. */
  visible: number[];
  meta: Record<string, string>;
}

function listBackgrounds(dir: string | undefined): string[] {
  if (!dir) return [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    throw new Error(`backgrounds folder not found: ${dir}`);
  }
  const files = names.filter((n) => /\.(jpe?g|png)$/i.test(n)).sort().map((n) => path.join(path.resolve(dir), n));
  if (files.length === 0) throw new Error(`backgrounds folder has no .jpg/.png images: ${dir}`);
  return files;
}

function movePoses(rng: Rng, cfg: SyntheticConfig, hw0: number, hh0: number, rate: number, start?: [number, number]): Pose[] {
  const { width: W, height: H, frames: n } = cfg;
  const r = Math.max(hw0, hh0);
  let cx = start ? start[0] : rng.uniform(r, W - r);
  let cy = start ? start[1] : rng.uniform(r, H - r);
  const sp = rng.uniform(0.3, 1) * cfg.speed;
  const dir = rng.uniform(0, 2 * Math.PI);
  let vx = sp * Math.cos(dir), vy = sp * Math.sin(dir);
  let logS = 0;
  let dS = rng.uniform(-1, 1) * cfg.scaleRate;
  const [sMin, sMax] = [Math.log(cfg.scaleRange[0]), Math.log(cfg.scaleRange[1])];
  const poses: Pose[] = [];
  for (let t = 0; t < n; t++) {
    const k = Math.exp(logS);
    poses.push({ cx, cy, hw: hw0 * k, hh: hh0 * k, deg: t * rate });
    // Small random accelerations; bounce so that the centre stays inside the frame (the target may be cut a little).
    vx += rng.uniform(-0.15, 0.15) * cfg.speed; vy += rng.uniform(-0.15, 0.15) * cfg.speed;
    const v = Math.hypot(vx, vy);
    if (v > cfg.speed && v > 0) { vx *= cfg.speed / v; vy *= cfg.speed / v; }
    cx += vx; cy += vy;
    const m = 0.5 * r * k;
    if (cx < m) { cx = m; vx = Math.abs(vx); } else if (cx > W - m) { cx = W - m; vx = -Math.abs(vx); }
    if (cy < m) { cy = m; vy = Math.abs(vy); } else if (cy > H - m) { cy = H - m; vy = -Math.abs(vy); }
    if (rng.next() < 0.05) dS = rng.uniform(-1, 1) * cfg.scaleRate;
    logS += dS;
    if (logS < sMin) { logS = sMin; dS = Math.abs(dS); } else if (logS > sMax) { logS = sMax; dS = -Math.abs(dS); }
  }
  return poses;
}

/** GOT-10k cover level (0–8) of a visible fraction: 0 none, 8 all, 1–7 bins of 15% from 0 up to 90%–100%. */
export function coverLevel(visible: number): number {
  if (visible <= 0) return 0;
  if (visible >= 1) return 8;
  return Math.min(7, Math.floor(visible / 0.15) + 1);
}

/** Plan sequence `index` (0-based) of a dataset: poses, occlusion, lighting, labels and exact ground truth. */
export function planSequence(config: Partial<SyntheticConfig> | SyntheticConfig, index: number, backgroundFiles?: string[]): SyntheticPlan {
  const cfg = SyntheticConfigSchema.parse(config);
  const rng = new Rng(sequenceSeed(cfg.seed, index));
  const { width: W, height: H, frames: n } = cfg;
  const bgFiles = backgroundFiles ?? listBackgrounds(cfg.backgrounds);
  const background: SyntheticPlan['background'] = bgFiles.length
    ? { kind: 'image', file: rng.pick(bgFiles) }
    : {
        kind: 'texture',
        texture: randomTexture(rng),
        tint: randomColour(rng),
        clutter: Array.from({ length: 40 }, () => ({ p: rng.uniform(-1.2, 1.2), q: rng.uniform(-1.2, 1.2), r: rng.uniform(0.03, 0.2), c: randomColour(rng) })),
      };

  const shape = randomShape(rng);
  const side = rng.uniform(cfg.targetSize[0], cfg.targetSize[1]) * Math.min(W, H);
  const aspect = Math.exp(rng.uniform(Math.log(cfg.aspect[0]), Math.log(cfg.aspect[1])));
  const [hw0, hh0] = aspect >= 1 ? [side / 2, side / 2 / aspect] : [(side / 2) * aspect, side / 2];
  const sign = cfg.rotationSign === 'positive' ? 1 : cfg.rotationSign === 'negative' ? -1 : rng.next() < 0.5 ? -1 : 1;
  const rate = sign * cfg.rotationRate;
  const target: Mover = { shape, poses: movePoses(rng, cfg, hw0, hh0, rate) };

  const distractors: Mover[] = [];
  const nd = rng.int(0, cfg.distractors);
  for (let k = 0; k < nd; k++) {
    // Same shape and texture family, colours nudged: similar appearance, not a copy.
    const tex = { ...shape.texture, a: shape.texture.a.map((v) => Math.max(0, Math.min(255, v + rng.int(-30, 30)))) as Rgb };
    const ds: Shape = { ...shape, texture: tex };
    const kSize = rng.uniform(0.8, 1.2);
    const dRate = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0, Math.max(cfg.rotationRate, 0.5));
    distractors.push({ shape: ds, poses: movePoses(rng, cfg, hw0 * kSize, hh0 * kSize, dRate) });
  }

  let occluder: Occluder | null = null;
  if (rng.next() < cfg.occlusionProb) {
    const len = Math.max(2, Math.round(n * rng.uniform(0.15, 0.35)));
    const start = rng.int(1, Math.max(1, n - len));
    const end = Math.min(n, start + len);
    // The occluder crosses the target horizontally at a vertical offset, so that it hides part of it.
    const ow = side * rng.uniform(0.4, 0.8), oh = side * rng.uniform(0.5, 1.0);
    const off = rng.uniform(-0.4, 0.4) * side;
    const dirn = rng.next() < 0.5 ? -1 : 1;
    const rects: Box[] = [];
    for (let t = 0; t < n; t++) {
      const p = target.poses[t];
      const k = end - start > 1 ? (t - start) / (end - start - 1) : 0.5;
      const ox = p.cx + dirn * (k * 2 - 1) * (side * 0.9);
      rects.push({ x: ox - ow / 2, y: p.cy + off - oh / 2, width: ow, height: oh });
    }
    occluder = { start, end, rects, texture: randomTexture(rng) };
  }

  const panDir = rng.uniform(0, 2 * Math.PI), panSp = rng.uniform(0, cfg.pan);
  const pad = Math.ceil(cfg.pan * n) + 1;
  const pan: [number, number][] = [];
  for (let t = 0; t < n; t++) {
    // Offsets inside the (W + 2·pad) × (H + 2·pad) background canvas.
    pan.push([Math.round(pad + Math.cos(panDir) * panSp * (t - n / 2) * 0.999), Math.round(pad + Math.sin(panDir) * panSp * (t - n / 2) * 0.999)]);
  }
  const period = rng.uniform(20, 60), phase = rng.uniform(0, 2 * Math.PI);
  const gain = Array.from({ length: n }, (_, t) => 1 + cfg.illumination * Math.sin((2 * Math.PI * t) / period + phase));
  const blur = Array.from({ length: n }, () => (rng.next() < cfg.blurProb ? rng.int(1, 2) : 0));
  blur[0] = 0;

  const groundTruth: Box[] = [], cover: number[] = [], absence: boolean[] = [], cutByImage: boolean[] = [], visible: number[] = [];
  for (let t = 0; t < n; t++) {
    const pose = target.poses[t];
    const box = shapeBox(shape, pose);
    groundTruth.push(box);
    let total = 0, seen = 0;
    const occ = occluder && t >= occluder.start && t < occluder.end ? occluder.rects[t] : null;
    forEachShapePixel(shape, pose, W, H, true, (x, y) => {
      total++;
      if (x < 0 || y < 0 || x >= W || y >= H) return;
      const X = x + 0.5, Y = y + 0.5;
      if (occ && X >= occ.x && X < occ.x + occ.width && Y >= occ.y && Y < occ.y + occ.height) return;
      seen++;
    });
    const v = total > 0 ? seen / total : 0;
    visible.push(v);
    cover.push(coverLevel(v));
    absence.push(seen === 0);
    cutByImage.push(box.x < 0 || box.y < 0 || box.x + box.width > W || box.y + box.height > H);
  }
  const name = `Synthetic_${String(index + 1).padStart(4, '0')}`;
  const meta: Record<string, string> = {
    generator: 'rot-track synthetic',
    seed: String(cfg.seed),
    index: String(index),
    shape: shape.kind,
    texture: shape.texture.kind,
    rotation_rate_deg_per_frame: String(rate),
    distractors: String(nd),
    occlusion: occluder ? `${occluder.start}-${occluder.end - 1}` : 'none',
    background: background.kind === 'image' ? path.basename(background.file) : `texture:${background.texture.kind}`,
    resolution: `(${W}, ${H})`,
  };
  return { index, name, config: cfg, target, distractors, occluder, pan, background, gain, blur, groundTruth, cover, absence, cutByImage, visible, meta };
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering.

async function backgroundCanvas(plan: SyntheticPlan): Promise<{ data: Float32Array; width: number; height: number }> {
  const pad = Math.ceil(plan.config.pan * plan.config.frames) + 1;
  const cw = plan.config.width + 2 * pad, ch = plan.config.height + 2 * pad;
  const data = new Float32Array(cw * ch * 3);
  if (plan.background.kind === 'image') {
    const f = await readFrameResized(plan.background.file, cw, ch);
    for (let i = 0; i < data.length; i++) data[i] = f.data[i];
    return { data, width: cw, height: ch };
  }
  const { texture, tint, clutter } = plan.background;
  const col = [0, 0, 0];
  // Low-contrast texture plus soft blobs of random colours: clutter without copying the target.
  const bgTex: Texture = { ...texture, kind: 'blobs', a: [0, 0, 0], blobs: clutter };
  const blob = [0, 0, 0];
  const scale = Math.max(cw, ch) / 2;
  for (let y = 0, o = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++, o += 3) {
      const p = (x - cw / 2) / scale, q = (y - ch / 2) / scale;
      textureColour(texture, p * 1.7, q * 1.7, col);
      bgTex.a = [0.35 * col[0] + 0.65 * tint[0], 0.35 * col[1] + 0.65 * tint[1], 0.35 * col[2] + 0.65 * tint[2]];
      textureColour(bgTex, p, q, blob);
      data[o] = blob[0];
      data[o + 1] = blob[1];
      data[o + 2] = blob[2];
    }
  }
  return { data, width: cw, height: ch };
}

function drawShape(img: Float32Array, W: number, H: number, shape: Shape, pose: Pose): void {
  const col = [0, 0, 0];
  forEachShapePixel(shape, pose, W, H, false, (x, y, p, q) => {
    textureColour(shape.texture, p, q, col);
    const o = (y * W + x) * 3;
    img[o] = col[0]; img[o + 1] = col[1]; img[o + 2] = col[2];
  });
}

function boxBlur(img: Float32Array, W: number, H: number, r: number): Float32Array {
  const tmp = new Float32Array(img.length);
  const out = new Float32Array(img.length);
  const n = 2 * r + 1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let ch = 0; ch < 3; ch++) {
        let s = 0;
        for (let k = -r; k <= r; k++) s += img[(y * W + Math.min(W - 1, Math.max(0, x + k))) * 3 + ch];
        tmp[(y * W + x) * 3 + ch] = s / n;
      }
    }
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let ch = 0; ch < 3; ch++) {
        let s = 0;
        for (let k = -r; k <= r; k++) s += tmp[(Math.min(H - 1, Math.max(0, y + k)) * W + x) * 3 + ch];
        out[(y * W + x) * 3 + ch] = s / n;
      }
    }
  }
  return out;
}

/** Renders the frames of a plan in order, one at a time (the background canvas is built once). */
export async function* renderSequence(plan: SyntheticPlan): AsyncGenerator<RawFrame> {
  const { width: W, height: H, frames: n } = plan.config;
  const bg = await backgroundCanvas(plan);
  for (let t = 0; t < n; t++) {
    let img: Float32Array = new Float32Array(W * H * 3);
    const [ox, oy] = plan.pan[t];
    for (let y = 0; y < H; y++) {
      const s = ((y + oy) * bg.width + ox) * 3;
      img.set(bg.data.subarray(s, s + W * 3), y * W * 3);
    }
    for (const d of plan.distractors) drawShape(img, W, H, d.shape, d.poses[t]);
    drawShape(img, W, H, plan.target.shape, plan.target.poses[t]);
    const occ = plan.occluder;
    if (occ && t >= occ.start && t < occ.end) {
      const r = occ.rects[t];
      const col = [0, 0, 0];
      // Same pixel-centre rule as the visibility count in planSequence.
      for (let y = Math.max(0, Math.ceil(r.y - 0.5)); y < H && y + 0.5 < r.y + r.height; y++) {
        for (let x = Math.max(0, Math.ceil(r.x - 0.5)); x < W && x + 0.5 < r.x + r.width; x++) {
          textureColour(occ.texture, ((x + 0.5 - r.x) / r.width) * 2 - 1, ((y + 0.5 - r.y) / r.height) * 2 - 1, col);
          const o = (y * W + x) * 3;
          img[o] = col[0]; img[o + 1] = col[1]; img[o + 2] = col[2];
        }
      }
    }
    if (plan.blur[t] > 0) img = boxBlur(img, W, H, plan.blur[t]);
    const g = plan.gain[t];
    const data = new Uint8Array(W * H * 3);
    for (let i = 0; i < data.length; i++) {
      const v = img[i] * g + 0.5;
      data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    yield { data, width: W, height: H };
  }
}

/** Output layouts of the generator. */
export type SyntheticLayout = 'got10k' | 'otb';

/** What `writeSyntheticDataset` wrote. */
export interface SyntheticWriteResult {
  root: string;
  layout: SyntheticLayout;
  names: string[];
}

/**
 * Generate `config.count` sequences into `outDir`: GOT-10k layout writes `outDir/<split>/list.txt` and
 * `GOT-10k_<Split>_000001/…` with labels and meta; OTB layout writes `outDir/Synthetic_0001/img/…`. Also writes
 * `outDir/synthetic-config.json` (the parsed config). Deterministic: same config → same bytes.
 */
export async function writeSyntheticDataset(
  outDir: string,
  config: Partial<SyntheticConfig>,
  layout: SyntheticLayout,
  options: { split?: 'train' | 'val'; onSequence?: (name: string, i: number, n: number) => void } = {},
): Promise<SyntheticWriteResult> {
  const cfg = SyntheticConfigSchema.parse(config);
  const split = options.split ?? 'train';
  const bgFiles = listBackgrounds(cfg.backgrounds);
  await fsp.mkdir(outDir, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < cfg.count; i++) {
    const plan = planSequence(cfg, i, bgFiles);
    const seqName = layout === 'got10k' ? got10kSequenceName(split, i + 1) : plan.name;
    options.onSequence?.(seqName, i, cfg.count);
    if (layout === 'got10k') {
      await writeGot10kSequence(
        path.join(outDir, split, seqName),
        { groundTruth: plan.groundTruth, absence: plan.absence, cover: plan.cover, cutByImage: plan.cutByImage, meta: plan.meta },
        renderSequence(plan),
        { ext: cfg.format, quality: cfg.quality, split },
      );
    } else {
      await writeOtbSequence(path.join(outDir, seqName), { groundTruth: plan.groundTruth }, renderSequence(plan), {
        ext: cfg.format,
        quality: cfg.quality,
      });
    }
    names.push(seqName);
  }
  if (layout === 'got10k') await writeGot10kList(outDir, split, names);
  const { backgrounds, ...rest } = cfg;
  // Relative background path only, so that the config file does not depend on where the data was generated.
  const saved = { ...rest, backgrounds: backgrounds ? path.basename(path.resolve(backgrounds)) : undefined, layout };
  await fsp.writeFile(path.join(outDir, 'synthetic-config.json'), JSON.stringify(saved, null, 2) + '\n');
  return { root: outDir, layout, names };
}
