/**
 * Worker thread of the OPE runner: opens the dataset once, loads each tracker once (cached), and runs the sequences
 * the main thread sends, one at a time. Messages: in `{type: 'run', tracker, seq}` / `{type: 'stop'}`; out
 * `{type: 'ready', backend}`, `{type: 'progress', frames}`, `{type: 'done', tracker, seq, frames, seconds}`,
 * `{type: 'failed', tracker, seq, error}`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../tracker/node/backend.js';
import { loadTracker, type LoadedTracker } from '../tracker/node/load-tracker.js';
import { chooseEngine } from '../tracker/node/onnx/choose-engine.js';
import type { EngineName } from '../tracker/engine/engine.js';
import { openDataset, type DatasetRef } from './datasets.js';
import { ResultStore } from './results.js';
import { runSequence } from './run-sequence.js';
import { SequenceFrameCache } from './sequence-cache.js';

interface Init {
  dataset: DatasetRef;
  resultsRoot: string;
  backend: string;
  modelsDir?: string;
  /** Engine resolved by the main thread ('tfjs' when absent) and the onnx intra-op threads of this worker. */
  engine?: EngineName;
  engineThreads?: number;
  engineAuto?: boolean;
}

const port = parentPort;
if (!port) throw new Error('eval/ope-worker.ts must run as a worker thread');
const init = workerData as Init;
const backend = await initBackend({ backend: init.backend as never, log: () => {} });
const dataset = openDataset(init.dataset);
// the main thread already chose (and logged) the engine: no flag or env var is read again here
const engine = init.engine === 'onnx'
  ? { ...chooseEngine({ engine: 'onnx', threads: init.engineThreads, argv: [], env: {}, log: () => {} }), auto: init.engineAuto }
  : undefined;
const trackers = new Map<string, LoadedTracker>();
// the main thread sends a sequence's trackers to the same worker one after another: decode its frames once
const decoded = new SequenceFrameCache();
let stopping = false;

port.on('message', async (msg: { type: 'run'; tracker: string; seq: string } | { type: 'stop' }) => {
  if (msg.type === 'stop') {
    stopping = true;
    for (const t of trackers.values()) t.dispose();
    decoded.clear();
    port.close();
    return;
  }
  try {
    let loaded = trackers.get(msg.tracker);
    if (!loaded) {
      loaded = await loadTracker(msg.tracker, init.modelsDir, { engine });
      trackers.set(msg.tracker, loaded);
    }
    const seq = await dataset.sequence(msg.seq);
    const store = new ResultStore(init.resultsRoot, dataset.name, loaded.name);
    let last = 0;
    const r = await runSequence(loaded, seq, store, (p) => {
      if (p.frame - last >= 10) {
        port.postMessage({ type: 'progress', frames: p.frame - last });
        last = p.frame;
      }
    }, () => stopping, await decoded.frames(dataset.name, seq));
    port.postMessage({ type: 'progress', frames: r.frames - last });
    port.postMessage({ type: 'done', tracker: msg.tracker, seq: msg.seq, frames: r.frames, seconds: r.seconds });
  } catch (e) {
    port.postMessage({ type: 'failed', tracker: msg.tracker, seq: msg.seq, error: (e as Error).message });
  }
});
port.postMessage({ type: 'ready', backend });
