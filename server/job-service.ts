/**
 * The job-queue interface the routes and sockets use. Two implementations: `JobQueue` (jobs.ts, the default) runs
 * jobs inside the server process; `RedisJobQueue` (redis-jobs.ts, with `--redis`) puts them on a BullMQ queue that
 * worker processes (worker.ts) run, with the job records in Redis so any server process can answer for any job.
 */
import type { Box } from '../tracker/geometry.js';
import type { JobInfo } from './protocol.js';
import type { JobRecord } from './store/types.js';

/** A job as the routes see it: its record and the folder of its result files. */
export interface JobView extends JobRecord {
  dir: string;
}

/** Tracking jobs: start, look up, list, cancel, follow, expire. Errors are AppErrors (with an HTTP status). */
export interface JobService {
  /** Take the stored jobs at start (the in-process queue marks unfinished ones `interrupted`). */
  restore(records: JobRecord[]): Promise<void>;
  /** Ids of the jobs this process knows (for the orphan sweep). */
  ids(): Set<string>;
  /** Queue a job on upload `uploadId` tracking `box` (0-based video pixels), owned by session `owner`. */
  start(uploadId: string, box: Box, model: string | undefined, watcher: string, owner: string): Promise<JobInfo>;
  /** The job `id` if `session` owns it or `key` is its share key (`not_found` 404 / `forbidden` 403 otherwise). */
  access(id: string, session: string, key?: string): Promise<JobView>;
  /** The jobs of `session`, newest first. */
  list(session: string): Promise<JobInfo[]>;
  /** Public state of a job. */
  info(job: JobView): JobInfo;
  /** Cancel a queued or running job of `session`. */
  cancel(id: string, session: string, reason?: string): Promise<JobInfo>;
  /** Socket `watcher` follows the job. */
  watch(job: JobView, watcher: string): JobInfo;
  /** Socket `watcher` went away. */
  unwatchAll(watcher: string): void;
  /** Delete finished jobs older than `maxAgeMs`; returns how many. */
  expire(maxAgeMs: number, now?: number): Promise<number>;
  /** Jobs queued or running (the Redis queue: as last counted). */
  readonly active: number;
  /** Stop; the in-process queue interrupts its jobs, the Redis one leaves them to the workers. */
  close(): Promise<void>;
}
