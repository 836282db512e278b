/**
 * Limits checked before anything is decoded: image dimensions from the header (sharp's metadata reads only the
 * header), video dimensions and duration from ffprobe, open connections and uploads per client IP. Every refusal
 * is an AppError that names the setting to raise.
 */
import sharp, { type Metadata } from 'sharp';
import { AppError } from './errors.js';
import type { VideoInfo } from './video.js';

/** Width and height of an encoded image, read from its header only; `bad_frame` (400) when it has none. */
export async function imageHeader(bytes: Uint8Array, what: string): Promise<{ width: number; height: number }> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (e) {
    throw new AppError('bad_frame', `the ${what} is not a readable JPEG/PNG image: ${(e as Error).message}`, 400);
  }
  if (!meta.width || !meta.height) throw new AppError('bad_frame', `the ${what} has no width and height in its header`, 400);
  return { width: meta.width, height: meta.height };
}

/** Refuse `width × height` over `maxPixels` with `too_large` (413) naming `setting`. */
export function checkPixels(width: number, height: number, maxPixels: number, what: string, setting: string): void {
  if (width * height > maxPixels) {
    throw new AppError(
      'too_large',
      `the ${what} is ${width}×${height} = ${width * height} pixels, over the limit of ${maxPixels} pixels (${setting}); nothing was decoded`,
      413,
    );
  }
}

/** Limits of an uploaded video. */
export interface VideoLimits {
  maxPixels: number;
  maxSeconds: number;
  maxFrames: number;
}

/** Refuse a probed video over the pixel, duration or frame limit (413 naming the setting). */
export function checkVideo(info: VideoInfo, limits: VideoLimits, name: string): void {
  checkPixels(info.width, info.height, limits.maxPixels, `video "${name}"`, '--max-video-pixels');
  if (Number.isFinite(info.duration) && info.duration > limits.maxSeconds) {
    throw new AppError('too_large', `the video "${name}" lasts ${info.duration.toFixed(1)} s, over the limit of ${limits.maxSeconds} s (--max-video-seconds)`, 413);
  }
  if (info.frames > limits.maxFrames) {
    throw new AppError('too_large', `the video "${name}" has ${info.frames} frames, over the limit of ${limits.maxFrames} frames (--max-job-frames)`, 413);
  }
}

/** Counts of things open per key (client IP); `acquire` refuses past `max`. */
export class PerKeyCounter {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Take one slot for `key`; false when `key` already holds `max`. */
  acquire(key: string): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= this.max) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  /** Give back one slot of `key`. */
  release(key: string): void {
    const n = (this.counts.get(key) ?? 0) - 1;
    if (n > 0) this.counts.set(key, n);
    else this.counts.delete(key);
  }

  /** Slots held by `key`. */
  held(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}
