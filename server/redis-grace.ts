/**
 * The grace period of the Redis mode: a queued or running job that no socket on any server process follows for
 * `graceMs` is cancelled, as the embedded queue does when its last watcher goes away. Watchers are spread over the
 * server processes, so each server sweeps every `intervalMs`: it counts the sockets in the job's room cluster-wide
 * (the Redis adapter's fetchSockets) and remembers since when a job has had none. Several servers may sweep the same
 * job; the cancellation is idempotent. A job is never counted unwatched before `createdAt + minAgeMs` (its starter
 * joins the room just after the job is queued).
 */
import type { Logger } from './log.js';
import type { JobRecord } from './store/types.js';

export interface GraceDeps {
  /** Active (queued or running) job records. */
  active: () => Promise<JobRecord[]>;
  /** Sockets following job `id` on every server process. */
  watchers: (id: string) => Promise<number>;
  /** Cancel the job. */
  cancel: (rec: JobRecord, reason: string) => Promise<void>;
  graceMs: number;
  log: Logger;
  minAgeMs?: number;
}

/** Sweeps unwatched jobs; `sweep()` is one pass (the timer calls it), `close()` stops the timer. */
export class UnwatchedJobs {
  private readonly since = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly deps: GraceDeps) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
  }

  /** One pass; returns the ids cancelled. */
  async sweep(now = Date.now()): Promise<string[]> {
    if (this.running) return [];
    this.running = true;
    const cancelled: string[] = [];
    try {
      const jobs = await this.deps.active();
      const ids = new Set(jobs.map((j) => j.id));
      for (const id of this.since.keys()) if (!ids.has(id)) this.since.delete(id);
      for (const j of jobs) {
        if ((await this.deps.watchers(j.id)) > 0) {
          this.since.delete(j.id);
          continue;
        }
        if (!this.since.has(j.id)) this.since.set(j.id, Math.max(now, j.createdAt + (this.deps.minAgeMs ?? 2000)));
        const from = this.since.get(j.id)!;
        if (now - from >= this.deps.graceMs) {
          this.since.delete(j.id);
          await this.deps.cancel(j, 'no client watched the job during the grace period');
          cancelled.push(j.id);
        }
      }
    } catch (e) {
      // a server that went away mid-request makes fetchSockets time out: try again next pass
      this.deps.log.warn('jobs.grace_error', { error: String((e as Error)?.message ?? e) });
    } finally {
      this.running = false;
    }
    return cancelled;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
