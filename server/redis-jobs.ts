/**
 * The JobService of the Redis mode (`--redis`): a job is a record in Redis plus a BullMQ job that a worker process
 * (worker.ts) runs; this server process only validates, queues, answers and cancels. Since nothing of a job lives
 * here, a job survives the restart of the server that accepted it, and any server process can show or cancel it.
 * A job no socket follows on any server process for the grace period is cancelled (redis-grace.ts).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Box } from '../tracker/geometry.js';
import { AppError } from './errors.js';
import type { JobService, JobView } from './job-service.js';
import { ACTIVE, checkStart, jobEnd, jobInfo, sameKey, type JobDeps, type JobLimits, type JobSink } from './jobs.js';
import type { Logger } from './log.js';
import type { JobInfo } from './protocol.js';
import { CANCEL_CHANNEL, CANCELLED_SET, type RedisStateStore, type TrackJobData } from './redis.js';
import type { JobRecord } from './store/types.js';
import { UnwatchedJobs } from './redis-grace.js';
import { newId } from './uploads.js';

/** Tracking jobs on a BullMQ queue. */
export class RedisJobQueue implements JobService {
  private counted = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly grace: UnwatchedJobs | undefined;

  private readonly root: string;
  private readonly limits: JobLimits;
  private readonly sink: JobSink;
  private readonly log: Logger;

  constructor(
    private readonly deps: JobDeps,
    private readonly store: RedisStateStore,
    private readonly client: Redis,
    private readonly queue: Queue,
    /** Sockets following a job on every server process (none given: no grace-period cancellation). */
    watchers?: (id: string) => Promise<number>,
  ) {
    ({ root: this.root, limits: this.limits, sink: this.sink, log: this.log } = deps);
    this.timer = setInterval(() => void this.count(), 1000);
    this.timer.unref();
    if (watchers) {
      this.grace = new UnwatchedJobs({
        active: async () => (await this.store.load()).jobs.filter((j) => ACTIVE.has(j.state)),
        watchers, graceMs: this.limits.graceMs, log: this.log,
        cancel: async (rec, reason) => void (await this.stop(rec, reason)),
      });
      this.grace.start(Math.min(5000, Math.max(500, Math.round(this.limits.graceMs / 4))));
    }
  }

  /** Nothing to take: the records stay in Redis, unfinished jobs stay with the workers. */
  async restore(): Promise<void> {}

  ids(): Set<string> {
    return new Set();
  }

  async start(uploadId: string, box: Box, model: string | undefined, _watcher: string, owner: string): Promise<JobInfo> {
    await this.deps.uploads.fetch(uploadId); // accepted by another server process: known from here on
    const { upload, name } = checkStart(this.deps, uploadId, box, model);
    const waiting = await this.queue.getWaitingCount();
    if (waiting >= this.limits.maxQueued) throw new AppError('queue_full', `the job queue is full (${waiting} waiting); try again later`, 503);
    const id = newId();
    const rec: JobRecord = {
      id, uploadId: upload.id, uploadName: upload.name, model: name, box: { ...box }, state: 'queued', owner,
      key: randomBytes(18).toString('base64url'), total: upload.info.frames, done: 0, fps: 0, createdAt: Date.now(),
    };
    await this.store.saveJob(rec);
    const data: TrackJobData = { jobId: id, uploadId: upload.id, maxFrames: this.limits.maxFrames };
    // One attempt: a job that fails is failed; a job whose worker died (a stalled job) is retried by BullMQ.
    await this.queue.add('track', data, { jobId: id, attempts: 1, removeOnComplete: true, removeOnFail: 1000 });
    this.counted++;
    this.log.info('job.queued', { job: id, upload: uploadId, model: name, frames: rec.total, queue: 'redis' });
    return jobInfo(rec);
  }

  async access(id: string, session: string, key?: string): Promise<JobView> {
    const r = await this.store.getJob(id);
    if (!r) throw new AppError('not_found', `no job with id "${id}"`, 404);
    if (r.owner !== session && !sameKey(key, r.key)) {
      throw new AppError('forbidden', `job ${id} belongs to another session; open the link its owner shares (it carries ?key=…)`, 403);
    }
    return { ...r, dir: path.join(this.root, r.id) };
  }

  async list(session: string): Promise<JobInfo[]> {
    const { jobs } = await this.store.load();
    return jobs.filter((j) => j.owner === session).sort((a, b) => b.createdAt - a.createdAt).map((j) => jobInfo(j));
  }

  info(job: JobView): JobInfo {
    return jobInfo(job);
  }

  /**
   * A waiting job is removed from the queue and ended here; a running one is stopped by its worker (told on the
   * cancel channel; the cancelled set also stops a worker that takes the job in between).
   */
  async cancel(id: string, session: string, reason = 'cancelled by the user'): Promise<JobInfo> {
    const r = await this.store.getJob(id);
    if (!r || r.owner !== session) {
      throw new AppError(r ? 'forbidden' : 'not_found', r ? `job ${id} belongs to another session; only its owner can cancel it` : `no job with id "${id}"`, r ? 403 : 404);
    }
    return this.stop(r, reason);
  }

  private async stop(r: JobRecord, reason: string): Promise<JobInfo> {
    const id = r.id;
    if (!ACTIVE.has(r.state)) return jobInfo(r);
    await this.client.sadd(CANCELLED_SET, id);
    await this.client.publish(CANCEL_CHANNEL, id);
    const bj = await this.queue.getJob(id);
    let removed = !bj;
    if (bj && ['waiting', 'delayed', 'prioritized', 'wait'].includes(await bj.getState())) {
      removed = await bj.remove().then(() => true, () => false);
    }
    if (removed) {
      r.state = 'cancelled';
      r.finishedAt = Date.now();
      await this.store.saveJob(r);
      await this.client.srem(CANCELLED_SET, id);
      this.sink.end(id, jobEnd(r));
    }
    this.log.info('job.stop', { job: id, state: 'cancelled', reason, queued: removed });
    return jobInfo(r);
  }

  watch(job: JobView): JobInfo {
    return jobInfo(job);
  }

  unwatchAll(): void {}

  async expire(maxAgeMs: number, now = Date.now()): Promise<number> {
    let n = 0;
    for (const j of (await this.store.load()).jobs) {
      if (j.finishedAt === undefined || now - j.finishedAt < maxAgeMs) continue;
      await this.store.deleteJob(j.id);
      await rm(path.join(this.root, j.id), { recursive: true, force: true });
      n++;
    }
    return n;
  }

  get active(): number {
    return this.counted;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.grace?.close();
    await this.queue.close();
  }

  private async count(): Promise<void> {
    try {
      const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      this.counted = Object.values(c).reduce((a, b) => a + b, 0);
    } catch (e) {
      this.log.warn('queue.count_error', { error: String(e) });
    }
  }
}
