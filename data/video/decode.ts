/** Decoding a video to raw RGB frames through `ffmpeg … -f rawvideo -pix_fmt rgb24 pipe:1`. */
import type { RawFrame } from '../../tracker/tracker.js';
import { resolveFfmpeg } from './binaries.js';
import { VideoError } from './errors.js';
import { describeExit, run, type Running } from './process.js';
import { probeVideo, type VideoInfo } from './probe.js';

/** Output size: exact `{width, height}` in pixels, or `{maxSide}` to shrink (never enlarge) keeping the aspect. */
export type ScaleOption = { width: number; height: number } | { maxSide: number };

/** Options of `decodeVideo`. */
export interface DecodeOptions {
  /** Stop after this many frames (positive integer). */
  maxFrames?: number;
  /** Resample to this frame rate (frames/s, > 0) with ffmpeg's `fps` filter (drops/duplicates frames). */
  fps?: number;
  /** Resize frames (bilinear). */
  scale?: ScaleOption;
  /** Aborting kills ffmpeg; the pending/next `next()` rejects with the signal's reason. */
  signal?: AbortSignal;
  /** A probe result of this file to reuse (saves one ffprobe run). */
  info?: VideoInfo;
}

/** The frame iterator `decodeVideo` returns; `pid` is ffmpeg's process id once it runs (for tests and logging). */
export interface DecodedFrames extends AsyncGenerator<RawFrame, void, undefined> {
  readonly pid: number | undefined;
}

/**
 * Decode `path` to RGB frames (`data`: `height × width × 3` uint8, row-major R,G,B; each frame a fresh buffer).
 * ffmpeg starts on the first `next()`. Backpressure comes from the pipe: ffmpeg blocks while the consumer is busy.
 * Returning early (break), aborting, or any error kills ffmpeg and waits until it is gone. Errors are VideoError naming
 * the file with ffmpeg's stderr; a video that yields no frame at all is an error too.
 */
export function decodeVideo(path: string, options: DecodeOptions = {}): DecodedFrames {
  const state: { pid: number | undefined } = { pid: undefined };
  const gen = generateFrames(path, options, state);
  return Object.defineProperty(gen, 'pid', { get: () => state.pid, enumerable: true }) as DecodedFrames;
}

/** Size of decoded frames for a source of `width × height` under `scale`. */
export function outputSize(
  width: number,
  height: number,
  scale: ScaleOption | undefined,
): { width: number; height: number } {
  if (!scale) return { width, height };
  if ('maxSide' in scale) {
    const m = scale.maxSide;
    const longest = Math.max(width, height);
    if (longest <= m) return { width, height };
    const f = m / longest;
    return { width: Math.max(1, Math.round(width * f)), height: Math.max(1, Math.round(height * f)) };
  }
  return { width: scale.width, height: scale.height };
}

function validateOptions(path: string, o: DecodeOptions): void {
  const bad = (what: string) => new VideoError(path, `${path}: invalid decode option ${what}`);
  if (o.maxFrames !== undefined && !(Number.isInteger(o.maxFrames) && o.maxFrames > 0)) {
    throw bad(`maxFrames=${o.maxFrames} (want a positive integer)`);
  }
  if (o.fps !== undefined && !(Number.isFinite(o.fps) && o.fps > 0)) throw bad(`fps=${o.fps} (want > 0)`);
  const s = o.scale;
  if (s) {
    if ('maxSide' in s) {
      if (!(Number.isInteger(s.maxSide) && s.maxSide > 0)) {
        throw bad(`scale.maxSide=${s.maxSide} (want a positive integer)`);
      }
    } else if (!(Number.isInteger(s.width) && s.width > 0 && Number.isInteger(s.height) && s.height > 0)) {
      throw bad(`scale=${s.width}×${s.height} (want positive integers)`);
    }
  }
}

async function* generateFrames(
  path: string,
  options: DecodeOptions,
  state: { pid: number | undefined },
): AsyncGenerator<RawFrame, void, undefined> {
  const { signal, maxFrames } = options;
  validateOptions(path, options);
  signal?.throwIfAborted();
  const info = options.info ?? (await probeVideo(path, { countFrames: false }));
  const { width, height } = outputSize(info.width, info.height, options.scale);
  const ffmpeg = await resolveFfmpeg();
  signal?.throwIfAborted();

  const filters = [
    ...(options.fps ? [`fps=${options.fps}`] : []),
    // Always scale to the size we computed, so a frame is exactly the number of bytes we read, whatever the
    // decoder does with rotation tags or odd sample aspect ratios.
    `scale=${width}:${height}:flags=bilinear`,
  ];
  const args = [
    '-hide_banner', '-nostdin', '-v', 'error',
    '-i', `file:${path}`,
    '-map', '0:v:0', '-an', '-sn', '-dn',
    '-vf', filters.join(','),
    ...(maxFrames ? ['-frames:v', String(maxFrames)] : []),
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
  const proc: Running = run(ffmpeg.path, args);
  state.pid = proc.child.pid;
  const onAbort = () => void proc.kill();
  signal?.addEventListener('abort', onAbort, { once: true });

  const frameBytes = width * height * 3;
  let count = 0;
  let filled = 0;
  try {
    let frame = new Uint8Array(frameBytes);
    try {
      for await (const chunk of proc.child.stdout as AsyncIterable<Buffer>) {
        let off = 0;
        while (off < chunk.length) {
          const n = Math.min(frameBytes - filled, chunk.length - off);
          frame.set(chunk.subarray(off, off + n), filled);
          filled += n;
          off += n;
          if (filled === frameBytes) {
            yield { data: frame, width, height };
            count++;
            signal?.throwIfAborted();
            if (maxFrames !== undefined && count >= maxFrames) return;
            frame = new Uint8Array(frameBytes);
            filled = 0;
          }
        }
      }
    } catch (e) {
      signal?.throwIfAborted();
      if (e instanceof VideoError) throw e;
      const exit = await proc.kill();
      throw new VideoError(
        path,
        `${path}: reading decoded frames failed after ${count} frames ` +
          `(${(e as Error).message}; ffmpeg ${describeExit(exit)})`,
        proc.stderr(),
        { cause: e },
      );
    }
    const exit = await proc.exited;
    signal?.throwIfAborted();
    const fail = (why: string) => new VideoError(path, `${path}: ${why}`, proc.stderr());
    if (exit.error || exit.code !== 0) throw fail(`ffmpeg failed to decode after ${count} frames (${describeExit(exit)})`);
    if (filled > 0) throw fail(`decoded stream ended inside frame ${count + 1} (${filled} of ${frameBytes} bytes)`);
    if (count === 0) throw fail(`the video has no decodable frames (${info.codec}, ${info.width}×${info.height})`);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await proc.kill();
  }
}
