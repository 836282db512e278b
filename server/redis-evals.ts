/**
 * The EvalService of the Redis mode (`--redis`): a run is checked here, recorded in Redis (`EVALS_KEY`) and put on
 * the BullMQ evaluation queue; a worker process (worker-evals.ts) runs it and streams its progress and end to the
 * starter's session room through the socket.io Redis adapter, so the starter follows it on any server process and
 * may cancel it from any of them. Runs queue up to `maxQueued`; a run whose worker dies is run again from the start.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { AppError } from './errors.js';
import type { EvalService, EvalSink } from './eval-jobs.js';
import { describeDataset, planEvaluation } from './eval-run.js';
import type { Logger } from './log.js';
import type { ModelRegistry } from './models.js';
import type { EvalInfo, EvalStart, EvalStarted } from './protocol.js';
import { CANCEL_CHANNEL, CANCELLED_SET, EVALS_KEY, getEvalRecord, type EvalJobData, type EvalRecord } from './redis.js';

/** Evaluation runs on a BullMQ queue. */
export class RedisEvalQueue implements EvalService {
  constructor(
    private readonly datasetRoot: string,
    private readonly models: ModelRegistry,
    private readonly client: Redis,
    private readonly queue: Queue,
    private readonly maxQueued: number,
    private readonly sink: EvalSink,
    private readonly log: Logger,
  ) {}

  async describe(): Promise<EvalInfo> {
    const runs = Object.values(await this.client.hgetall(EVALS_KEY)).map((v) => JSON.parse(v) as EvalRecord);
    const running = runs.find((r) => r.state === 'running') ?? runs.sort((a, b) => a.createdAt - b.createdAt)[0];
    return describeDataset(this.datasetRoot, running?.runId ?? null);
  }

  async start(req: EvalStart, owner: string): Promise<EvalStarted> {
    const plan = planEvaluation(this.datasetRoot, req, this.models);
    const active = await this.client.hlen(EVALS_KEY);
    if (active >= this.maxQueued) throw new AppError('queue_full', `${active} evaluations are queued or running; try again later`, 503);
    const rec: EvalRecord = { runId: plan.runId, owner, state: 'queued', createdAt: Date.now() };
    await this.client.hset(EVALS_KEY, plan.runId, JSON.stringify(rec));
    const data: EvalJobData = {
      runId: plan.runId, owner, benchmark: plan.benchmark, trackers: plan.trackers, sequences: plan.sequences,
      ...(plan.delta !== undefined ? { delta: plan.delta } : {}), ...(plan.picked ? { picked: plan.picked } : {}),
    };
    // One attempt: a run that fails is failed; a run whose worker died (a stalled job) is run again by BullMQ.
    await this.queue.add('eval', data, { jobId: plan.runId, attempts: 1, removeOnComplete: true, removeOnFail: 1000 });
    this.log.info('eval.queued', { run: plan.runId, trackers: plan.trackers, sequences: plan.sequences.length, queue: 'redis' });
    return { runId: plan.runId, benchmark: plan.benchmark, sequences: plan.sequences, queued: true };
  }

  /** A waiting run is removed from the queue and ended here; a running one is stopped by its worker. */
  async cancel(runId: string, session: string): Promise<{ cancelled: boolean }> {
    const rec = await getEvalRecord(this.client, runId);
    if (!rec) throw new AppError('not_found', `no queued or running evaluation "${runId}"`, 404);
    if (rec.owner !== session) throw new AppError('forbidden', `evaluation ${runId} was started by another session; only it can cancel the run`, 403);
    await this.client.sadd(CANCELLED_SET, runId);
    await this.client.publish(CANCEL_CHANNEL, runId);
    const bj = await this.queue.getJob(runId);
    if (bj && ['waiting', 'delayed', 'prioritized', 'wait'].includes(await bj.getState())) {
      if (await bj.remove().then(() => true, () => false)) {
        await this.client.hdel(EVALS_KEY, runId);
        await this.client.srem(CANCELLED_SET, runId);
        this.sink.end(rec.owner, { runId, state: 'cancelled', failed: [] });
      }
    }
    this.log.info('eval.stop', { run: runId, reason: 'cancelled by the user' });
    return { cancelled: true };
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
