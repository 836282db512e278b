/**
 * `npm run bench`: tracking frames/s and backbone conv GFLOP/s per available tfjs backend and backbone size, next to
 * the engine's own large matMul GFLOP/s measured in the same run (the in-engine ceiling). Prints a table and writes
 * JSON (default artifacts/bench.json). A benchmark, not a test: numbers depend on the machine and its load.
 * Then the engine benchmark (scripts/bench-engines.ts): per shipped variant and per inference engine (tfjs,
 * onnxruntime-node) fps, ms/frame p50/p95, conv GFLOP/s as a fraction of the sgemm ceiling, peak RSS, Het/IEN ratio
 * (reports/engines/bench.{json,md}); `--no-engines` skips it.
 *
 *   npm run bench -- [--backends wasm,cpu] [--frames 20] [--out artifacts/bench.json] [--all] [--no-engines]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { tf } from '../tracker/tf.js';
import { Backbone } from '../tracker/backbones.js';
import { alexnetSpec, pooledPixelsSpec, outputSize, scaledWidth, type BackboneSpec } from '../tracker/backbone-spec.js';
import { SiamFCNet, SiamFCTracker } from '../tracker/siamfc.js';
import type { RawFrame } from '../tracker/tracker.js';
import { registerWasmTrainingKernels } from '../tracker/backend.js';
import { loadTfjsNode } from '../tracker/node/backend.js';
import { registerNativeBackend } from '../tracker/node/native-backend.js';
import { benchEngines } from './bench-engines.js';
import { benchFrames } from './bench-frames.js';

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string', default: '' },
    frames: { type: 'string', default: '20' },
    out: { type: 'string', default: 'artifacts/bench.json' },
    all: { type: 'boolean', default: false },
    'no-engines': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run bench -- [--backends wasm,cpu] [--frames N] [--out file.json] [--all] [--no-engines]\n' +
    '  --all         also run the full-width AlexNet on the slow pure-JS cpu backend\n' +
    '  --no-engines  skip the per-variant tfjs vs onnxruntime-node benchmark (npm run bench:engines)');
  process.exit(0);
}

/** Multiply-adds ×2 of every conv of `spec` for one square input of `size` pixels. */
function convFlops(spec: BackboneSpec, size: number): number {
  let s = size;
  let cin = spec.inChannels;
  let flops = 0;
  for (const l of spec.layers) {
    if (l.type === 'conv') {
      const cout = scaledWidth(l, spec.widthMultiplier, l.groups);
      s = Math.floor((s - l.kernel) / l.stride) + 1;
      flops += 2 * s * s * cout * l.kernel * l.kernel * (cin / l.groups);
      cin = cout;
    } else if (l.type === 'maxpool' || l.type === 'avgpool') {
      s = Math.floor((s - l.size) / l.stride) + 1;
    }
  }
  return flops;
}


/** The engine's large matMul throughput in GFLOP/s (best of 3 after a warm-up). */
async function matMulGflops(n: number): Promise<number> {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  let best = Infinity;
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    await c.data();
    const dt = performance.now() - t0;
    c.dispose();
    if (i > 0) best = Math.min(best, dt);
  }
  tf.dispose([a, b]);
  return (2 * n ** 3) / (best / 1000) / 1e9;
}

interface Row {
  backend: string;
  model: string;
  crops: string;
  params: number;
  trackFps: number;
  convGflops: number;
  matMulGflops: number;
}

// make every backend this install can offer visible to findBackendFactory (tfjs-node, the native add-on)
registerWasmTrainingKernels();
const tfjsNode = await loadTfjsNode();
if (!tfjsNode.ok) console.log(`[bench] tensorflow: ${tfjsNode.reason}`);
const native = registerNativeBackend();
if (!native.ok) console.log(`[bench] native-cpu: ${native.reason}`);
const candidates = args.backends ? args.backends.split(',') : ['tensorflow', 'native-cpu', 'wasm', 'cpu'];
const models: { name: string; spec: BackboneSpec; slow: boolean }[] = [
  { name: 'alexnet x1.0', spec: alexnetSpec(), slow: true },
  { name: 'alexnet x0.5', spec: alexnetSpec({ widthMultiplier: 0.5 }), slow: true },
  { name: 'alexnet x0.25 cpu-scale', spec: alexnetSpec({ widthMultiplier: 0.25, exemplarSize: 95, instanceSize: 191 }), slow: false },
  { name: 'pooled pixels (untrained)', spec: pooledPixelsSpec(4, { exemplarSize: 63, instanceSize: 127 }), slow: false },
];
const nFrames = Math.max(3, Number(args.frames));
const seq = benchFrames(nFrames + 2);
const rows: Row[] = [];
for (const backend of candidates) {
  if (!tf.findBackendFactory(backend)) {
    console.log(`[bench] backend ${backend}: not available in this install — skipped`);
    continue;
  }
  if (!(await tf.setBackend(backend))) {
    console.log(`[bench] backend ${backend}: failed to initialise — skipped`);
    continue;
  }
  const mm = await matMulGflops(backend === 'cpu' ? 256 : 1024);
  for (const m of models) {
    if (m.slow && backend === 'cpu' && !args.all) continue;
    const net = new SiamFCNet(new Backbone(m.spec));
    const tracker = new SiamFCTracker(net);
    tracker.init(seq[0], { x: 300, y: 150, width: 60, height: 60 });
    tracker.update(seq[1]); // warm-up (kernel compilation, caches)
    const n = backend === 'cpu' && m.slow ? 3 : nFrames;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) tracker.update(seq[2 + i]);
    const trackS = (performance.now() - t0) / 1000 / n;
    // Backbone alone on the 3 search crops, to isolate conv throughput from crops and post-processing.
    const x = tf.randomUniform([3, m.spec.instanceSize, m.spec.instanceSize, 3], 0, 255) as tf.Tensor4D;
    net.backbone.apply(x).dispose();
    const reps = backend === 'cpu' && m.slow ? 1 : 5;
    const t1 = performance.now();
    for (let i = 0; i < reps; i++) {
      const f = net.backbone.apply(x);
      await f.data();
      f.dispose();
    }
    const convS = (performance.now() - t1) / 1000 / reps;
    x.dispose();
    const flops = 3 * convFlops(m.spec, m.spec.instanceSize);
    rows.push({
      backend,
      model: m.name,
      crops: `${m.spec.exemplarSize}/${m.spec.instanceSize} (${outputSize(m.spec, m.spec.instanceSize)}²)`,
      params: net.backbone.parameterCount(),
      trackFps: 1 / trackS,
      convGflops: flops > 0 ? flops / convS / 1e9 : NaN,
      matMulGflops: mm,
    });
    tracker.dispose();
    net.dispose();
  }
}

const header = ['backend', 'model', 'crops z/x (feat)', 'params', 'track fps', 'conv GFLOP/s', 'matMul GFLOP/s'];
const table = rows.map((r) => [
  r.backend, r.model, r.crops, String(r.params), r.trackFps.toFixed(1),
  Number.isNaN(r.convGflops) ? '—' : r.convGflops.toFixed(1), r.matMulGflops.toFixed(1),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
console.log(line(header));
console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
for (const t of table) console.log(line(t));
mkdirSync(path.dirname(args.out), { recursive: true });
writeFileSync(args.out, JSON.stringify({
  date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, rows,
}, null, 2) + '\n');
console.log(`[bench] wrote ${args.out}`);
if (!args['no-engines']) {
  console.log('\n[bench] engines (tfjs vs onnxruntime-node) per shipped variant — npm run bench:engines');
  await benchEngines({ out: 'reports/engines/bench.json', md: 'reports/engines/bench.md' });
}
