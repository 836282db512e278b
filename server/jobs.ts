/**
 * Tracking jobs over uploaded videos: a bounded FIFO queue (at most `concurrency` running), frame-by-frame tracking
 * through `trackSequence` with every result streamed out, cancellation (by the owner, or when no client has watched
 * the job for a grace period), and the result files (job-results.ts). Every job is recorded in the StateStore, so
 * after a restart finished jobs are still listed and downloadable and unfinished ones are marked `interrupted`.
 * A job belongs to the session that started it; others see it only with its share key.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Box } from '../tracker/geometry.js';
import { checkBox } from './box-check.js';
import { AppError } from './errors.js';
import type { JobService, JobView } from './job-service.js';
import { RESULT_FILES } from './job-results.js';
import type { Logger } from './log.js';
import type { ModelRegistry } from './models.js';
import type { JobEnd, JobFrame, JobInfo, JobProgress, JobState } from './protocol.js';
import type { JobRecord, StateStore } from './store/types.js';
import { trackJob } from './track-job.js';
import { newId, type Upload, type UploadStore } from './uploads.js';

export { RESULT_FILES } from './job-results.js';

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

/** What a job queue works with: the jobs folder (`<root>/<id>/` per job), limits, uploads, models, events, log. */
export interface JobDeps {
  root: string;
  limits: JobLimits;
  uploads: UploadStore;
  models: ModelRegistry;
  sink: JobSink;
  log: Logger;
}

/**
 * The checks of a new job, shared by both queues: the upload and model exist, the box fits the video, the video is
 * not longer than `maxFrames`. Throws AppError; returns the upload and the resolved model name.
 */
export function checkStart(deps: Pick<JobDeps, 'uploads' | 'models' | 'limits'>, uploadId: string, box: Box, model: string | undefined): { upload: Upload; name: string } {
  const upload = deps.uploads.get(uploadId);
  const name = deps.models.resolve(model);
  checkBox(box, upload.info.width, upload.info.height, 'box');
  if (upload.info.frames > deps.limits.maxFrames) {
    throw new AppError('too_large', `the video has ${upload.info.frames} frames; this server tracks at most ${deps.limits.maxFrames} (--max-job-frames)`, 413);
  }
  return { upload, name };
}

/** A job: its stored record plus what only lives while the process does. */
export interface Job extends JobRecord {
  dir: string;
  /** The upload, while the job is queued or running. */
  upload?: Upload;
  abort: AbortController;
  watchers: Set<string>;
  graceTimer?: NodeJS.Timeout;
  finished?: Promise<void>;
}

/** States of a job that is not over yet. */
export const ACTIVE: ReadonlySet<JobState> = new Set(['queued', 'running']);

/** The end event of a finished job record. */
export function jobEnd(job: JobRecord): JobEnd {
  return {
    jobId: job.id, state: job.state, frames: job.state === 'done' ? job.total : job.done, fps: job.fps,
    ...(job.results ? { results: job.results } : {}), ...(job.error ? { error: job.error } : {}), ...(job.warning ? { warning: job.warning } : {}),
  };
}

/** Public state of a job record (with its end once it is over; `queuePosition` while it waits, when known). */
export function jobInfo(job: JobRecord, queuePosition?: number): JobInfo {
  return {
    jobId: job.id, uploadId: job.uploadId, model: job.model, state: job.state, frames: job.total, fps: job.fps, key: job.key,
    ...(queuePosition !== undefined ? { queuePosition } : {}),
    ...(ACTIVE.has(job.state) ? {} : { end: jobEnd(job) }),
  };
}

/** Timing-safe comparison of two keys. */
export function sameKey(a: string | undefined, b: string): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The in-process job queue (the default JobService). */
export class JobQueue implements JobService {
  private readonly jobs = new Map<string, Job>();
  private readonly waiting: Job[] = [];
  private running = 0;
  private closed = false;

  private readonly root: string;
  private readonly limits: JobLimits;
  private readonly uploads: UploadStore;
  private readonly models: ModelRegistry;
  private readonly sink: JobSink;
  private readonly log: Logger;

  constructor(private readonly deps: JobDeps, private readonly store: StateStore) {
    ({ root: this.root, limits: this.limits, uploads: this.uploads, models: this.models, sink: this.sink, log: this.log } = deps);
  }

  /**
   * Take the stored jobs after a restart: finished ones come back as they were (a `done` job whose files are gone
   * is forgotten), queued and running ones are marked `interrupted` and their partial files removed.
   */
  async restore(records: JobRecord[]): Promise<void> {
    for (const r of records) {
      const job: Job = { ...r, dir: path.join(this.root, r.id), abort: new AbortController(), watchers: new Set() };
      if (ACTIVE.has(r.state)) {
        job.state = 'interrupted';
        job.finishedAt = Date.now();
        job.results = undefined;
        job.error = { code: 'interrupted', message: `the server stopped while this job was ${r.state} (${r.done} of ${r.total} frames tracked); start it again` };
        await rm(job.dir, { recursive: true, force: true });
        await this.store.saveJob(this.record(job));
        this.log.info('job.interrupted', { job: r.id, was: r.state });
      } else if (r.state === 'done' && !existsSync(path.join(job.dir, RESULT_FILES.json))) {
        await this.store.deleteJob(r.id);
        continue;
      }
      this.jobs.set(job.id, job);
    }
  }

  /** Ids of the jobs known (for the orphan sweep). */
  ids(): Set<string> {
    return new Set(this.jobs.keys());
  }

  /**
   * Queue a job tracking `box` (0-based, in the video's pixels) from the first frame of upload `uploadId`, owned by
   * `owner` (a session id) and watched by `watcher` (a socket id). Throws AppError: unknown upload/model, bad box,
   * too many frames, queue full, shutting down.
   */
  async start(uploadId: string, box: Box, model: string | undefined, watcher: string, owner: string): Promise<JobInfo> {
    if (this.closed) throw new AppError('unavailable', 'the server is shutting down', 503);
    const { upload, name } = checkStart(this.deps, uploadId, box, model);
    if (this.waiting.length >= this.limits.maxQueued && this.running >= this.limits.concurrency) {
      throw new AppError('queue_full', `the job queue is full (${this.waiting.length} waiting); try again later`, 503);
    }
    const id = newId();
    const job: Job = {
      id, uploadId: upload.id, uploadName: upload.name, upload, model: name, box: { ...box }, state: 'queued', owner,
      key: randomBytes(18).toString('base64url'), dir: path.join(this.root, id), total: upload.info.frames, done: 0, fps: 0,
      createdAt: Date.now(), abort: new AbortController(), watchers: new Set([watcher]),
    };
    upload.busy++;
    this.jobs.set(id, job);
    this.waiting.push(job);
    this.persist(job);
    this.log.info('job.queued', { job: id, upload: uploadId, model: name, frames: job.total });
    this.pump();
    return this.info(job);
  }

  /** The job `id` if `session` owns it or `key` is its share key; `not_found` (404) or `forbidden` (403) otherwise. */
  async access(id: string, session: string, key?: string): Promise<Job> {
    const j = this.jobs.get(id);
    if (!j) throw new AppError('not_found', `no job with id "${id}"`, 404);
    if (j.owner !== session && !sameKey(key, j.key)) {
      throw new AppError('forbidden', `job ${id} belongs to another session; open the link its owner shares (it carries ?key=…)`, 403);
    }
    return j;
  }

  /** The jobs of `session`, newest first (finished ones survive restarts). */
  async list(session: string): Promise<JobInfo[]> {
    return [...this.jobs.values()].filter((j) => j.owner === session).sort((a, b) => b.createdAt - a.createdAt).map((j) => this.info(j));
  }

  /** Public state of a job (with its end once it is over). */
  info(job: JobView): JobInfo {
    const pos = this.waiting.findIndex((w) => w.id === job.id);
    return jobInfo(job, pos >= 0 ? pos : undefined);
  }

  /** Cancel a queued or running job of `session` (a finished one is left as it is). */
  async cancel(id: string, session: string, reason = 'cancelled by the user'): Promise<JobInfo> {
    const job = this.jobs.get(id);
    if (!job || job.owner !== session) {
      throw new AppError(job ? 'forbidden' : 'not_found', job ? `job ${id} belongs to another session; only its owner can cancel it` : `no job with id "${id}"`, job ? 403 : 404);
    }
    this.stop(job, 'cancelled', reason);
    return this.info(job);
  }

  /** `watcher` follows the job (again): a pending grace-period cancellation is called off. */
  watch(view: JobView, watcher: string): JobInfo {
    const job = this.jobs.get(view.id) ?? (view as Job);
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
      if (!job.watchers.delete(watcher) || job.watchers.size > 0 || !ACTIVE.has(job.state)) continue;
      job.graceTimer = setTimeout(() => {
        job.graceTimer = undefined;
        if (job.watchers.size === 0 && ACTIVE.has(job.state)) this.stop(job, 'cancelled', 'no client watched the job during the grace period');
      }, this.limits.graceMs);
      job.graceTimer.unref();
    }
  }

  /** Delete finished jobs (their records and files) older than `maxAgeMs`. */
  async expire(maxAgeMs: number, now = Date.now()): Promise<number> {
    let n = 0;
    for (const job of [...this.jobs.values()]) {
      if (job.finishedAt === undefined || now - job.finishedAt < maxAgeMs) continue;
      this.jobs.delete(job.id);
      await this.store.deleteJob(job.id);
      await rm(job.dir, { recursive: true, force: true });
      n++;
    }
    return n;
  }

  /** Jobs queued or running. */
  get active(): number {
    return this.running + this.waiting.length;
  }

  /** Stop accepting jobs, mark every queued and running one `interrupted`, and wait until they have stopped. */
  async close(): Promise<void> {
    this.closed = true;
    const runs: Promise<void>[] = [];
    for (const job of [...this.jobs.values()]) {
      if (job.graceTimer) clearTimeout(job.graceTimer);
      if (job.state === 'running' && job.finished) runs.push(job.finished);
      if (ACTIVE.has(job.state)) this.stop(job, 'interrupted', 'server shutting down');
    }
    await Promise.allSettled(runs);
  }

  /** End a queued job now, or abort a running one (its run ends it as `state`). */
  private stop(job: Job, state: 'cancelled' | 'interrupted', reason: string): void {
    if (job.state === 'queued') {
      this.waiting.splice(this.waiting.indexOf(job), 1);
      this.finish(job, state);
      this.sink.end(job.id, this.endOf(job));
    } else if (job.state === 'running' && !job.abort.signal.aborted) {
      job.abort.abort(new AppError(state === 'interrupted' ? 'interrupted' : 'conflict', reason));
    }
    this.log.info('job.stop', { job: job.id, state, reason });
  }

  private endOf(job: Job): JobEnd {
    return jobEnd(job);
  }

  private record(job: Job): JobRecord {
    const { dir: _d, upload: _u, abort: _a, watchers: _w, graceTimer: _g, finished: _f, ...rec } = job;
    return rec;
  }

  private persist(job: Job): void {
    this.store.saveJob(this.record(job)).catch((e) => this.log.error('job.store_error', { job: job.id, error: String(e) }));
  }

  private pump(): void {
    while (!this.closed && this.running < this.limits.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.running++;
      job.state = 'running';
      this.persist(job);
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
    if (job.upload) {
      job.upload.busy--;
      job.upload.lastUsed = Date.now();
      job.upload = undefined;
    }
    if (job.graceTimer) clearTimeout(job.graceTimer);
    this.persist(job);
  }

  private async run(job: Job): Promise<void> {
    const signal = job.abort.signal;
    const upload = job.upload!;
    const t0 = performance.now();
    let lastProgress = 0;
    this.log.info('job.start', { job: job.id, model: job.model });
    this.sink.progress(job.id, { jobId: job.id, done: 0, total: job.total, state: 'running' });
    try {
      const out = await trackJob(this.models, this.root, {
        id: job.id, key: job.key, model: job.model, box: job.box, maxFrames: this.limits.maxFrames,
        video: { name: upload.name, path: upload.videoPath, info: upload.info },
      }, signal, this.log, (f) => {
        job.done = f.frame + 1;
        job.fps = f.fps;
        this.sink.frame(job.id, f);
        const now = performance.now();
        if (now - lastProgress > 200 || job.done >= job.total) {
          lastProgress = now;
          this.sink.progress(job.id, { jobId: job.id, done: job.done, total: Math.max(job.total, job.done), state: 'running' });
        }
      });
      job.warning = out.warning;
      job.total = out.frames;
      job.results = out.results;
      this.sink.progress(job.id, { jobId: job.id, done: job.done, total: job.total, state: 'running' });
      this.finish(job, 'done');
      this.log.info('job.done', { job: job.id, frames: out.frames, fps: round(job.fps), seconds: round((performance.now() - t0) / 1000), warning: job.warning });
      this.sink.end(job.id, this.endOf(job));
    } catch (e) {
      await rm(job.dir, { recursive: true, force: true });
      job.results = undefined;
      if (signal.aborted) {
        const interrupted = signal.reason instanceof AppError && signal.reason.code === 'interrupted';
        if (interrupted) job.error = { code: 'interrupted', message: 'the server shut down while this job was running; start it again' };
        this.finish(job, interrupted ? 'interrupted' : 'cancelled');
        this.log.info('job.stopped', { job: job.id, state: job.state, frames: job.done });
        this.sink.end(job.id, this.endOf(job));
        return;
      }
      const msg = (e as Error)?.message ?? String(e);
      job.error = e instanceof AppError ? { code: e.code, message: e.message } : { code: 'internal', message: `tracking failed: ${msg.split('\n')[0].slice(0, 300)}` };
      this.finish(job, 'failed');
      this.log.warn('job.failed', { job: job.id, error: msg.slice(0, 500) });
      this.sink.end(job.id, this.endOf(job));
    }
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
