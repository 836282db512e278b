/**
 * Why Het-SiamFC's network is not 1.6× IEN-SiamFC's on onnxruntime (issue 15 part 3): one search run (3 scales) of each
 * shipped model through our ONNX export on onnxruntime's CPU provider, timed (best / median of `--runs`), then profiled
 * per node: every Conv's FLOPs, time and GFLOP/s with its channel counts, and the time of everything else by op type.
 * The export pads conv widths for onnxruntime's blocked layout (tracker/engine/channel-pad.ts); the unpadded export is
 * timed too, interleaved with it (blocks of 5 runs in turn), and the Het / IEN speed ratios of both are printed.
 * Then the same search (3 crops → responses) on the onnx engine's oneDNN runner (tracker/node/native-net-engine.ts,
 * which runs these nets since session 16; the add-on at `--threads` threads), interleaved with the onnxruntime engine;
 * `ONEDNN_VERBOSE=1` before the command lists the runner's primitives with their times.
 *
 *   node --import tsx scripts/profile-het-ien.ts [--models ien-siamfc,het-siamfc] [--threads 1] [--runs 30]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../tracker/node/backend.js';
import { loadTracker } from '../tracker/node/load-tracker.js';
import { exportOnnxModel, exportSiamFCOnnx } from '../tracker/engine/onnx-export.js';
import { backbonePlan } from '../tracker/engine/backbone-plan.js';
import { loadOrt, OrtSession, ortTensor } from '../tracker/node/onnx/ort.js';
import { loadNativeAddon } from '../tracker/node/native-backend.js';
import { NativeNetEngine, onnxEngineFor } from '../tracker/node/native-net-engine.js';

const { values: a } = parseArgs({
  options: { models: { type: 'string', default: 'ien-siamfc,het-siamfc' }, threads: { type: 'string', default: '1' }, runs: { type: 'string', default: '30' } },
});
const threads = Number(a.threads);
const runs = Number(a.runs);
await initBackend({ log: () => {} });
await loadOrt();

interface OrtEvent { cat: string; name: string; dur: number; args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] } }

const shapeOf = (s: Record<string, number[]> | undefined): number[] => (s ? Object.values(s)[0] ?? [] : []);
const prod = (s: number[]) => s.reduce((p, q) => p * q, 1);

const speeds = new Map<string, { padded: number[]; plain: number[] }>();
console.log(`[het-ien] onnxruntime CPU, ${threads} thread(s), ${runs} timed search runs (3 scales) per model; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const name of a.models!.split(',')) {
  const loaded = await loadTracker(name);
  const net = loaded.net;
  const m = exportSiamFCOnnx(net);
  const X = net.geometry.instanceSize;
  const E = net.geometry.exemplarSize;
  const ex = new OrtSession(m.exemplar, 'exemplar', { threads });
  const kernel = ex.run({ x: ortTensor(new Float32Array(E * E * 3).fill(100), [1, E, E, 3]) }).kernel;
  const crops = new Float32Array(3 * X * X * 3).map((_, i) => (i * 37) % 255);
  const x = ortTensor(crops, [3, X, X, 3]);
  const timed = new OrtSession(m.search, 'search', { threads });
  const plain = new OrtSession(exportOnnxModel(net, 'search', undefined, backbonePlan(net.backbone)), 'search (unpadded)', { threads });
  for (let i = 0; i < 3; i++) {
    timed.run({ x, kernel });
    plain.run({ x, kernel });
  }
  const ms: number[] = [];
  const msPlain: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Blocks of 5 runs of each export in turn: load from other jobs falls on both alike.
    const [s1, out1] = (Math.floor(i / 5) % 2 === 0 ? [timed, ms] : [plain, msPlain]) as [OrtSession, number[]];
    const [s2, out2] = (s1 === timed ? [plain, msPlain] : [timed, ms]) as [OrtSession, number[]];
    for (const [sess, out] of [[s1, out1], [s2, out2]] as [OrtSession, number[]][]) {
      const t0 = performance.now();
      sess.run({ x, kernel });
      out.push(performance.now() - t0);
    }
  }
  ms.sort((p, q) => p - q);
  msPlain.sort((p, q) => p - q);
  timed.dispose();
  plain.dispose();
  speeds.set(name, { padded: ms, plain: msPlain });
  const dir = mkdtempSync(path.join(tmpdir(), 'het-ien-'));
  const prof = new OrtSession(m.search, 'search', { threads, profilePrefix: path.join(dir, 'search') });
  const reps = 10;
  for (let i = 0; i < reps; i++) prof.run({ x, kernel });
  prof.endProfiling();
  prof.dispose();
  ex.dispose();
  const file = readdirSync(dir).find((f) => f.startsWith('search') && f.endsWith('.json'));
  const events = file ? (JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as OrtEvent[]) : [];
  rmSync(dir, { recursive: true, force: true });
  const convs = new Map<string, { ms: number; flops: number; shape: string }>();
  const byOp = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? 'other';
    const t = e.dur / 1000 / reps;
    total += t;
    byOp.set(op, (byOp.get(op) ?? 0) + t);
    if (op !== 'Conv' && op !== 'FusedConv') continue;
    const ins = e.args?.input_type_shape ?? [];
    const w = shapeOf(ins[1]);
    const y = shapeOf(e.args?.output_type_shape?.[0]);
    const flops = 2 * prod(y) * prod(w.slice(1));
    const key = e.name.replace(/_kernel_time$/, '');
    const c = convs.get(key) ?? { ms: 0, flops, shape: `in ${JSON.stringify(shapeOf(ins[0]))} W ${JSON.stringify(w)} → ${JSON.stringify(y)}` };
    c.ms += t;
    convs.set(key, c);
  }
  const convMs = [...convs.values()].reduce((s, c) => s + c.ms, 0);
  const convFlops = [...convs.values()].reduce((s, c) => s + c.flops, 0);
  console.log(`\n## ${name}: search run best ${ms[0].toFixed(2)} ms, median ${ms[runs >> 1].toFixed(2)} ms (unpadded export: best ` +
    `${msPlain[0].toFixed(2)}, median ${msPlain[runs >> 1].toFixed(2)}); profiled op time ${total.toFixed(2)} ms, ` +
    `convs ${convMs.toFixed(2)} ms (${(100 * convMs / total).toFixed(0)}%), ${(convFlops / 1e9).toFixed(3)} GFLOP at ${(convFlops / convMs / 1e6).toFixed(1)} GFLOP/s`);
  console.log('| conv node | shapes (NCHW; W = [Cout, Cin/group, k, k]) | MFLOP | ms | GFLOP/s |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const [k, c] of convs) console.log(`| ${k} | ${c.shape} | ${(c.flops / 1e6).toFixed(1)} | ${c.ms.toFixed(3)} | ${(c.flops / c.ms / 1e6).toFixed(1)} |`);
  console.log(`other ops: ${[...byOp.entries()].filter(([op]) => op !== 'Conv' && op !== 'FusedConv').sort((p, q) => q[1] - p[1]).map(([op, t]) => `${op} ${t.toFixed(2)} ms`).join(', ')}`);
  loaded.dispose();
}
const ien = speeds.get('ien-siamfc');
const het = speeds.get('het-siamfc');
if (ien && het) {
  const r = (p: number[], q: number[], i: number) => (p[i] / q[i]).toFixed(2);
  const mid = runs >> 1;
  console.log(`\nHet / IEN network speed (IEN ms ÷ Het ms), padded export: best ${r(ien.padded, het.padded, 0)}, median ${r(ien.padded, het.padded, mid)}; ` +
    `unpadded: best ${r(ien.plain, het.plain, 0)}, median ${r(ien.plain, het.plain, mid)}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

// The onnx engine as the tracker builds it: the oneDNN runner, against the onnxruntime engine, interleaved in blocks of 5.
const addon = loadNativeAddon();
if (!addon) {
  console.log('\n(no native add-on: the runner is not timed)');
} else {
  addon.setThreads(threads);
  const median = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1];
  const runner = new Map<string, { native: number[]; ort: number[] }>();
  for (const name of a.models!.split(',')) {
    const loaded = await loadTracker(name);
    const { net } = loaded;
    const native = onnxEngineFor(net, { threads });
    const ort = onnxEngineFor(net, { threads, runner: 'onnxruntime' });
    if (!(native instanceof NativeNetEngine)) throw new Error(`${name}: the oneDNN runner does not run this net (${native.description})`);
    const E = net.geometry.exemplarSize;
    const X = net.geometry.instanceSize;
    const z = new Float32Array(E * E * 3).fill(100);
    const crops = new Float32Array(3 * X * X * 3).map((_, i) => (i * 37) % 255);
    const zn = native.exemplar(z);
    const zo = ort.exemplar(z);
    const t = { native: [] as number[], ort: [] as number[] };
    for (let i = 0; i < 3; i++) {
      native.respond(zn, crops, 3);
      ort.respond(zo, crops, 3);
    }
    for (let i = 0; i < runs; i++) {
      for (const [eng, zz, out] of (Math.floor(i / 5) % 2 === 0 ? [[native, zn, t.native], [ort, zo, t.ort]] : [[ort, zo, t.ort], [native, zn, t.native]]) as [typeof native, typeof zn, number[]][]) {
        const t0 = performance.now();
        eng.respond(zz, crops, 3);
        out.push(performance.now() - t0);
      }
    }
    runner.set(name, t);
    console.log(`${name}: search (3 crops → responses), median ${median(t.native).toFixed(2)} ms on ${native.description}, ${median(t.ort).toFixed(2)} ms on ${ort.description}`);
    native.dispose();
    ort.dispose();
    loaded.dispose();
  }
  const ri = runner.get('ien-siamfc');
  const rh = runner.get('het-siamfc');
  if (ri && rh) {
    console.log(`Het / IEN network speed on the oneDNN runner: median ${(median(ri.native) / median(rh.native)).toFixed(2)}; on the onnxruntime engine: ` +
      `${(median(ri.ort) / median(rh.ort)).toFixed(2)}`);
  }
}
