/**
 * The OTB one-pass evaluation runner: every tracker over every sequence of a dataset, result files in the got10k
 * toolkit layout (`<results>/<benchmark>/<tracker>/<seq>.txt`, `times/<seq>_time.txt`), resumable (sequences whose
 * result files are complete are skipped; files are only ever written whole), sequences in parallel worker threads
 * (one per core by default), progress with frames/s and ETA.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { tf } from '../tracker/tf.js';
import { initBackend, type BackendRequest } from '../tracker/node/backend.js';
import { loadTracker } from '../tracker/node/load-tracker.js';
import type { EngineName } from '../tracker/engine/engine.js';
import { chooseEngine } from '../tracker/node/onnx/choose-engine.js';
import { openDataset, type DatasetRef } from './datasets.js';
import { ResultStore } from './results.js';

/** Options of `runOpe`. */
export interface OpeOptions {
  /** Tracker names (`template-matching`, shipped variants) or model paths. */
  trackers: string[];
  dataset: DatasetRef;
  resultsRoot: string;
  /** Worker threads; 0 runs in this thread (default: one per core). */
  workers?: number;
  /** tfjs backend for the workers (default 'auto'). */
  backend?: string;
  /** Inference engine of the trackers (default: tfjs, the trackers' own path); resolved by the caller (chooseEngine). */
  engine?: EngineName;
  /** onnx intra-op threads per worker (default: cores / workers). */
  engineThreads?: number;
  /** The engine came from 'auto': a model onnx cannot take runs on tfjs (with a warning) instead of failing. */
  engineAuto?: boolean;
  modelsDir?: string;
  onProgress?: (p: OpeProgress) => void;
  signal?: AbortSignal;
}

/** Progress of a run. */
export interface OpeProgress {
  sequencesDone: number;
  sequencesTotal: number;
  skipped: number;
  frames: number;
  framesPerSecond: number;
  etaSeconds: number | null;
  last?: string;
}

/** What a run did. Failed sequences are listed (their results are not written) and the run carries on. */
export interface OpeResult {
  benchmark: string;
  /** Result folder names of the trackers, in the order given. */
  trackerNames: string[];
  sequences: string[];
  ran: { tracker: string; seq: string; frames: number; seconds: number }[];
  skipped: { tracker: string; seq: string }[];
  failed: { tracker: string; seq: string; error: string }[];
}

interface Job {
  tracker: string;
  name: string;
  seq: string;
  frames: number;
}

/** Run the evaluation; resolves when every job has finished (or failed), or rejects when aborted. */
export async function runOpe(o: OpeOptions): Promise<OpeResult> {
  const dataset = openDataset(o.dataset);
  const sequences = dataset.names();
  await tf.ready(); // tracker names are resolved by loading the models in this thread
  // Resolve tracker names now: unknown names and bad model files fail before any work starts.
  const trackerNames: string[] = [];
  for (const t of o.trackers) {
    const loaded = await loadTracker(t, o.modelsDir);
    trackerNames.push(loaded.name);
    loaded.dispose();
  }
  const jobs: Job[] = [];
  const skipped: OpeResult['skipped'] = [];
  const frameCounts = new Map<string, number>();
  for (const seq of sequences) frameCounts.set(seq, (await dataset.sequence(seq)).frames.length);
  // sequence-major: a sequence's trackers run one after another on one worker, which decodes its frames once
  for (const seq of sequences) {
    for (let i = 0; i < o.trackers.length; i++) {
      const store = new ResultStore(o.resultsRoot, dataset.name, trackerNames[i]);
      const frames = frameCounts.get(seq) ?? 0;
      if (await store.isComplete(seq, frames)) skipped.push({ tracker: trackerNames[i], seq });
      else jobs.push({ tracker: o.trackers[i], name: trackerNames[i], seq, frames });
    }
  }
  const result: OpeResult = { benchmark: dataset.name, trackerNames, sequences, ran: [], skipped, failed: [] };
  const total = jobs.length + skipped.length;
  const framesTotal = jobs.reduce((s, j) => s + j.frames, 0);
  let framesDone = 0;
  const t0 = performance.now();
  const report = (last?: string) => {
    const secs = (performance.now() - t0) / 1000;
    const fps = secs > 0 ? framesDone / secs : 0;
    o.onProgress?.({
      sequencesDone: result.ran.length + result.failed.length + skipped.length,
      sequencesTotal: total,
      skipped: skipped.length,
      frames: framesDone,
      framesPerSecond: fps,
      etaSeconds: fps > 0 ? (framesTotal - framesDone) / fps : null,
      last,
    });
  };
  report();
  if (jobs.length === 0) return result;
  const nWorkers = Math.min(o.workers ?? os.availableParallelism(), jobs.length);
  if (nWorkers === 0) {
    await runInProcess(o, jobs, result, (n) => { framesDone += n; report(); });
  } else {
    await runInWorkers(o, nWorkers, jobs, result, (n) => { framesDone += n; report(); });
  }
  report('done');
  return result;
}

async function runInProcess(o: OpeOptions, jobs: Job[], result: OpeResult, onFrames: (n: number) => void): Promise<void> {
  const { runSequence } = await import('./run-sequence.js');
  const { SequenceFrameCache } = await import('./sequence-cache.js');
  const decoded = new SequenceFrameCache();
  // in this thread: use the requested backend, else whatever the caller already chose
  if (o.backend) await initBackend({ backend: o.backend as BackendRequest, log: () => {} });
  else await tf.ready();
  const dataset = openDataset(o.dataset);
  const engine = o.engine === 'onnx'
    ? { ...chooseEngine({ engine: 'onnx', threads: o.engineThreads ?? os.availableParallelism(), argv: [], env: {}, log: () => {} }), auto: o.engineAuto }
    : undefined;
  for (const job of jobs) {
    if (o.signal?.aborted) throw new Error('evaluation aborted');
    const loaded = await loadTracker(job.tracker, o.modelsDir, { engine });
    try {
      const seq = await dataset.sequence(job.seq);
      const store = new ResultStore(o.resultsRoot, dataset.name, loaded.name);
      let last = 0;
      const r = await runSequence(loaded, seq, store, (p) => { onFrames(p.frame - last); last = p.frame; },
        () => o.signal?.aborted ?? false, await decoded.frames(dataset.name, seq));
      if (r.stopped) throw new Error('evaluation aborted');
      result.ran.push({ tracker: job.name, seq: job.seq, frames: r.frames, seconds: r.seconds });
    } catch (e) {
      if (o.signal?.aborted) throw e;
      result.failed.push({ tracker: job.name, seq: job.seq, error: (e as Error).message });
    } finally {
      loaded.dispose();
    }
  }
  decoded.clear();
}

/**
 * The next job for a worker whose last sequence was `last`: another tracker on that sequence (its frames are decoded
 * in the worker already), else the first job of a sequence no other worker is on, else the first job.
 */
export function pickJob<J extends { seq: string }>(queue: J[], last: string | undefined, busy: ReadonlySet<string>): J | undefined {
  let i = last === undefined ? -1 : queue.findIndex((j) => j.seq === last);
  if (i < 0) i = queue.findIndex((j) => !busy.has(j.seq));
  if (i < 0) i = 0;
  return queue.splice(i, 1)[0];
}

function runInWorkers(
  o: OpeOptions,
  n: number,
  jobs: Job[],
  result: OpeResult,
  onFrames: (n: number) => void,
): Promise<void> {
  const queue = [...jobs];
  const byKey = new Map(jobs.map((j) => [`${j.tracker}\u0000${j.seq}`, j]));
  return new Promise<void>((resolve, reject) => {
    const workers: Worker[] = [];
    // the sequence each worker is on (or was last on)
    const current = new Map<Worker, string>();
    let alive = n;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      for (const w of workers) w.postMessage({ type: 'stop' });
      // give workers a moment to close cleanly, then make sure none outlives the run
      setTimeout(() => workers.forEach((w) => void w.terminate()), 2000).unref();
      if (err) reject(err);
      else resolve();
    };
    o.signal?.addEventListener('abort', () => finish(new Error('evaluation aborted')), { once: true });
    const next = (w: Worker) => {
      const before = current.get(w);
      current.delete(w);
      const job = pickJob(queue, before, new Set(current.values()));
      if (job) current.set(w, job.seq);
      if (!job) {
        w.postMessage({ type: 'stop' });
        if (--alive === 0) finish();
        return;
      }
      w.postMessage({ type: 'run', tracker: job.tracker, seq: job.seq });
    };
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL('./ts-worker.mjs', import.meta.url), {
        workerData: {
          entry: new URL('./ope-worker.ts', import.meta.url).href,
          dataset: o.dataset, resultsRoot: o.resultsRoot, backend: o.backend ?? 'auto', modelsDir: o.modelsDir,
          engine: o.engine ?? 'tfjs',
          engineAuto: o.engineAuto,
          engineThreads: o.engineThreads ?? Math.max(1, Math.floor(os.availableParallelism() / n)),
        },
      });
      workers.push(w);
      w.on('message', (m: { type: string; frames?: number; tracker?: string; seq?: string; seconds?: number; error?: string }) => {
        if (m.type === 'ready') next(w);
        else if (m.type === 'progress') onFrames(m.frames ?? 0);
        else if (m.type === 'done' || m.type === 'failed') {
          const job = byKey.get(`${m.tracker}\u0000${m.seq}`) as Job;
          if (m.type === 'done') result.ran.push({ tracker: job.name, seq: job.seq, frames: m.frames ?? 0, seconds: m.seconds ?? 0 });
          else result.failed.push({ tracker: job.name, seq: job.seq, error: m.error ?? 'unknown error' });
          next(w);
        }
      });
      w.on('error', (e) => finish(new Error(`evaluation worker failed: ${e.message}`)));
      w.on('exit', (code) => {
        if (!settled && code !== 0) finish(new Error(`evaluation worker exited with code ${code}`));
      });
    }
  });
}
