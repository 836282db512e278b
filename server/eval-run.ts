/**
 * One evaluation run, shared by the in-process runner (eval-jobs.ts) and the Redis workers (worker-evals.ts):
 * `describeDataset` says what the configured dataset offers, `planEvaluation` checks a request against it (trackers,
 * sequences — never a path from the client) and names the run, `runEvaluation` runs it (OTB one-pass evaluation in
 * a worker thread, scores, report) into `<evalDir>/.parts/<run>/` and renames the finished folder to
 * `<evalDir>/<run>/`, so a report folder is never half-written, even when the process dies mid-run.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
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

/** Where unfinished runs are written (a dot folder: the report list never shows it). */
export const PARTS = '.parts';

/** What the page needs to offer a run: the sequences of the dataset at `root` (or why there is none). */
export function describeDataset(root: string, running: string | null): EvalInfo {
  if (!existsSync(root)) {
    return { available: false, reason: 'the evaluation dataset configured on the server (--dataset-root) does not exist', sequences: [], running };
  }
  try {
    const ds = openDataset(DatasetRef.parse({ layout: 'otb', root }));
    return { available: true, reason: null, sequences: ds.names(), running };
  } catch (e) {
    return { available: false, reason: (e as Error).message.replace(root, '<dataset root>'), sequences: [], running: null };
  }
}

/** A checked request: the run's id, benchmark name, sequences, and what a worker needs to run it. */
export interface EvalPlan {
  runId: string;
  benchmark: string;
  sequences: string[];
  trackers: string[];
  delta?: number;
  /** The sequences the client picked (undefined: all). */
  picked?: string[];
}

/** Check `req` against the dataset at `root` and the models; AppError naming the problem otherwise. */
export function planEvaluation(root: string, req: EvalStart, models: ModelRegistry): EvalPlan {
  const info = describeDataset(root, null);
  if (!info.available) throw new AppError('unavailable', info.reason ?? 'no dataset', 503);
  for (const t of req.trackers) models.resolve(t);
  const unknown = (req.sequences ?? []).filter((s) => !info.sequences.includes(s));
  if (unknown.length) throw new AppError('bad_request', `unknown sequence ${unknown.join(', ')}; available: ${info.sequences.join(', ')}`, 400);
  const ref = datasetRef(root, req.delta, req.sequences);
  const benchmark = openDataset(ref).name;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const runId = `${stamp}-${benchmark.replace(/[^A-Za-z0-9._-]/g, '_')}-${newId().slice(0, 6)}`;
  return { runId, benchmark, sequences: ref.sequences ?? info.sequences, trackers: req.trackers, delta: req.delta, picked: req.sequences };
}

function datasetRef(root: string, delta: number | undefined, sequences: string[] | undefined): DatasetRef {
  return DatasetRef.parse({ layout: 'otb', root, delta, sequences });
}

/** Where and how a run is executed. */
export interface EvalRunContext {
  datasetRoot: string;
  evalDir: string;
  modelDir: string;
  backend: string;
  models: ModelRegistry;
  log: Logger;
}

/**
 * Run `plan`; resolves with the end to send (done, cancelled or failed — never throws). Progress goes to
 * `onProgress`. Whatever a failed, cancelled or killed earlier attempt left in `.parts/<run>` is removed first.
 */
export async function runEvaluation(ctx: EvalRunContext, plan: EvalPlan, signal: AbortSignal, onProgress: (p: EvalProgress) => void): Promise<EvalEnd> {
  const { runId } = plan;
  const parts = path.join(ctx.evalDir, PARTS, runId);
  const outDir = path.join(ctx.evalDir, runId);
  const resultsRoot = path.join(parts, 'results');
  const ref = datasetRef(ctx.datasetRoot, plan.delta, plan.picked);
  ctx.log.info('eval.start', { run: runId, benchmark: plan.benchmark, trackers: plan.trackers });
  const t0 = performance.now();
  try {
    await rm(parts, { recursive: true, force: true });
    await mkdir(parts, { recursive: true });
    const res = await runOpe({
      trackers: plan.trackers, dataset: ref, resultsRoot, workers: 1, backend: ctx.backend, modelsDir: ctx.modelDir, signal,
      engine: ctx.models.engine.engine, engineThreads: ctx.models.engine.threads, engineAuto: ctx.models.engine.auto,
      onProgress: (p: OpeProgress) => onProgress({ runId, ...p }),
    });
    if (signal.aborted) throw new Error('evaluation aborted');
    const ds = openDataset(ref);
    const gt = new Map<string, Box[]>();
    for (const n of ds.names()) gt.set(n, (await ds.sequence(n)).groundTruth);
    const evaluations = await evaluateResultFiles(resultsRoot, plan.benchmark, res.trackerNames, gt, { skipMissing: res.failed.length > 0 });
    await writeReport({ benchmark: plan.benchmark, evaluations }, parts);
    await rm(outDir, { recursive: true, force: true });
    await rename(parts, outDir);
    const failed = res.failed.map((f) => `${f.tracker}/${f.seq}: ${f.error}`);
    ctx.log.info('eval.done', { run: runId, seconds: Math.round((performance.now() - t0) / 1000), failed: failed.length });
    return {
      runId, state: 'done', report: runId, failed,
      scores: evaluations.map((e) => ({ tracker: e.tracker, successAuc: e.overall.successAuc, precision: e.overall.precision, fps: e.overall.fps })),
    };
  } catch (e) {
    await rm(parts, { recursive: true, force: true });
    if (signal.aborted) {
      ctx.log.info('eval.cancelled', { run: runId });
      return { runId, state: 'cancelled', failed: [] };
    }
    const message = String((e as Error)?.message ?? e).split('\n')[0].slice(0, 300);
    ctx.log.warn('eval.failed', { run: runId, error: message });
    return { runId, state: 'failed', failed: [], error: { code: 'internal', message: `evaluation failed: ${message}` } };
  }
}
