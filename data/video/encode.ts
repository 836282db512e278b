/** Encoding raw RGB frames to an H.264 mp4 (libx264, yuv420p, +faststart) through ffmpeg's stdin. */
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import type { RawFrame } from '../../tracker/tracker.js';
import { resolveFfmpeg } from './binaries.js';
import { VideoError } from './errors.js';
import { describeExit, run, type Running } from './process.js';

/** Options of `encodeVideo`. */
export interface EncodeOptions {
  /** Frame rate of the output in frames/s (> 0). */
  fps: number;
  /** x264 constant rate factor, 0 (lossless) – 51 (worst); default 23. */
  crf?: number;
  /** x264 preset; default `veryfast` (the machines this runs on have 2 cores). */
  preset?: 'ultrafast' | 'superfast' | 'veryfast' | 'faster' | 'fast' | 'medium' | 'slow' | 'slower' | 'veryslow';
  /** Aborting kills ffmpeg, removes the partial file and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** What `encodeVideo` wrote. */
export interface EncodeResult {
  /** Number of frames written. */
  frames: number;
  /** Size of the input frames in pixels. */
  width: number;
  height: number;
  /** Size in the file: odd sizes are padded by one black column/row on the right/bottom (yuv420p needs even sizes),
   * so box coordinates stay valid. */
  encodedWidth: number;
  encodedHeight: number;
}

/**
 * Encode `frames` (all the same size; RGB uint8 `height × width × 3`) to an H.264 mp4 at `path`, creating its folder.
 * Frames are pulled one at a time and written with backpressure, so a lazy source is never read ahead. On any error
 * (bad frame, ffmpeg failure, abort, the source throwing) ffmpeg is killed and the partial file removed.
 */
export async function encodeVideo(
  path: string,
  frames: AsyncIterable<RawFrame> | Iterable<RawFrame>,
  options: EncodeOptions,
): Promise<EncodeResult> {
  const { fps, crf = 23, preset = 'veryfast', signal } = options;
  const bad = (what: string) => new VideoError(path, `${path}: invalid encode option ${what}`);
  if (!(Number.isFinite(fps) && fps > 0)) throw bad(`fps=${fps} (want > 0)`);
  if (!(Number.isFinite(crf) && crf >= 0 && crf <= 51)) throw bad(`crf=${crf} (want 0–51)`);
  signal?.throwIfAborted();
  const ffmpeg = await resolveFfmpeg();
  await mkdir(dirname(path), { recursive: true });

  let proc: Running | undefined;
  let width = 0;
  let height = 0;
  let count = 0;
  const onAbort = () => void proc?.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const frame of frames as AsyncIterable<RawFrame>) {
      signal?.throwIfAborted();
      if (!proc) {
        checkFrame(path, frame, count, undefined);
        ({ width, height } = frame);
        proc = run(ffmpeg.path, encoderArgs(path, width, height, fps, crf, preset), 'pipe');
      } else {
        checkFrame(path, frame, count, { width, height });
      }
      // Copy: the caller may reuse its buffer as soon as we ask for the next frame, while the pipe still holds this one.
      await write(path, proc, Buffer.from(frame.data), count);
      count++;
    }
    signal?.throwIfAborted();
    if (!proc) throw new VideoError(path, `${path}: no frames to encode`);
    proc.child.stdin!.end();
    const exit = await proc.exited;
    signal?.throwIfAborted();
    if (exit.error || exit.code !== 0) {
      throw new VideoError(path, `${path}: ffmpeg failed to encode ${count} frames (${describeExit(exit)})`, proc.stderr());
    }
  } catch (e) {
    if (proc) {
      await proc.kill();
      await rm(path, { force: true });
    }
    // An abort surfaces as a broken pipe first; report the abort, which is what happened.
    if (signal?.aborted) throw signal.reason;
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return { frames: count, width, height, encodedWidth: width + (width % 2), encodedHeight: height + (height % 2) };
}

function encoderArgs(path: string, w: number, h: number, fps: number, crf: number, preset: string): string[] {
  return [
    '-hide_banner', '-v', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`, '-framerate', String(fps), '-i', 'pipe:0',
    '-an',
    // Pad (not scale) odd sizes to even: pixels keep their coordinates, so drawn boxes stay where they were.
    '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2',
    '-c:v', 'libx264', '-preset', preset, '-crf', String(crf), '-pix_fmt', 'yuv420p',
    '-movflags', '+faststart', '-f', 'mp4', `file:${path}`,
  ];
}

function checkFrame(path: string, f: RawFrame, index: number, size: { width: number; height: number } | undefined): void {
  const what = `${path}: frame ${index}`;
  if (!f || !(f.data instanceof Uint8Array)) throw new VideoError(path, `${what}: data must be a Uint8Array of RGB bytes`);
  if (!Number.isInteger(f.width) || !Number.isInteger(f.height) || f.width < 1 || f.height < 1) {
    throw new VideoError(path, `${what}: size must be positive integers, got ${f.width}×${f.height}`);
  }
  if (size && (f.width !== size.width || f.height !== size.height)) {
    throw new VideoError(path, `${what} is ${f.width}×${f.height} but the first frame was ${size.width}×${size.height}`);
  }
  if (f.data.length !== f.width * f.height * 3) {
    const want = f.width * f.height * 3;
    throw new VideoError(path, `${what}: data has ${f.data.length} bytes, ${f.width}×${f.height}×3 = ${want} expected`);
  }
}

/** Write one frame; when the pipe is full wait for 'drain' — or for the failure that means ffmpeg is gone. */
async function write(path: string, proc: Running, buf: Buffer, index: number): Promise<void> {
  const stdin = proc.child.stdin as Writable;
  if (stdin.destroyed || !stdin.writable) throw await died(path, proc, index);
  if (stdin.write(buf)) return;
  const ok = await new Promise<boolean>((resolve) => {
    const done = (v: boolean) => {
      stdin.off('drain', onDrain);
      stdin.off('error', onFail);
      stdin.off('close', onFail);
      resolve(v);
    };
    const onDrain = () => done(true);
    const onFail = () => done(false);
    stdin.on('drain', onDrain);
    stdin.on('error', onFail);
    stdin.on('close', onFail);
  });
  if (!ok) throw await died(path, proc, index);
}

async function died(path: string, proc: Running, index: number): Promise<VideoError> {
  const exit = await proc.kill();
  const why = `ffmpeg stopped accepting frames at frame ${index} (${describeExit(exit)})`;
  return new VideoError(path, `${path}: ${why}`, proc.stderr());
}
