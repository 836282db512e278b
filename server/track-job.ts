/**
 * The body of one tracking job, shared by the in-process queue (jobs.ts) and the Redis worker (worker.ts): build the
 * tracker, decode the video, track every frame (each result handed to `onFrame`), and write the result files
 * atomically — into `<jobsDir>/.parts/<id>-<random>/`, then renamed to `<jobsDir>/<id>/` — so a process killed at
 * any point leaves either no result folder or a complete one, never a half-written one under the job's name.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Box } from '../tracker/geometry.js';
import { trackSequence } from '../tracker/tracker.js';
import { writeResults } from './job-results.js';
import type { Logger } from './log.js';
import type { ModelRegistry } from './models.js';
import type { JobFrame, JobResults } from './protocol.js';
import { decodeVideo, type VideoInfo } from './video.js';
import { wallClockMs } from './clock.js';

/** Folder (inside the jobs folder) of result folders being written. */
export const PARTS_DIR = '.parts';

/** What a tracking job runs on. */
export interface TrackSpec {
  id: string;
  key: string;
  model: string;
  /** 0-based left-top box in the first frame, video pixels. */
  box: Box;
  video: { name: string; path: string; info: VideoInfo };
  maxFrames: number;
}

/** What a finished run reports. */
export interface TrackOutcome {
  /** Frames tracked (may be fewer than announced: see `warning`). */
  frames: number;
  /** Tracking frames per second (tracker time only). */
  fps: number;
  warning?: string;
  results: JobResults;
}

/** Remove half-written result folders of job `id` left by a killed earlier attempt. */
export async function removeParts(jobsDir: string, id: string): Promise<void> {
  const parts = path.join(jobsDir, PARTS_DIR);
  for (const name of await readdir(parts).catch(() => [] as string[])) {
    if (name.startsWith(`${id}-`)) await rm(path.join(parts, name), { recursive: true, force: true });
  }
}

/**
 * Track `spec` and write its result files to `<jobsDir>/<id>/` (replacing any earlier folder of that id). `onFrame`
 * gets every result in order with the running fps; an aborted `signal` stops decoding, tracking and encoding and
 * the call throws `signal.reason`.
 */
export async function trackJob(
  models: ModelRegistry, jobsDir: string, spec: TrackSpec, signal: AbortSignal, log: Logger,
  onFrame: (f: JobFrame) => void,
): Promise<TrackOutcome> {
  let trackSeconds = 0;
  let fps = 0;
  const tracker = await models.createTracker(spec.model);
  let r;
  try {
    const frames = decodeVideo(spec.video.path, { info: spec.video.info, maxFrames: spec.maxFrames, signal });
    r = await trackSequence(tracker, frames, spec.box, {
      shouldStop: () => signal.aborted,
      onFrame: (index, result, seconds) => {
        trackSeconds += seconds;
        fps = (index + 1) / Math.max(trackSeconds, 1e-9);
        onFrame({ jobId: spec.id, frame: index, box: result.box, score: result.score, fps, t: wallClockMs() });
      },
    });
  } finally {
    tracker.dispose();
  }
  if (signal.aborted) throw signal.reason;
  const announced = spec.video.info.frames;
  const warning = r.boxes.length < announced
    ? `the video announced ${announced} frames but only ${r.boxes.length} could be decoded (the file may be truncated); the results cover the ${r.boxes.length} decoded frames`
    : undefined;
  const part = path.join(jobsDir, PARTS_DIR, `${spec.id}-${randomBytes(6).toString('hex')}`);
  const final = path.join(jobsDir, spec.id);
  await mkdir(path.dirname(part), { recursive: true });
  try {
    const { info } = spec.video;
    const results = await writeResults({
      id: spec.id, key: spec.key, dir: part, model: spec.model, box: spec.box, fps, warning,
      video: { name: spec.video.name, path: spec.video.path, width: info.width, height: info.height, fps: info.fps },
    }, r, signal, log);
    if (signal.aborted) throw signal.reason;
    await rm(final, { recursive: true, force: true });
    await rename(part, final);
    return { frames: r.boxes.length, fps, warning, results };
  } finally {
    // `.parts` itself stays: removing it when it looked empty raced with another job creating its part in it
    // (ENOENT, seen in 1 of ~250 jobs of `server/load-webcam.ts --mode jobs` with 2 jobs at once).
    await rm(part, { recursive: true, force: true });
  }
}
