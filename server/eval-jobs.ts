/**
 * Evaluation runs started from the page (the run itself: eval-run.ts). Two implementations of `EvalService`: the
 * in-process `EvalRunner` below (the default; one run at a time, in a worker thread so the server stays responsive)
 * and `RedisEvalQueue` (redis-evals.ts, with `--redis`: runs queued for the worker processes). Progress and the end
 * go to the session that started the run, which alone may cancel it.
 */
import type { Logger } from './log.js';
import type { ModelRegistry } from './models.js';
import { AppError } from './errors.js';
import { describeDataset, planEvaluation, runEvaluation, type EvalRunContext } from './eval-run.js';
import type { EvalEnd, EvalInfo, EvalProgress, EvalStart, EvalStarted } from './protocol.js';

/** Where eval events go: to the session that started the run (`owner`). */
export interface EvalSink {
  progress(owner: string, p: EvalProgress): void;
  end(owner: string, e: EvalEnd): void;
}

/** Evaluation runs as the routes and sockets see them. Errors are AppErrors (with an HTTP status). */
export interface EvalService {
  /** The dataset's sequences (or why there is none) and the run in progress, if any. */
  describe(): Promise<EvalInfo>;
  /** Start (or queue) a run owned by session `owner`. */
  start(req: EvalStart, owner: string): Promise<EvalStarted>;
  /** Cancel run `runId`; only its owner (`session`) may. */
  cancel(runId: string, session: string): Promise<{ cancelled: boolean }>;
  /** Stop (the in-process runner cancels its run; the queue leaves runs to the workers). */
  close(): Promise<void>;
}

/** Runs evaluations inside this process; at most one at a time. */
export class EvalRunner implements EvalService {
  private current: { id: string; owner: string; abort: AbortController; done: Promise<void> } | null = null;
  private readonly ctx: EvalRunContext;

  constructor(
    datasetRoot: string,
    evalDir: string,
    modelDir: string,
    backend: string,
    models: ModelRegistry,
    private readonly sink: EvalSink,
    log: Logger,
  ) {
    this.ctx = { datasetRoot, evalDir, modelDir, backend, models, log };
  }

  async describe(): Promise<EvalInfo> {
    return describeDataset(this.ctx.datasetRoot, this.current?.id ?? null);
  }

  async start(req: EvalStart, owner: string): Promise<EvalStarted> {
    if (this.current) throw new AppError('busy', `an evaluation is already running (${this.current.id}); wait for it or cancel it`, 409);
    const plan = planEvaluation(this.ctx.datasetRoot, req, this.ctx.models);
    const abort = new AbortController();
    const done = runEvaluation(this.ctx, plan, abort.signal, (p) => this.sink.progress(owner, p))
      .then((end) => this.sink.end(owner, end))
      .finally(() => {
        this.current = null;
      });
    this.current = { id: plan.runId, owner, abort, done };
    return { runId: plan.runId, benchmark: plan.benchmark, sequences: plan.sequences, queued: false };
  }

  async cancel(runId: string, session: string): Promise<{ cancelled: boolean }> {
    if (!this.current || this.current.id !== runId) throw new AppError('not_found', `no running evaluation "${runId}"`, 404);
    if (this.current.owner !== session) throw new AppError('forbidden', `evaluation ${runId} was started by another session; only it can cancel the run`, 403);
    this.current.abort.abort();
    return { cancelled: true };
  }

  async close(): Promise<void> {
    const c = this.current;
    if (!c) return;
    c.abort.abort();
    await c.done.catch(() => undefined);
  }
}
