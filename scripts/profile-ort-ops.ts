/**
 * onnxruntime's own per-node profile of a model's search run: the exported search model (`--model search`, the head
 * inside onnxruntime) or the backbone alone (`--model backbone`) of a shipped model, on random 0–255 crops of the 3
 * scales, `--runs` runs after 20 untimed; prints the mean µs per run of every node (kernel time) and the run's p50.
 *
 *   node --import tsx scripts/profile-ort-ops.ts [--variant siamfc] [--model search | backbone] [--threads 2] [--runs 300]
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../tracker/node/backend.js';
import { loadTracker } from '../tracker/node/load-tracker.js';
import { exportOnnxModel } from '../tracker/engine/onnx-export.js';
import { OrtSession, ortTensor } from '../tracker/node/onnx/ort.js';

const { values: a } = parseArgs({
  options: {
    variant: { type: 'string', default: 'siamfc' }, model: { type: 'string', default: 'search' },
    threads: { type: 'string', default: '2' }, runs: { type: 'string', default: '300' },
  },
});
if (a.model !== 'search' && a.model !== 'backbone') throw new Error(`--model: "search" or "backbone", got "${a.model}"`);
const threads = Number(a.threads), runs = Number(a.runs);
await initBackend({ log: () => {} });
const { net } = await loadTracker(a.variant!);
const { exemplarSize: E, instanceSize: X } = net.geometry;
const dir = mkdtempSync(path.join(tmpdir(), 'ort-prof-'));
const exemplar = new OrtSession(exportOnnxModel(net, 'exemplar'), 'exemplar', { threads });
const session = new OrtSession(exportOnnxModel(net, a.model), a.model, { threads, profilePrefix: path.join(dir, 'p') });
const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 255);
const kernel = exemplar.run({ x: ortTensor(random(E * E * 3), [1, E, E, 3]) }).kernel;
const feeds: Record<string, typeof kernel> = { x: ortTensor(random(3 * X * X * 3), [3, X, X, 3]) };
if (a.model === 'search') feeds.kernel = kernel;
const times: number[] = [];
for (let i = 0; i < runs + 20; i++) {
  const t0 = performance.now();
  session.run(feeds);
  if (i >= 20) times.push(performance.now() - t0);
}
session.endProfiling();
const file = readdirSync(dir).map((f) => path.join(dir, f))[0];
const events = JSON.parse(readFileSync(file, 'utf8')) as { cat?: string; name: string; dur: number; args?: { op_name?: string } }[];
const perNode = new Map<string, number>();
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const key = `${e.name.slice(0, -'_kernel_time'.length)} (${e.args?.op_name ?? '?'})`;
  perNode.set(key, (perNode.get(key) ?? 0) + e.dur);
}
rmSync(dir, { recursive: true, force: true });
const all = runs + 20; // the profile holds the untimed runs too
times.sort((x, y) => x - y);
console.log(`${a.variant} ${a.model} model, ${threads} thread(s): run p50 ${times[times.length >> 1].toFixed(3)} ms; mean µs per run by node:`);
for (const [k, v] of [...perNode].sort((x, y) => y[1] - x[1])) console.log(`  ${(v / all).toFixed(1).padStart(8)}  ${k}`);
