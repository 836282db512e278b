/**
 * The evaluation side of a worker process (worker.ts): a BullMQ worker on the evaluation queue that runs each run
 * with eval-run.ts against the worker's own `--dataset-root` / `--eval-dir` (the same folders as the servers'),
 * streams progress and the end to the starter's session room, and keeps the run's record in Redis. A killed worker
 * leaves a stalled job that another worker runs again from the start (its half-written `.parts/<run>` is replaced).
 */
import type { Emitter } from '@socket.io/redis-emitter';
import { UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import type { Redis } from 'ioredis';
import { describeZodError } from './errors.js';
import { runEvaluation, type EvalRunContext } from './eval-run.js';
import type { Logger } from './log.js';
import type { EvalEnd, ServerToClientEvents } from './protocol.js';
import { CANCELLED_SET, EVAL_QUEUE, EvalJobData, EVALS_KEY, getEvalRecord, type EvalRecord } from './redis.js';
import { sessionRoom } from './sockets.js';

export interface EvalWorkerDeps {
  client: Redis;
  emitter: Emitter<ServerToClientEvents>;
  /** Runs in progress in this process by id (the cancel channel aborts them). */
  running: Map<string, AbortController>;
  ctx: EvalRunContext;
  log: Logger;
  concurrency: number;
  lockMs: number;
  maxStalls: number;
}

/** Start the evaluation worker; resolves once it listens. */
export async function startEvalWorker(deps: EvalWorkerDeps): Promise<Worker> {
  const { client, emitter, running, ctx, log } = deps;
  const finish = async (owner: string, end: EvalEnd) => {
    await client.hdel(EVALS_KEY, end.runId);
    await client.srem(CANCELLED_SET, end.runId);
    emitter.to(sessionRoom(owner)).emit('eval:end', end);
  };

  const processor = async (bj: BullJob): Promise<void> => {
    const parsed = EvalJobData.safeParse(bj.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed job: ${describeZodError(parsed.error, 'evaluation job data')}`);
    const d = parsed.data;
    const rec = await getEvalRecord(client, d.runId);
    if (!rec) throw new UnrecoverableError(`malformed job: no evaluation record "${d.runId}"`);
    if (await client.sismember(CANCELLED_SET, d.runId)) return finish(d.owner, { runId: d.runId, state: 'cancelled', failed: [] });
    const abort = new AbortController();
    running.set(d.runId, abort);
    const next: EvalRecord = { ...rec, state: 'running' };
    await client.hset(EVALS_KEY, d.runId, JSON.stringify(next));
    log.info('eval.run', { run: d.runId, attempt: bj.attemptsStarted, stalls: bj.stalledCounter, pid: process.pid });
    try {
      const plan = { runId: d.runId, benchmark: d.benchmark, sequences: d.sequences, trackers: d.trackers, delta: d.delta, picked: d.picked };
      const end = await runEvaluation(ctx, plan, abort.signal, (p) => emitter.to(sessionRoom(d.owner)).emit('eval:progress', p));
      await finish(d.owner, end);
      if (end.state === 'failed') throw new UnrecoverableError(end.error?.message ?? 'evaluation failed');
    } finally {
      running.delete(d.runId);
    }
  };

  const worker = new Worker(EVAL_QUEUE, processor, {
    connection: client.duplicate(), concurrency: deps.concurrency, lockDuration: deps.lockMs,
    stalledInterval: Math.max(250, Math.round(deps.lockMs / 2)), maxStalledCount: deps.maxStalls,
  });
  worker.on('error', (e) => log.warn('worker.error', { queue: EVAL_QUEUE, error: String(e) }));
  // Failed by BullMQ itself (a run that stalled too often): its starter must hear of it and its record must go.
  worker.on('failed', (bj, e) => {
    const data = EvalJobData.safeParse(bj?.data);
    log.warn('eval.failed', { bullJob: bj?.id, reason: e.message });
    if (!data.success) return;
    void getEvalRecord(client, data.data.runId)
      .then((r) => (r ? finish(r.owner, { runId: r.runId, state: 'failed', failed: [], error: { code: 'internal', message: e.message } }) : undefined))
      .catch((err) => log.warn('eval.store_error', { run: data.data.runId, error: String(err) }));
  });
  await worker.waitUntilReady();
  return worker;
}
