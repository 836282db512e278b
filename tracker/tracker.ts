/**
 * The Tracker interface every tracker implements (as in the got10k toolkit) and the one frame loop with timing that
 * eval, the server and the tests all use.
 */
import { tf } from './tf.js';
import type { Tensor3D } from './tf.js';
import { type Box, validateBox } from './geometry.js';

/** A raw RGB frame: `data` holds `height × width × 3` bytes, row-major, channels R, G, B (0–255). */
export interface RawFrame {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A frame: a raw RGB buffer or a `[H, W, 3]` int32/float32 tensor holding 0–255 values (the caller owns it). */
export type Frame = RawFrame | Tensor3D;

/** Error for a frame that cannot be used (wrong shape, wrong buffer length). */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** Result of one tracking step: the box (0-based x, y, w, h in pixels) and a confidence (peak response). */
export interface TrackResult {
  box: Box;
  score: number;
  /** With rotated templates (SiamFCConfig.templates > 1): the chosen template's angle, degrees counter-clockwise on
   * screen from the first frame's target — the tracker's estimate of the target's in-plane rotation. */
  angle?: number;
}

/** A single-object tracker. `init` is called on the first frame, `update` on each later frame. */
export interface Tracker {
  /** Registry name of the tracker (e.g. `siamfc`, `ien-siamfc`). */
  readonly name: string;
  /** Start tracking the object in `box` (0-based x, y, w, h) on `frame`. Throws BoxError / FrameError on bad input. */
  init(frame: Frame, box: Box): void;
  /** Locate the object in the next frame. */
  update(frame: Frame): TrackResult;
  /** Release every tensor the tracker owns. The tracker cannot be used afterwards. */
  dispose(): void;
}

/** Height and width of a frame, validated: 3 channels, positive size, buffer length matching. */
export function frameSize(frame: Frame): { width: number; height: number } {
  if (frame instanceof tf.Tensor) {
    const s = frame.shape;
    if (s.length !== 3 || s[2] !== 3 || s[0] < 1 || s[1] < 1) {
      throw new FrameError(`frame tensor must have shape [H, W, 3], got [${s.join(', ')}]`);
    }
    return { height: s[0], width: s[1] };
  }
  const f = frame as RawFrame;
  if (!f || !(f.data instanceof Uint8Array)) throw new FrameError('frame.data must be a Uint8Array of RGB bytes');
  if (!Number.isInteger(f.width) || !Number.isInteger(f.height) || f.width < 1 || f.height < 1) {
    throw new FrameError(`frame size must be positive integers, got ${f.width}×${f.height}`);
  }
  if (f.data.length !== f.width * f.height * 3) {
    throw new FrameError(
      `frame.data has ${f.data.length} bytes but ${f.width}×${f.height}×3 = ${f.width * f.height * 3} were expected`,
    );
  }
  return { width: f.width, height: f.height };
}

/** A frame as a `[H, W, 3]` float32 tensor (0–255). The caller disposes the result (never the input tensor). */
export function frameToTensor(frame: Frame): Tensor3D {
  const { width, height } = frameSize(frame);
  if (frame instanceof tf.Tensor) return frame.dtype === 'float32' ? tf.clone(frame) : tf.cast(frame, 'float32');
  return tf.tidy(() => tf.cast(tf.tensor3d((frame as RawFrame).data, [height, width, 3], 'int32'), 'float32'));
}

/** Validate an initial box against a frame; throws BoxError / FrameError naming the problem. */
export function validateInit(frame: Frame, box: Box): void {
  const { width, height } = frameSize(frame);
  validateBox(box, width, height, 'initial box');
}

/** What `trackSequence` returns: one box, score and time (seconds) per frame, the first frame included. */
export interface SequenceResult {
  boxes: Box[];
  scores: number[];
  /** Wall time per frame in seconds; `times[0]` is the time of `init`. */
  times: number[];
}

/** Options of `trackSequence`. */
export interface TrackSequenceOptions {
  /** Called after each frame (index 0 = init) — progress bars, streaming to clients. */
  onFrame?: (index: number, result: TrackResult, seconds: number) => void;
  /** Stop early when this returns true (checked before each frame). */
  shouldStop?: () => boolean;
}

/**
 * The one frame loop: `init` on the first frame with `initBox`, `update` on every other frame, each timed.
 * Frames may be any iterable or async iterable (arrays, readers, video decoders). Frames the loop creates from raw
 * buffers are disposed; frames the caller passes as tensors are not.
 */
export async function trackSequence(
  tracker: Tracker,
  frames: Iterable<Frame> | AsyncIterable<Frame>,
  initBox: Box,
  options: TrackSequenceOptions = {},
): Promise<SequenceResult> {
  const boxes: Box[] = [];
  const scores: number[] = [];
  const times: number[] = [];
  let index = 0;
  for await (const frame of frames as AsyncIterable<Frame>) {
    if (options.shouldStop?.()) break;
    const t0 = performance.now();
    let result: TrackResult;
    if (index === 0) {
      tracker.init(frame, initBox);
      result = { box: { ...initBox }, score: 1 };
    } else {
      result = tracker.update(frame);
    }
    const seconds = (performance.now() - t0) / 1000;
    boxes.push(result.box);
    scores.push(result.score);
    times.push(seconds);
    options.onFrame?.(index, result, seconds);
    index++;
  }
  return { boxes, scores, times };
}
