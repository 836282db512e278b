/**
 * Tracking jobs over uploaded videos: a bounded FIFO queue (at most `concurrency` running), frame-by-frame tracking
 * through `trackSequence` with every result streamed out, cancellation (by the user, by shutdown, or when no client
 * has watched the job for a grace period), and the result files: OTB boxes, JSON and an annotated mp4.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { validateBox, type Box } from '../tracker/geometry.js';
import { trackSequence } from '../tracker/tracker.js';
import { formatBoxes } from '../eval/results.js';
import { AppError } from './errors.js';
import type { Logger } from './log.js';
import type { ModelRegistry } from './models.js';
import type { JobEnd, JobFrame, JobInfo, JobProgress, JobResults, JobState, WireError } from './protocol.js';
import { newId, type Upload, type UploadStore } from './uploads.js';
import { annotateVideo, decodeVideo } from './video.js';

/** Names of a finished job's files, as served by `GET /api/jobs/:id/:file`. */
export const RESULT_FILES = { video: 'annotated.mp4', otb: 'boxes.txt', json: 'result.json' } as const;

/** Where job events go (the socket layer sends them to the job's room). */
export interface JobSink {
  frame(jobId: string, f: JobFrame): void;
  progress(jobId: string, p: JobProgress): void;
  end(jobId: string, e: JobEnd): void;
}

/** Limits of the queue. */
export interface JobLimits {
  concurrency: number;
  maxQueued: number;
  maxFrames: number;
  graceMs: number;
}

/** A job and its state. */
export interface Job {
  id: string;
  upload: Upload;
  model: string;
  box: Box;
  state: JobState;
  dir: string;
  total: number;
  done: number;
  fps: number;
  abort: AbortController;
  watchers: Set<string>;
  graceTimer?: NodeJS.Timeout;
  finished?: Promise<void>;
  finishedAt?: number;
  results?: JobResults;
  error?: WireError;
}

/** The job queue. */
export class JobQueue {
  private readonly jobs = new Map<string, Job>();
  private readonly waiting: Job[] = [];
  private running = 0;
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly limits: JobLimits,
    private readonly uploads: UploadStore,
    private readonly models: ModelRegistry,
    private readonly sink: JobSink,
    private readonly log: Logger,
  ) {}

  /**
   * Queue a job tracking `box` (0-based, in the video's pixels) from the first frame of upload `uploadId`, watched by
   * `watcher` (a socket id). Throws AppError: unknown upload/model, box outside the frame, queue full, shutting down.
   */
  start(uploadId: string, box: Box, model: string | undefined, watcher: string): JobInfo {
    if (this.closed) throw new AppError('unavailable', 'the server is shutting down', 503);
    const upload = this.uploads.get(uploadId);
    const name = this.models.resolve(model);
    try {
      validateBox(box, upload.info.width, upload.info.height, 'initial box');
    } catch (e) {
      throw new AppError('bad_box', (e as Error).message, 400);
    }
    if (upload.info.frames > this.limits.maxFrames) {
      throw new AppError('too_large', `the video has ${upload.info.frames} frames; this server tracks at most ${this.limits.maxFrames}`, 413);
    }
    if (this.waiting.length >= this.limits.maxQueued && this.running >= this.limits.concurrency) {
      throw new AppError('queue_full', `the job queue is full (${this.waiting.length} waiting); try again later`, 503);
    }
    const id = newId();
    const job: Job = {
      id, upload, model: name, box: { ...box }, state: 'queued', dir: path.join(this.root, id),
      total: upload.info.frames, done: 0, fps: 0, abort: new AbortController(), watchers: new Set([watcher]),
    };
    upload.busy++;
    this.jobs.set(id, job);
    this.waiting.push(job);
    this.log.info('job.queued', { job: id, upload: uploadId, model: name, frames: job.total });
    this.pump();
    return this.info(job);
  }

  /** The job `id`; AppError `not_found` if absent. */
  get(id: string): Job {
    const j = this.jobs.get(id);
    if (!j) throw new AppError('not_found', `no job with id "${id}"`, 404);
    return j;
  }

  /** Public state of a job. */
  info(job: Job): JobInfo {
    const pos = this.waiting.indexOf(job);
    return {
      jobId: job.id, uploadId: job.upload.id, model: job.model, state: job.state, frames: job.total, fps: job.fps,
      ...(pos >= 0 ? { queuePosition: pos } : {}),
    };
  }

  /** Cancel a queued or running job (a finished one is left as it is). */
  cancel(id: string, reason = 'cancelled by the user'): JobInfo {
    const job = this.get(id);
    if (job.state === 'queued') {
      this.waiting.splice(this.waiting.indexOf(job), 1);
      this.finish(job, 'cancelled');
      this.sink.end(job.id, { jobId: job.id, state: 'cancelled', frames: 0, fps: 0 });
    } else if (job.state === 'running' && !job.abort.signal.aborted) {
      job.abort.abort(new AppError('conflict', reason));
    }
    this.log.info('job.cancel', { job: id, reason });
    return this.info(job);
  }

  /** `watcher` follows the job (again): a pending grace-period cancellation is called off. */
  watch(id: string, watcher: string): JobInfo {
    const job = this.get(id);
    job.watchers.add(watcher);
    if (job.graceTimer) {
      clearTimeout(job.graceTimer);
      job.graceTimer = undefined;
    }
    return this.info(job);
  }

  /** `watcher` went away: jobs nobody watches any more are cancelled after the grace period. */
  unwatchAll(watcher: string): void {
    for (const job of this.jobs.values()) {
      if (!job.watchers.delete(watcher) || job.watchers.size > 0) continue;
      if (job.state !== 'queued' && job.state !== 'running') continue;
      job.graceTimer = setTimeout(() => {
        job.graceTimer = undefined;
        if (job.watchers.size === 0 && (job.state === 'queued' || job.state === 'running')) {
          this.cancel(job.id, 'no client watched the job during the grace period');
        }
      }, this.limits.graceMs);
      job.graceTimer.unref();
    }
  }

  /** Delete finished jobs (and their files) older than `maxAgeMs`. */
  async expire(maxAgeMs: number, now = Date.now()): Promise<number> {
    let n = 0;
    for (const job of [...this.jobs.values()]) {
      if (job.finishedAt === undefined || now - job.finishedAt < maxAgeMs) continue;
      this.jobs.delete(job.id);
      await rm(job.dir, { recursive: true, force: true });
      n++;
    }
    return n;
  }

  /** Jobs queued or running. */
  get active(): number {
    return this.running + this.waiting.length;
  }

  /** Stop accepting jobs, cancel every queued and running one, and wait until they have stopped. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of [...this.waiting]) this.cancel(job.id, 'server shutting down');
    const runs: Promise<void>[] = [];
    for (const job of this.jobs.values()) {
      if (job.graceTimer) clearTimeout(job.graceTimer);
      if (job.state === 'running') {
        this.cancel(job.id, 'server shutting down');
        if (job.finished) runs.push(job.finished);
      }
    }
    await Promise.allSettled(runs);
  }

  private pump(): void {
    while (!this.closed && this.running < this.limits.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.running++;
      job.state = 'running';
      job.finished = this.run(job)
        .catch((e) => this.log.error('job.crash', { job: job.id, error: String(e) }))
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  private finish(job: Job, state: JobState): void {
    job.state = state;
    job.finishedAt = Date.now();
    job.upload.busy--;
    job.upload.lastUsed = Date.now();
    if (job.graceTimer) clearTimeout(job.graceTimer);
  }

  private async run(job: Job): Promise<void> {
    const signal = job.abort.signal;
    const t0 = performance.now();
    let trackSeconds = 0;
    let lastProgress = 0;
    this.log.info('job.start', { job: job.id, model: job.model });
    this.sink.progress(job.id, { jobId: job.id, done: 0, total: job.total, state: 'running' });
    let boxes: Box[] = [];
    let scores: number[] = [];
    let times: number[] = [];
    try {
      const tracker = await this.models.createTracker(job.model);
      try {
        const frames = decodeVideo(job.upload.videoPath, { info: job.upload.info, maxFrames: this.limits.maxFrames, signal });
        const r = await trackSequence(tracker, frames, job.box, {
          shouldStop: () => signal.aborted,
          onFrame: (index, result, seconds) => {
            trackSeconds += seconds;
            job.done = index + 1;
            job.fps = job.done / Math.max(trackSeconds, 1e-9);
            this.sink.frame(job.id, { jobId: job.id, frame: index, box: result.box, score: result.score, fps: job.fps });
            const now = performance.now();
            if (now - lastProgress > 200 || job.done >= job.total) {
              lastProgress = now;
              this.sink.progress(job.id, { jobId: job.id, done: job.done, total: Math.max(job.total, job.done), state: 'running' });
            }
          },
        });
        ({ boxes, scores, times } = r);
      } finally {
        tracker.dispose();
      }
      if (signal.aborted) throw signal.reason;
      job.total = boxes.length;
      this.sink.progress(job.id, { jobId: job.id, done: job.done, total: job.total, state: 'running' });
      job.results = await this.writeResults(job, boxes, scores, times, signal);
      if (signal.aborted) throw signal.reason;
      this.finish(job, 'done');
      this.log.info('job.done', { job: job.id, frames: boxes.length, fps: round(job.fps), seconds: round((performance.now() - t0) / 1000) });
      this.sink.end(job.id, { jobId: job.id, state: 'done', frames: boxes.length, fps: job.fps, results: job.results });
    } catch (e) {
      await rm(job.dir, { recursive: true, force: true });
      job.results = undefined;
      if (signal.aborted) {
        this.finish(job, 'cancelled');
        this.log.info('job.cancelled', { job: job.id, frames: job.done });
        this.sink.end(job.id, { jobId: job.id, state: 'cancelled', frames: job.done, fps: job.fps });
        return;
      }
      const msg = (e as Error)?.message ?? String(e);
      job.error = e instanceof AppError ? { code: e.code, message: e.message } : { code: 'internal', message: `tracking failed: ${msg.split('\n')[0].slice(0, 300)}` };
      this.finish(job, 'failed');
      this.log.warn('job.failed', { job: job.id, error: msg.slice(0, 500) });
      this.sink.end(job.id, { jobId: job.id, state: 'failed', frames: job.done, fps: job.fps, error: job.error });
    }
  }

  private async writeResults(job: Job, boxes: Box[], scores: number[], times: number[], signal: AbortSignal): Promise<JobResults> {
    await mkdir(job.dir, { recursive: true });
    const base = `/api/jobs/${job.id}`;
    await writeFile(path.join(job.dir, RESULT_FILES.otb), formatBoxes(boxes));
    const json = {
      job: job.id,
      model: job.model,
      video: { name: job.upload.name, width: job.upload.info.width, height: job.upload.info.height, fps: job.upload.info.fps },
      boxConvention: '0-based left-top x, y, width, height in pixels (the OTB file is 1-based)',
      initialBox: job.box,
      fps: job.fps,
      frames: boxes.map((b, i) => ({ frame: i, box: b, score: scores[i], seconds: times[i] })),
    };
    await writeFile(path.join(job.dir, RESULT_FILES.json), JSON.stringify(json, null, 1) + '\n');
    const results: JobResults = { otb: `${base}/${RESULT_FILES.otb}`, json: `${base}/${RESULT_FILES.json}` };
    try {
      await annotateVideo(job.upload.videoPath, path.join(job.dir, RESULT_FILES.video), boxes, {
        labels: scores.map((s) => s.toFixed(2)),
        signal,
        fps: job.upload.info.fps > 0 ? job.upload.info.fps : 25,
      });
      results.video = `${base}/${RESULT_FILES.video}`;
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      results.annotateError = `the annotated video could not be written: ${String((e as Error).message).split('\n')[0].slice(0, 300)}`;
      this.log.warn('job.annotate_failed', { job: job.id, error: String(e).slice(0, 500) });
    }
    return results;
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
