/** Drawing tracker boxes onto a video: decode → draw (pure TS) → encode H.264 mp4. */
import { resolve } from 'node:path';
import type { Box } from '../../tracker/geometry.js';
import type { RawFrame } from '../../tracker/tracker.js';
import { decodeVideo } from './decode.js';
import { drawBoxOutline, drawLabel, type Rgb } from './draw.js';
import { encodeVideo, type EncodeResult } from './encode.js';
import { VideoError } from './errors.js';
import { probeVideo } from './probe.js';

/** Options of `annotateVideo`. */
export interface AnnotateOptions {
  /** Box colour, RGB 0–255; default green `[0, 255, 0]` (survives yuv420p chroma subsampling best). */
  colour?: Rgb;
  /** Outline width in pixels, drawn inside the box; default 2. */
  thickness?: number;
  /** A text per frame (e.g. a score) drawn at the box's top-left; null/undefined/'' draws none. */
  labels?: ReadonlyArray<string | null | undefined>;
  /** Output frame rate; default the source's. */
  fps?: number;
  /** x264 constant rate factor (default 23). */
  crf?: number;
  signal?: AbortSignal;
}

/**
 * Write `dst` (H.264 mp4): the frames of `src` with `boxes[i]` (0-based x, y, width, height in source pixels) drawn on
 * frame i. A null box, or a frame past the end of `boxes`, is copied undrawn. Returns what was encoded.
 */
export async function annotateVideo(
  src: string,
  dst: string,
  boxes: ReadonlyArray<Box | null | undefined>,
  options: AnnotateOptions = {},
): Promise<EncodeResult> {
  const { colour = [0, 255, 0], thickness = 2, labels, signal } = options;
  if (colour.length !== 3 || colour.some((c) => !(Number.isInteger(c) && c >= 0 && c <= 255))) {
    throw new VideoError(dst, `${dst}: colour must be three integers 0–255, got [${colour.join(', ')}]`);
  }
  if (!(Number.isFinite(thickness) && thickness >= 1)) {
    throw new VideoError(dst, `${dst}: thickness must be >= 1, got ${thickness}`);
  }
  if (resolve(src) === resolve(dst)) {
    throw new VideoError(dst, `${dst}: annotateVideo cannot write over its own source (it would truncate what it reads)`);
  }
  const info = await probeVideo(src, { countFrames: false });
  const fps = options.fps ?? info.fps;
  if (!(fps > 0)) throw new VideoError(src, `${src}: frame rate unknown; pass options.fps`);

  const frames = decodeVideo(src, { info, signal });
  async function* drawn(): AsyncGenerator<RawFrame> {
    let i = 0;
    for await (const frame of frames) {
      const box = boxes[i];
      if (box) {
        drawBoxOutline(frame, box, colour, thickness);
        const label = labels?.[i];
        if (label) drawLabel(frame, box, label, colour, thickness);
      }
      yield frame;
      i++;
    }
  }
  return encodeVideo(dst, drawn(), { fps, crf: options.crf, signal });
}
