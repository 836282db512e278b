/**
 * Image rotation on RawFrames and Rot-OTB (tracking.md "Rot-OTB"): frame t (0-based) rotated by θ_t = t·Δ degrees
 * counter-clockwise on screen about a centre, same size, uncovered corners filled; ground truth = the axis-aligned
 * box of the four rotated corners (`geometry.rotateBoxBounds`) or that box shrunk to the original area.
 *
 * Coordinates are continuous pixels as in tracker/geometry.ts: pixel (i, j) covers [i, i+1) × [j, j+1), its centre is
 * (i + 0.5, j + 0.5), and the image centre is (W/2, H/2). The same map moves pixels and box corners.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { type Box, rotateBoxBounds } from '../tracker/geometry.js';
import type { RawFrame } from '../tracker/tracker.js';
import type { Sequence, SequenceDataset } from './dataset.js';
import { type FrameSourceSequence, VIRTUAL_FRAME_MARK, meanColour, openSequenceFrames, readFrame } from './frames.js';
import { writeOtbSequence } from './otb.js';
import { iterateSequences, type SkippedSequence } from './gt-parse.js';

/** RGB fill colour `[r, g, b]` 0–255. */
export type Rgb = [number, number, number];

/** Options of `rotateFrame`. */
export interface RotateOptions {
  /** Rotation centre in continuous pixels (default the image centre `(W/2, H/2)`). */
  cx?: number;
  cy?: number;
  /** Colour of the uncovered area (default: the frame's mean colour). */
  fill?: Rgb;
}

/**
 * Rotate `frame` by `deg` degrees counter-clockwise on screen about `(cx, cy)` with bilinear sampling; same size, new
 * buffer. Output pixels whose source lies outside the image get `fill`. `deg = 0` returns an exact copy.
 */
export function rotateFrame(frame: RawFrame, deg: number, options: RotateOptions = {}): RawFrame {
  const { width: W, height: H, data: src } = frame;
  if (src.length !== W * H * 3) throw new Error(`rotateFrame: buffer has ${src.length} bytes, expected ${W}×${H}×3`);
  if (!Number.isFinite(deg)) throw new Error(`rotateFrame: angle must be finite, got ${deg}`);
  const cx = options.cx ?? W / 2;
  const cy = options.cy ?? H / 2;
  const out = new Uint8Array(W * H * 3);
  if (deg % 360 === 0 && cx === W / 2 && cy === H / 2) {
    out.set(src);
    return { data: out, width: W, height: H };
  }
  const [fr, fg, fb] = options.fill ?? meanColour(frame);
  const t = (deg * Math.PI) / 180;
  const c = Math.cos(t), s = Math.sin(t);
  // Inverse of the screen-CCW map (dx, dy) → (c·dx + s·dy, −s·dx + c·dy) is (dx, dy) → (c·dx − s·dy, s·dx + c·dy).
  // Source positions are kept in pixel-index units (centre of pixel i at i), hence the −0.5.
  let o = 0;
  for (let j = 0; j < H; j++) {
    const dy = j + 0.5 - cy;
    let dx = 0.5 - cx;
    let sx = cx + c * dx - s * dy;
    let sy = cy + s * dx + c * dy;
    for (let i = 0; i < W; i++, o += 3) {
      // sx, sy: continuous source point; inside the image area [0, W] × [0, H] we sample, else fill.
      if (sx < 0 || sy < 0 || sx > W || sy > H) {
        out[o] = fr; out[o + 1] = fg; out[o + 2] = fb;
      } else {
        let px = sx - 0.5, py = sy - 0.5;
        if (px < 0) px = 0; else if (px > W - 1) px = W - 1;
        if (py < 0) py = 0; else if (py > H - 1) py = H - 1;
        const x0 = px | 0, y0 = py | 0;
        const x1 = x0 + 1 < W ? x0 + 1 : x0, y1 = y0 + 1 < H ? y0 + 1 : y0;
        const ax = px - x0, ay = py - y0;
        const w00 = (1 - ax) * (1 - ay), w10 = ax * (1 - ay), w01 = (1 - ax) * ay, w11 = ax * ay;
        const a = (y0 * W + x0) * 3, b = (y0 * W + x1) * 3, d = (y1 * W + x0) * 3, e = (y1 * W + x1) * 3;
        out[o] = w00 * src[a] + w10 * src[b] + w01 * src[d] + w11 * src[e] + 0.5;
        out[o + 1] = w00 * src[a + 1] + w10 * src[b + 1] + w01 * src[d + 1] + w11 * src[e + 1] + 0.5;
        out[o + 2] = w00 * src[a + 2] + w10 * src[b + 2] + w01 * src[d + 2] + w11 * src[e + 2] + 0.5;
      }
      sx += c;
      sy += s;
    }
  }
  return { data: out, width: W, height: H };
}

/** How the rotated ground truth is formed: the bounds of the rotated corners, or those bounds shrunk to the box's area. */
export type BoxRule = 'bounds' | 'area-preserving';

/**
 * Ground truth of a box after rotating the frame by `deg` about `(cx, cy)`: `bounds` = axis-aligned box of the four
 * rotated corners; `area-preserving` = that box scaled about its centre to the original area `w·h` (same aspect).
 */
export function rotateGroundTruth(b: Box, deg: number, cx: number, cy: number, rule: BoxRule = 'bounds'): Box {
  const r = rotateBoxBounds(b, deg, cx, cy);
  if (rule === 'bounds') return r;
  const area = r.width * r.height;
  if (area <= 0) return r;
  const k = Math.sqrt((b.width * b.height) / area);
  const w = r.width * k, h = r.height * k;
  return { x: r.x + (r.width - w) / 2, y: r.y + (r.height - h) / 2, width: w, height: h };
}

/** Rot-OTB parameters (zod, `.strict()`): Δ in degrees per frame, centre, fill, box rule. */
export const RotOtbConfigSchema = z
  .object({
    /** Rotation rate Δ, degrees per frame, counter-clockwise on screen (θ_t = t·Δ, t 0-based). */
    delta: z.number().finite().default(0.5),
    /** Rotation centre `[cx, cy]` in continuous pixels, or `image` for (W/2, H/2). */
    center: z.union([z.literal('image'), z.tuple([z.number().finite(), z.number().finite()])]).default('image'),
    /** Fill colour of uncovered corners: `mean` (each frame's mean colour) or `[r, g, b]` 0–255. */
    fill: z
      .union([z.literal('mean'), z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)])])
      .default('mean'),
    boxRule: z.enum(['bounds', 'area-preserving']).default('bounds'),
  })
  .strict();

/** Parsed Rot-OTB parameters. */
export type RotOtbConfig = z.infer<typeof RotOtbConfigSchema>;

/** Dataset name of a Rot-OTB variant: `RotOTB-d0.5` (box rule and non-default centre/fill appended). */
export function rotOtbName(cfg: RotOtbConfig): string {
  let n = `RotOTB-d${cfg.delta}`;
  if (cfg.boxRule !== 'bounds') n += '-area';
  if (cfg.center !== 'image') n += `-c${cfg.center[0]}_${cfg.center[1]}`;
  if (cfg.fill !== 'mean') n += `-f${cfg.fill.join('_')}`;
  return n;
}

/** Rotation angle (degrees) and centre (continuous pixels) of frame `t` (0-based) under `cfg`. */
function frameParams(cfg: RotOtbConfig, t: number, frame: { width: number; height: number }): { deg: number; cx: number; cy: number } {
  const [cx, cy] = cfg.center === 'image' ? [frame.width / 2, frame.height / 2] : cfg.center;
  return { deg: t * cfg.delta, cx, cy };
}

/** Rotate frame `t` (0-based) of a sequence and its box under `cfg` (e.g. for rotation augmentation). */
export function rotateSequenceFrame(frame: RawFrame, box: Box, t: number, cfg: RotOtbConfig): { frame: RawFrame; box: Box } {
  const { deg, cx, cy } = frameParams(cfg, t, frame);
  const fill = cfg.fill === 'mean' ? undefined : (cfg.fill as Rgb);
  return { frame: rotateFrame(frame, deg, { cx, cy, fill }), box: rotateGroundTruth(box, deg, cx, cy, cfg.boxRule) };
}

function rotMeta(seq: Sequence, cfg: RotOtbConfig): Record<string, string> {
  return {
    ...seq.meta,
    source: seq.name,
    rotationDeltaDeg: String(cfg.delta),
    rotationCenter: cfg.center === 'image' ? 'image' : cfg.center.join(','),
    rotationFill: cfg.fill === 'mean' ? 'mean' : cfg.fill.join(','),
    boxRule: cfg.boxRule,
  };
}

/** The rotated ground truth of a whole sequence whose frames are all `size` (OTB sequences keep one size). */
export function rotatedGroundTruth(boxes: Box[], cfg: RotOtbConfig, size: { width: number; height: number }): Box[] {
  return boxes.map((b, t) => {
    const { deg, cx, cy } = frameParams(cfg, t, size);
    return rotateGroundTruth(b, deg, cx, cy, cfg.boxRule);
  });
}

function checkSize(seq: Sequence, t: number, f: RawFrame, size: { width: number; height: number }): void {
  if (f.width !== size.width || f.height !== size.height) {
    throw new Error(`${seq.frames[t]}: frame size ${f.width}×${f.height} differs from the first frame's ${size.width}×${size.height}`);
  }
}

/**
 * Write the Rot-OTB version of `seq` in OTB layout under `outDir` (frames decoded, rotated and encoded one at a time
 * with bounded read-ahead). Returns the written sequence.
 */
export async function writeRotatedSequence(
  seq: Sequence,
  outDir: string,
  config: Partial<RotOtbConfig> = {},
  options: { quality?: number; onFrame?: (t: number) => void } = {},
): Promise<Sequence> {
  const cfg = RotOtbConfigSchema.parse(config);
  const stream = openSequenceFrames(seq, { prefetch: 2, cacheSize: 1 });
  const first = await stream.get(0);
  const size = { width: first.width, height: first.height };
  const groundTruth = rotatedGroundTruth(seq.groundTruth, cfg, size);
  const fill = cfg.fill === 'mean' ? undefined : (cfg.fill as Rgb);
  async function* rotated(): AsyncGenerator<RawFrame> {
    let t = 0;
    for await (const f of stream) {
      checkSize(seq, t, f, size);
      const { deg, cx, cy } = frameParams(cfg, t, size);
      options.onFrame?.(t);
      t++;
      yield rotateFrame(f, deg, { cx, cy, fill });
    }
  }
  return writeOtbSequence(outDir, { name: seq.name, groundTruth, meta: rotMeta(seq, cfg) }, rotated(), {
    quality: options.quality,
  });
}

/** Result of `writeRotOtb`. */
export interface RotOtbWriteResult {
  name: string;
  dir: string;
  written: string[];
  skipped: SkippedSequence[];
}

/**
 * Write a whole Rot-OTB dataset: every sequence of `src` rotated under `config` into `outDir/<seq>/` (two-target
 * sequences become folders `Jogging.1`, `Jogging.2`). With `skipBad`, bad sequences are reported and skipped.
 */
export async function writeRotOtb(
  src: SequenceDataset,
  outDir: string,
  config: Partial<RotOtbConfig> = {},
  options: { skipBad?: boolean; names?: string[]; quality?: number; onSequence?: (name: string, i: number, n: number) => void } = {},
): Promise<RotOtbWriteResult> {
  const cfg = RotOtbConfigSchema.parse(config);
  const skipped: SkippedSequence[] = [];
  const written: string[] = [];
  const names = options.names ?? src.names();
  for await (const seq of iterateSequences(src, { skipBad: options.skipBad, skipped, names })) {
    options.onSequence?.(seq.name, written.length + skipped.length, names.length);
    try {
      await writeRotatedSequence(seq, path.join(outDir, seq.name), cfg, { quality: options.quality });
    } catch (e) {
      if (!options.skipBad) throw e;
      skipped.push({ name: seq.name, error: (e as Error).message });
      continue;
    }
    written.push(seq.name);
  }
  return { name: rotOtbName(cfg), dir: outDir, written, skipped };
}

/**
 * A SequenceDataset that rotates another one on the fly (no files written), named `RotOTB-d<Δ>`. Its sequences
 * carry `loadFrame(i)`: read their frames with `openSequenceFrames(seq)` (data/frames.ts); `frames[i]` are virtual
 * paths (source path + `#virtual:rot=…`) so that decoding them directly fails loudly instead of giving unrotated
 * frames. The ground truth needs each frame's size, read from the first frame (OTB sequences keep one size).
 */
export class RotatedDataset implements SequenceDataset {
  readonly name: string;
  readonly config: RotOtbConfig;

  constructor(readonly source: SequenceDataset, config: Partial<RotOtbConfig> = {}, name?: string) {
    this.config = RotOtbConfigSchema.parse(config);
    this.name = name ?? rotOtbName(this.config);
  }

  /** The source's names. */
  names(): string[] {
    return this.source.names();
  }

  /** The rotated sequence: boxes computed now (frame size from the first frame), frames rotated when loaded. */
  async sequence(name: string): Promise<FrameSourceSequence> {
    const seq = await this.source.sequence(name);
    const srcStream = openSequenceFrames(seq, { prefetch: 0, cacheSize: 0 });
    const first = await srcStream.get(0);
    const cfg = this.config;
    const size = { width: first.width, height: first.height };
    const groundTruth = rotatedGroundTruth(seq.groundTruth, cfg, size);
    const frames = seq.frames.map((f, t) => `${f}${VIRTUAL_FRAME_MARK}rot=${t * cfg.delta}`);
    return {
      name: seq.name,
      frames,
      groundTruth,
      meta: rotMeta(seq, cfg),
      loadFrame: async (t: number): Promise<RawFrame> => {
        const f = await srcStream.get(t);
        checkSize(seq, t, f, size);
        const { deg, cx, cy } = frameParams(cfg, t, size);
        return rotateFrame(f, deg, { cx, cy, fill: cfg.fill === 'mean' ? undefined : (cfg.fill as Rgb) });
      },
    };
  }
}

/** Decode a frame file and rotate it by `deg` (convenience for scripts). */
export async function readRotatedFrame(file: string, deg: number, options: RotateOptions = {}): Promise<RawFrame> {
  return rotateFrame(await readFrame(file), deg, options);
}
