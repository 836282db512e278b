/**
 * Evaluation runs started from the page: OTB one-pass evaluation (eval/ope.ts, in a worker thread so the server stays
 * responsive) of the chosen trackers on the dataset root configured on the server — never a path from the client —
 * optionally rotated at Δ °/frame (Rot-OTB), then scored and written as a report (eval/report.ts) into
 * `<evalDir>/<run>/`, where the evaluation page lists it. One run at a time; progress streams to the starter.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { DatasetRef, openDataset } from '../eval/datasets.js';
import { runOpe, type OpeProgress } from '../eval/ope.js';
import { evaluateResultFiles } from '../eval/results.js';
import { writeReport } from '../eval/report.js';
import type { Box } from '../tracker/geometry.js';
import { AppError } from './errors.js';
import type { Logger } from './log.js';
import type { ModelRegistry } from './models.js';
import type { EvalEnd, EvalInfo, EvalProgress, EvalStart } from './protocol.js';
import { newId } from './uploads.js';

/** Where eval events go: to the session that started the run (`owner`). */
export interface EvalSink {
  progress(owner: string, p: EvalProgress): void;
  end(owner: string, e: EvalEnd): void;
}

/** Runs evaluations; at most one at a time. */
export class EvalRunner {
  private current: { id: string; owner: string; abort: AbortController; done: Promise<void> } | null = null;

  constructor(
    private readonly datasetRoot: string,
    private readonly evalDir: string,
    private readonly modelDir: string,
    private readonly backend: string,
    private readonly models: ModelRegistry,
    private readonly sink: EvalSink,
    private readonly log: Logger,
  ) {}

  /** What the page needs to offer a run: the sequences of the configured dataset (or why there is none). */
  describe(): EvalInfo {
    if (!existsSync(this.datasetRoot)) {
      return { available: false, reason: 'the evaluation dataset configured on the server (--dataset-root) does not exist', sequences: [], running: this.current?.id ?? null };
    }
    try {
      const ds = openDataset(DatasetRef.parse({ layout: 'otb', root: this.datasetRoot }));
      return { available: true, reason: null, sequences: ds.names(), running: this.current?.id ?? null };
    } catch (e) {
      return { available: false, reason: (e as Error).message.replace(this.datasetRoot, '<dataset root>'), sequences: [], running: null };
    }
  }

  /** Start a run owned by session `owner`; AppError when one is running, the dataset is missing, or a tracker/sequence is unknown. */
  start(req: EvalStart, owner: string): { runId: string; benchmark: string; sequences: string[] } {
    if (this.current) throw new AppError('busy', `an evaluation is already running (${this.current.id}); wait for it or cancel it`, 409);
    const info = this.describe();
    if (!info.available) throw new AppError('unavailable', info.reason ?? 'no dataset', 503);
    for (const t of req.trackers) this.models.resolve(t);
    const unknown = (req.sequences ?? []).filter((s) => !info.sequences.includes(s));
    if (unknown.length) throw new AppError('bad_request', `unknown sequence ${unknown.join(', ')}; available: ${info.sequences.join(', ')}`, 400);
    const ref = DatasetRef.parse({ layout: 'otb', root: this.datasetRoot, delta: req.delta, sequences: req.sequences });
    const benchmark = openDataset(ref).name;
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
    const runId = `${stamp}-${benchmark.replace(/[^A-Za-z0-9._-]/g, '_')}-${newId().slice(0, 6)}`;
    const abort = new AbortController();
    const sequences = ref.sequences ?? info.sequences;
    const done = this.run(runId, owner, ref, benchmark, req.trackers, abort.signal).finally(() => {
      this.current = null;
    });
    this.current = { id: runId, owner, abort, done };
    return { runId, benchmark, sequences };
  }

  /** Cancel the running evaluation `runId`; only its owner (`session`) may. */
  cancel(runId: string, session: string): { cancelled: boolean } {
    if (!this.current || this.current.id !== runId) throw new AppError('not_found', `no running evaluation "${runId}"`, 404);
    if (this.current.owner !== session) throw new AppError('forbidden', `evaluation ${runId} was started by another session; only it can cancel the run`, 403);
    this.current.abort.abort();
    return { cancelled: true };
  }

  /** Cancel the running evaluation (if any) and wait for it to stop. */
  async close(): Promise<void> {
    const c = this.current;
    if (!c) return;
    c.abort.abort();
    await c.done.catch(() => undefined);
  }

  private async run(runId: string, owner: string, ref: DatasetRef, benchmark: string, trackers: string[], signal: AbortSignal): Promise<void> {
    const outDir = path.join(this.evalDir, runId);
    const resultsRoot = path.join(outDir, 'results');
    this.log.info('eval.start', { run: runId, benchmark, trackers });
    const t0 = performance.now();
    try {
      const res = await runOpe({
        trackers, dataset: ref, resultsRoot, workers: 1, backend: this.backend, modelsDir: this.modelDir, signal,
        engine: this.models.engine.engine, engineThreads: this.models.engine.threads, engineAuto: this.models.engine.auto,
        onProgress: (p: OpeProgress) => this.sink.progress(owner, { runId, ...p }),
      });
      if (signal.aborted) throw new Error('evaluation aborted');
      const ds = openDataset(ref);
      const gt = new Map<string, Box[]>();
      for (const n of ds.names()) gt.set(n, (await ds.sequence(n)).groundTruth);
      const evaluations = await evaluateResultFiles(resultsRoot, benchmark, res.trackerNames, gt, { skipMissing: res.failed.length > 0 });
      await writeReport({ benchmark, evaluations }, outDir);
      const failed = res.failed.map((f) => `${f.tracker}/${f.seq}: ${f.error}`);
      this.log.info('eval.done', { run: runId, seconds: Math.round((performance.now() - t0) / 1000), failed: failed.length });
      this.sink.end(owner, {
        runId, state: 'done', report: runId, failed,
        scores: evaluations.map((e) => ({ tracker: e.tracker, successAuc: e.overall.successAuc, precision: e.overall.precision, fps: e.overall.fps })),
      });
    } catch (e) {
      await rm(outDir, { recursive: true, force: true });
      if (signal.aborted) {
        this.log.info('eval.cancelled', { run: runId });
        this.sink.end(owner, { runId, state: 'cancelled', failed: [] });
        return;
      }
      const message = String((e as Error)?.message ?? e).split('\n')[0].slice(0, 300);
      this.log.warn('eval.failed', { run: runId, error: message });
      this.sink.end(owner, { runId, state: 'failed', failed: [], error: { code: 'internal', message: `evaluation failed: ${message}` } });
    }
  }
}
