/**
 * Frames on disk ↔ RawFrame (tracker/tracker.ts: `height × width × 3` RGB bytes): decoding with sharp, a bounded
 * prefetching stream over a sequence's frames with a small LRU cache, encoders and a box drawer for artifacts.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { OutputInfo, Sharp } from 'sharp';
import type { RawFrame } from '../tracker/tracker.js';
import type { Box } from '../tracker/geometry.js';
import type { Sequence } from './dataset.js';

/** Error for a frame file that cannot be decoded or written; `file` names it. */
export class FrameFileError extends Error {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'FrameFileError';
    this.file = file;
  }
}

/**
 * Decode an image held in memory (JPEG/PNG/anything sharp reads) to a RawFrame: 8-bit RGB, grey expanded to 3
 * channels, alpha dropped. `file` only names the source in errors. `maxPixels` (width × height, from the header)
 * refuses larger images before their pixels are decoded (sharp's `limitInputPixels`; its own default otherwise).
 */
export async function decodeImage(input: Buffer | Uint8Array, file = '<buffer>', maxPixels?: number): Promise<RawFrame> {
  let out: { data: Buffer; info: OutputInfo };
  try {
    // failOn 'warning' turns libjpeg's "premature end of data" into an error instead of a half-grey frame.
    out = await sharp(input, { failOn: 'warning', ...(maxPixels ? { limitInputPixels: maxPixels } : {}) })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new FrameFileError(file, `cannot decode image: ${(e as Error).message}`);
  }
  const { width, height, channels } = out.info;
  const src = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
  if (channels === 3) return { data: new Uint8Array(src), width, height };
  const n = width * height;
  const data = new Uint8Array(n * 3);
  if (channels === 1 || channels === 2) {
    for (let i = 0; i < n; i++) {
      const v = src[i * channels];
      data[3 * i] = v; data[3 * i + 1] = v; data[3 * i + 2] = v;
    }
  } else if (channels === 4) {
    for (let i = 0; i < n; i++) {
      data[3 * i] = src[4 * i]; data[3 * i + 1] = src[4 * i + 1]; data[3 * i + 2] = src[4 * i + 2];
    }
  } else {
    throw new FrameFileError(file, `unsupported number of channels: ${channels}`);
  }
  return { data, width, height };
}

/**
 * Read an image file resized to exactly `width × height` (scaled to cover, centre-cropped) as a RawFrame — for
 * backgrounds of synthetic sequences. Errors name the file.
 */
export async function readFrameResized(file: string, width: number, height: number): Promise<RawFrame> {
  let png: Buffer;
  try {
    png = await sharp(file, { failOn: 'warning' }).resize(width, height, { fit: 'cover' }).png().toBuffer();
  } catch (e) {
    throw new FrameFileError(file, `cannot decode image: ${(e as Error).message}`);
  }
  return decodeImage(png, file);
}

/** Prefix of the virtual frame paths of on-the-fly datasets (data/rotate.ts RotatedDataset); see `openSequenceFrames`. */
export const VIRTUAL_FRAME_MARK = '#virtual:';

/** Read and decode one image file to a RawFrame (RGB, 3 channels). Errors name the file. */
export async function readFrame(file: string): Promise<RawFrame> {
  if (file.includes(VIRTUAL_FRAME_MARK)) {
    throw new FrameFileError(
      file,
      'is a virtual frame of an on-the-fly dataset: read it with openSequenceFrames(sequence) (data/frames.ts)',
    );
  }
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FrameFileError(file, code === 'ENOENT' ? 'frame file not found' : (e as Error).message);
  }
  return decodeImage(buf, file);
}

function checkFrame(frame: RawFrame, file: string): void {
  if (!(frame.data instanceof Uint8Array) || frame.data.length !== frame.width * frame.height * 3) {
    throw new FrameFileError(file, `frame buffer must hold width×height×3 bytes (${frame.width}×${frame.height})`);
  }
}

async function writeEncoded(file: string, pipeline: Sharp): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  try {
    await pipeline.toFile(file);
  } catch (e) {
    throw new FrameFileError(file, `cannot write image: ${(e as Error).message}`);
  }
}

function rawPipeline(frame: RawFrame): Sharp {
  return sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } });
}

/** Encode a RawFrame as JPEG (baseline, 4:2:0, `quality` 1–100, default 90) to `file`; parent folders are created. */
export async function encodeJpeg(frame: RawFrame, file: string, quality = 90): Promise<void> {
  checkFrame(frame, file);
  await writeEncoded(file, rawPipeline(frame).jpeg({ quality, chromaSubsampling: '4:2:0', mozjpeg: false }));
}

/** Encode a RawFrame as a lossless PNG to `file`; parent folders are created. */
export async function encodePng(frame: RawFrame, file: string): Promise<void> {
  checkFrame(frame, file);
  await writeEncoded(file, rawPipeline(frame).png({ compressionLevel: 6 }));
}

/** Encode by extension: `.png` → PNG, `.jpg`/`.jpeg` → JPEG. */
export async function encodeFrame(frame: RawFrame, file: string, jpegQuality = 90): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') return encodePng(frame, file);
  if (ext === '.jpg' || ext === '.jpeg') return encodeJpeg(frame, file, jpegQuality);
  throw new FrameFileError(file, `unsupported image extension "${ext}" (use .jpg or .png)`);
}

/** A copy of `frame` (new buffer). */
export function cloneFrame(frame: RawFrame): RawFrame {
  return { data: new Uint8Array(frame.data), width: frame.width, height: frame.height };
}

/**
 * Draw the outline of `box` (0-based x, y, w, h; continuous pixels, rounded to the covering pixels) on `frame` in
 * place, `thickness` pixels wide inwards, clipped to the frame. `colour` is `[r, g, b]` 0–255. Returns the frame.
 */
export function drawBox(
  frame: RawFrame,
  box: Box,
  colour: readonly [number, number, number] = [255, 0, 0],
  thickness = 2,
): RawFrame {
  const { width: W, height: H, data } = frame;
  const x0 = Math.round(box.x), y0 = Math.round(box.y);
  const x1 = Math.round(box.x + box.width) - 1, y1 = Math.round(box.y + box.height) - 1;
  const put = (x: number, y: number): void => {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    const o = (y * W + x) * 3;
    data[o] = colour[0]; data[o + 1] = colour[1]; data[o + 2] = colour[2];
  };
  for (let t = 0; t < thickness; t++) {
    for (let x = x0; x <= x1; x++) { put(x, y0 + t); put(x, y1 - t); }
    for (let y = y0; y <= y1; y++) { put(x0 + t, y); put(x1 - t, y); }
  }
  return frame;
}

/** Per-channel mean colour of a frame, rounded to integers `[r, g, b]`. */
export function meanColour(frame: RawFrame): [number, number, number] {
  const d = frame.data;
  let r = 0, g = 0, b = 0;
  for (let i = 0; i < d.length; i += 3) { r += d[i]; g += d[i + 1]; b += d[i + 2]; }
  const n = Math.max(1, d.length / 3);
  return [Math.round(r / n), Math.round(g / n), Math.round(b / n)];
}

/** A least-recently-used map with a fixed capacity (entries beyond it are evicted oldest-use first). */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new Error(`LRU capacity must be an integer >= 0, got ${capacity}`);
  }
  /** The value for `key` (marking it most recently used) or undefined. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) { this.map.delete(key); this.map.set(key, v); }
    return v;
  }
  /** Store `value`, evicting the least recently used entries beyond the capacity. */
  set(key: K, value: V): void {
    if (this.capacity === 0) return;
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }
  /** Number of entries held. */
  get size(): number {
    return this.map.size;
  }
}

/** Options of `FrameStream`. */
export interface FrameStreamOptions {
  /** Frames decoded ahead of the consumer while it works on the current one (default 4). */
  prefetch?: number;
  /** Capacity of the LRU cache used by random access `get(i)` (default 8 frames). */
  cacheSize?: number;
  /** Decoder of frame `i` (default: `readFrame(paths[i])`). */
  load?: (index: number) => Promise<RawFrame>;
}

/**
 * The frames of a sequence as an async iterable with bounded read-ahead: at most `prefetch` frames are decoded ahead
 * of the one being consumed, so memory is `(prefetch + 1 + cacheSize)` frames whatever the sequence length. Random
 * access `get(i)` goes through a small LRU cache (training pair sampling revisits frames). Errors name the file.
 */
export class FrameStream implements AsyncIterable<RawFrame> {
  readonly length: number;
  private readonly prefetch: number;
  private readonly cache: LruCache<number, RawFrame>;
  private readonly load: (index: number) => Promise<RawFrame>;

  constructor(readonly paths: readonly string[], options: FrameStreamOptions = {}) {
    this.length = paths.length;
    this.prefetch = options.prefetch ?? 4;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 0) {
      throw new Error(`prefetch must be an integer >= 0, got ${options.prefetch}`);
    }
    this.cache = new LruCache(options.cacheSize ?? 8);
    this.load = options.load ?? ((i) => readFrame(this.paths[i]));
  }

  /** Frame `i` (0-based), from the cache when present. */
  async get(i: number): Promise<RawFrame> {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`frame index ${i} outside [0, ${this.length - 1}]`);
    }
    const hit = this.cache.get(i);
    if (hit) return hit;
    const f = await this.load(i);
    this.cache.set(i, f);
    return f;
  }

  /** Iterate frames `start..end-1` in order with read-ahead (defaults: the whole sequence). */
  async *range(start = 0, end = this.length): AsyncGenerator<RawFrame> {
    const pending = new Map<number, Promise<RawFrame>>();
    let next = start;
    const fill = (upTo: number): void => {
      for (; next <= upTo && next < end; next++) {
        const hit = this.cache.get(next);
        const p = hit ? Promise.resolve(hit) : this.load(next);
        // A prefetched frame may fail before it is awaited: keep the rejection for its turn, not as unhandled.
        p.catch(() => undefined);
        pending.set(next, p);
      }
    };
    try {
      for (let i = start; i < end; i++) {
        fill(i + this.prefetch);
        const p = pending.get(i)!;
        pending.delete(i);
        yield await p;
      }
    } finally {
      pending.clear();
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<RawFrame> {
    return this.range();
  }
}

/** A Sequence whose frames are produced in memory (e.g. rotated on the fly) rather than read from `frames` paths. */
export interface FrameSourceSequence extends Sequence {
  /** Decode (and transform) frame `index`, 0-based. */
  loadFrame(index: number): Promise<RawFrame>;
}

/** True when `seq` carries its own frame loader (on-the-fly datasets). */
export function hasFrameSource(seq: Sequence): seq is FrameSourceSequence {
  return typeof (seq as Partial<FrameSourceSequence>).loadFrame === 'function';
}

/**
 * The frames of any Sequence as a FrameStream: plain datasets decode `seq.frames`, on-the-fly datasets (RotOTB-d…)
 * use their loader. Evaluation and training should read frames through this, never by decoding paths themselves.
 */
export function openSequenceFrames(seq: Sequence, options: Omit<FrameStreamOptions, 'load'> = {}): FrameStream {
  const load = hasFrameSource(seq) ? (i: number) => seq.loadFrame(i) : undefined;
  return new FrameStream(seq.frames, { ...options, load });
}
