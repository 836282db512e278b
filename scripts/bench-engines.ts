/**
 * `npm run bench:engines` (also the second part of `npm run bench`): tracking speed per model variant and per
 * inference engine (tfjs on the auto backend, onnxruntime-node on the CPU), against the machine's ceiling measured in
 * the same run. Per (variant, engine), in its own child process (so that peak RSS is that pair's):
 *   - fps with the model's scales (3) on a 640×360 synthetic sequence, ms per frame p50 / p95;
 *   - the networks alone: the search branch + xcorr on 3 crops (one engine call), its conv GFLOP/s (FLOPs of the
 *     executed convs: expanded C4/C8 filters, AlexNet groups, the xcorr) and that as a fraction of the ceiling;
 *   - where the frame time goes: crops, engine, post-processing (the engine path; the tfjs path crops in tfjs);
 *   - peak RSS of the child.
 * The ceiling: large square matmuls, OpenBLAS sgemm through the native add-on (tracker/node/native-backend.ts) and
 * onnxruntime's own MatMul, 512³…2048³, 1 thread and all cores, before and after the runs; the best config's rate at
 * its best run and at its median run (compared with the conv's best and median runs respectively). Het/IEN speed ratios per engine. Writes JSON and a markdown table.
 * A benchmark, not a test: numbers depend on the machine and its load (logged before and after).
 *
 *   npm run bench:engines -- [--variants siamfc,ien-siamfc] [--engines tfjs,onnx] [--frames 40]
 *                            [--out reports/engines/bench.json] [--md reports/engines/bench.md] [--profile]
 *   npm run bench:engines -- --render reports/engines/bench.json [--md file.md]   (markdown from a saved result)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { tf } from '../tracker/tf.js';
import { initBackend } from '../tracker/node/backend.js';
import { loadNativeAddon } from '../tracker/node/native-backend.js';
import { loadTracker } from '../tracker/node/load-tracker.js';
import { alexnetSpec, outputSize } from '../tracker/backbone-spec.js';
import { Backbone } from '../tracker/backbones.js';
import { SiamFCNet, SiamFCTracker } from '../tracker/siamfc.js';
import type { RawFrame } from '../tracker/tracker.js';
import { backbonePlan, convFlops } from '../tracker/engine/backbone-plan.js';
import { TfjsEngine, type SiamFCEngine } from '../tracker/engine/engine.js';
import { cropPatchesInto } from '../tracker/engine/crop.js';
import { OnnxGraph } from '../tracker/engine/onnx-model.js';
import { exportSiamFCOnnx } from '../tracker/engine/onnx-export.js';
import { loadOrt, OrtSession, ortTensor } from '../tracker/node/onnx/ort.js';
import { OnnxEngine } from '../tracker/node/onnx/onnx-engine.js';
import { benchFrames } from './bench-frames.js';

const SELF = fileURLToPath(import.meta.url);
export const DEFAULT_VARIANTS = ['siamfc', 'cnn4-siamfc', 're-siamfc', 'ien-siamfc', 'het-siamfc', 'template-matching', 'alexnet-x0.25-191'];

/** One (variant, engine) measurement. */
export interface EngineRow {
  variant: string;
  engine: string;
  engineDescription: string;
  crops: string;
  scales: number;
  fps: number;
  msP50: number;
  msP95: number;
  /** Search branch + xcorr on the 3 crops, one engine call: median and best (min) ms of 15 runs. */
  networkMs: number;
  networkMsBest: number;
  convGflop: number;
  /** conv GFLOP/s at the median and at the best run; as fractions of the median-run and best-run ceilings. */
  convGflops: number;
  convGflopsBest: number;
  ofCeiling: number;
  ofCeilingBest: number;
  /** Per-frame time split (ms, medians) on the engine path: JS crops, engine call, the rest. */
  split: { cropMs: number; engineMs: number; otherMs: number } | null;
  peakRssMb: number;
  /** onnxruntime per-op time share of one search run (with --profile). */
  profile?: { op: string; ms: number; share: number }[];
}

/**
 * Peak RSS of this process in MB: VmHWM from /proc/self/status on Linux (getrusage's maxrss of a spawned child
 * starts from its parent's peak, so it would report the parent's), else process.resourceUsage().maxRSS.
 */
function peakRssMb(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round(q * (s.length - 1)))];
}


/** FLOPs (2 × multiply-adds) of the executed convs of the search branch on `k` crops, plus the xcorr. */
function searchFlops(net: SiamFCNet, k: number): number {
  const plan = backbonePlan(net.backbone);
  const s = outputSize(net.backbone.spec, net.geometry.instanceSize);
  const r = net.geometry.responseSize;
  const hz = s - r + 1;
  return k * (convFlops(plan, net.geometry.instanceSize) + 2 * r * r * plan.outChannels * hz * hz);
}

/** One ceiling measurement: a large square matmul on one library at a thread count. */
export interface CeilingRow { what: string; n: number; threads: number; gflops: number; gflopsMedian: number }

/**
 * The ceiling: OpenBLAS sgemm (native add-on) and onnxruntime MatMul, n = 512 … 2048, on 1 thread and on all
 * cores, best of `reps` after a warm-up each. The machine's ceiling is the best of them. On a loaded machine the
 * short products (512³: ~2 ms, as long as one search run) find quiet moments that the long ones do not, and a single
 * thread can beat two (the second core is busy elsewhere) — hence the sweep.
 */
function ceilings(reps = 10): CeilingRow[] {
  const rows: CeilingRow[] = [];
  const cores = availableParallelism();
  const addon = loadNativeAddon();
  for (const n of [512, 768, 1024, 2048]) {
    const a = new Float32Array(n * n).map(() => Math.random());
    const b = new Float32Array(n * n).map(() => Math.random());
    const rate = (f: () => void) => {
      f();
      const t: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        f();
        t.push(performance.now() - t0);
      }
      return { gflops: (2 * n ** 3) / Math.min(...t) / 1e6, gflopsMedian: (2 * n ** 3) / median(t) / 1e6 };
    };
    for (const threads of [...new Set([1, cores])]) {
      if (addon) {
        addon.setThreads(threads);
        const c = new Float32Array(n * n);
        rows.push({ what: 'OpenBLAS sgemm', n, threads, ...rate(() => addon.sgemm(a, b, c, n, n, n)) });
      }
      if (loadOrt().ok) {
        const g = new OnnxGraph('matmul');
        g.input('a', [n, n]);
        g.input('b', [n, n]);
        g.node('MatMul', ['a', 'b'], {}, 'c');
        g.output('c', [n, n]);
        const sess = new OrtSession(g.encode(), 'matmul', { threads });
        const feeds = { a: ortTensor(a, [n, n]), b: ortTensor(b, [n, n]) };
        rows.push({ what: 'onnxruntime MatMul', n, threads, ...rate(() => sess.run(feeds)) });
        sess.dispose();
      }
    }
  }
  if (addon) addon.setThreads(cores);
  return rows;
}

async function loadNet(variant: string): Promise<{ net: SiamFCNet; config: object; dispose: () => void }> {
  if (variant === 'alexnet-x0.25-191') {
    const net = new SiamFCNet(new Backbone(alexnetSpec({ widthMultiplier: 0.25, exemplarSize: 95, instanceSize: 191 })));
    return { net, config: {}, dispose: () => net.dispose() };
  }
  const l = await loadTracker(variant);
  return { net: l.net, config: l.manifest?.tracker ?? {}, dispose: () => l.dispose() };
}

/** Measure one (variant, engine) in this process. */
async function measure(variant: string, engineName: string, nFrames: number, ceiling: number, profile: boolean): Promise<EngineRow> {
  const backend = await initBackend({ log: () => {} });
  const { net, config, dispose } = await loadNet(variant);
  const threads = availableParallelism();
  let profileDir: string | null = null;
  // 'onnx' = all cores (the default), 'onnx-1t' = one intra-op thread (for comparison on a loaded machine)
  const engine: SiamFCEngine | null = engineName.startsWith('onnx')
    ? OnnxEngine.fromNet(net, { threads: engineName === 'onnx-1t' ? 1 : threads }) : null;
  const description = engine ? engine.description : `tfjs (${backend})`;
  const tracker = new SiamFCTracker(net, config, variant, engine ?? undefined);
  const seq = benchFrames(nFrames + 3);
  const box = { x: 300, y: 150, width: 60, height: 60 };
  tracker.init(seq[0], box);
  tracker.update(seq[1]);
  tracker.update(seq[2]); // warm-up
  const times: number[] = [];
  for (let i = 0; i < nFrames; i++) {
    const t0 = performance.now();
    tracker.update(seq[3 + i]);
    times.push(performance.now() - t0);
  }
  const scales = tracker.config.scaleNum;
  tracker.dispose();
  // the networks alone, 3 search crops, through the engine interface (tfjs: the reference engine object)
  const { exemplarSize: E, instanceSize: X } = net.geometry;
  const k = 3;
  const eng: SiamFCEngine = engine ?? new TfjsEngine(net);
  const crops = new Float32Array(k * X * X * 3).map((_, i) => (i * 2654435761) % 251);
  const z = eng.exemplar(new Float32Array(E * E * 3).map((_, i) => (i * 40503) % 253));
  eng.respond(z, crops, k);
  const net3: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    eng.respond(z, crops, k);
    net3.push(performance.now() - t0);
  }
  // per-frame split on the engine path: JS crops, engine call
  let split: EngineRow['split'] = null;
  if (engine) {
    const f = seq[3];
    const avg = new Float32Array([120, 100, 140]);
    const reqs = [0.96, 1, 1.04].map((s) => ({ cx: 330, cy: 180, size: 250 * s }));
    const ct: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      cropPatchesInto(crops, f.data, f.height, f.width, avg, reqs, X);
      ct.push(performance.now() - t0);
    }
    const cropMs = median(ct);
    const engineMs = median(net3);
    split = { cropMs, engineMs, otherMs: Math.max(0, median(times) - cropMs - engineMs) };
  }
  let prof: EngineRow['profile'];
  if (profile && engine) {
    profileDir = path.join(tmpdir(), `rot-bench-profile-${process.pid}`);
    mkdirSync(profileDir, { recursive: true });
    prof = profileSearch(net, profileDir, threads, crops, k);
  }
  z.dispose();
  const flops = searchFlops(net, k);
  const networkMs = median(net3);
  const networkMsBest = Math.min(...net3);
  const gf = flops / networkMs / 1e6;
  const gfBest = flops / networkMsBest / 1e6;
  engine?.dispose();
  dispose();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  return {
    variant, engine: engineName, engineDescription: description,
    crops: `${E}/${X}`, scales,
    fps: 1000 / (times.reduce((a, b) => a + b, 0) / times.length),
    msP50: median(times), msP95: quantile(times, 0.95), networkMs, networkMsBest, convGflop: flops / 1e9, convGflops: gf,
    convGflopsBest: gfBest, ofCeiling: gf / ceiling, ofCeilingBest: gfBest / ceiling, split, peakRssMb: peakRssMb(), profile: prof,
  };
}

/** onnxruntime's per-node profile of a few search runs: time per op type (Conv, Relu, MaxPool…). */
function profileSearch(net: SiamFCNet, dir: string, threads: number, crops: Float32Array, k: number) {
  // a separate session with profiling on, fed the same inputs
  const m = exportSiamFCOnnx(net);
  const X = net.geometry.instanceSize;
  const E = net.geometry.exemplarSize;
  const ex = new OrtSession(m.exemplar, 'exemplar', { threads });
  const se = new OrtSession(m.search, 'search', { threads, profilePrefix: path.join(dir, 'search') });
  const kernel = ex.run({ x: ortTensor(new Float32Array(E * E * 3).fill(100), [1, E, E, 3]) }).kernel;
  const x = ortTensor(crops, [k, X, X, 3]);
  for (let i = 0; i < 5; i++) se.run({ x, kernel });
  se.endProfiling();
  ex.dispose();
  se.dispose();
  const file = readdirSync(dir).find((f) => f.startsWith('search') && f.endsWith('.json'));
  if (!file) return undefined;
  const events = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
  const byOp = new Map<string, number>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? 'other';
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur / 1000 / 5);
  }
  const total = [...byOp.values()].reduce((a, b) => a + b, 0);
  return [...byOp.entries()].map(([op, ms]) => ({ op, ms, share: ms / total })).sort((a, b) => b.ms - a.ms);
}

/** Run the whole engine benchmark (children per pair); prints and writes the JSON and markdown. */
export async function benchEngines(opts: { variants?: string[]; engines?: string[]; frames?: number; out?: string; md?: string; profile?: boolean } = {}) {
  const variants = opts.variants ?? DEFAULT_VARIANTS;
  const ort = loadOrt();
  const engines = (opts.engines ?? ['tfjs', 'onnx']).filter((e) => {
    if (e === 'onnx' && !ort.ok) console.log(`[bench:engines] onnx skipped: ${ort.reason}`);
    return !e.startsWith('onnx') || ort.ok;
  });
  const nFrames = opts.frames ?? 40;
  const loadBefore = loadavg();
  console.log(`[bench:engines] ${availableParallelism()} cores (nproc), ${cpus()[0]?.model}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} ` +
    '(the machine is shared: other jobs slow these numbers down)');
  const ceil = ceilings();
  const ceilingOf = (rs: CeilingRow[]) => ({
    best: Math.max(0, ...rs.map((c) => c.gflops)), median: Math.max(0, ...rs.map((c) => c.gflopsMedian)),
  });
  let ceiling = ceilingOf(ceil);
  console.log(`[bench:engines] ceiling (best run / median run of the best config) ${ceiling.best.toFixed(1)} / ${ceiling.median.toFixed(1)} GFLOP/s: ` +
    ceil.map((c) => `${c.what} ${c.n}³ ${c.threads}t ${c.gflops.toFixed(1)}/${c.gflopsMedian.toFixed(1)}`).join(', '));
  const rows: EngineRow[] = [];
  for (const variant of variants) {
    for (const engine of engines) {
      const args = ['--import', 'tsx', SELF, '--child', `${variant},${engine}`, '--frames', String(nFrames), '--ceiling', String(ceiling.median)];
      if (opts.profile) args.push('--profile');
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      if (r.status !== 0 || !line) {
        console.log(`[bench:engines] ${variant} / ${engine} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
        continue;
      }
      const row = JSON.parse(line) as EngineRow;
      rows.push(row);
      console.log(`  ${variant.padEnd(18)} ${engine.padEnd(5)} ${row.fps.toFixed(1).padStart(6)} fps  p50 ${row.msP50.toFixed(1)} ms  p95 ${row.msP95.toFixed(1)} ms  ` +
        `conv ${row.convGflops.toFixed(1)} GFLOP/s median, ${row.convGflopsBest.toFixed(1)} best (${(100 * row.ofCeiling).toFixed(0)}% / ` +
        `${(100 * row.ofCeilingBest).toFixed(0)}% of the first ceiling sweep)  RSS ${row.peakRssMb.toFixed(0)} MB`);
    }
  }
  // the ceiling again after the runs (the load changes); fractions against the better of both sweeps: the median
  // conv rate against the best config's median matmul rate, the best conv run against the best matmul run
  const after = ceilings();
  ceil.push(...after.map((c) => ({ ...c, what: `${c.what} (after)` })));
  ceiling = ceilingOf(ceil);
  for (const r of rows) {
    r.ofCeiling = r.convGflops / ceiling.median;
    r.ofCeilingBest = r.convGflopsBest / ceiling.best;
  }
  console.log(`[bench:engines] ceiling used (both sweeps): best ${ceiling.best.toFixed(1)}, median ${ceiling.median.toFixed(1)} GFLOP/s`);
  const fps = (v: string, e: string) => rows.find((r) => r.variant === v && r.engine === e)?.fps;
  const ratios: Record<string, number | null> = {};
  const netRatios: Record<string, number | null> = {};
  const row = (v: string, e: string) => rows.find((r) => r.variant === v && r.engine === e);
  for (const e of engines) {
    const h = fps('het-siamfc', e), i = fps('ien-siamfc', e);
    ratios[e] = h && i ? h / i : null;
    const hn = row('het-siamfc', e), inn = row('ien-siamfc', e);
    netRatios[e] = hn && inn ? inn.networkMsBest / hn.networkMsBest : null;
  }
  const hr = rows.find((r) => r.variant === 'het-siamfc'), ir = rows.find((r) => r.variant === 'ien-siamfc');
  const flopRatio = hr && ir ? ir.convGflop / hr.convGflop : null;
  const speedups: Record<string, number | null> = {};
  for (const v of variants) {
    const o = fps(v, 'onnx'), t = fps(v, 'tfjs');
    speedups[v] = o && t ? o / t : null;
  }
  const loadAfter = loadavg();
  const result = {
    date: new Date().toISOString(), cores: availableParallelism(), cpu: cpus()[0]?.model, node: process.version,
    loadavgBefore: loadBefore, loadavgAfter: loadAfter, ceiling: { rows: ceil, ...ceiling }, frames: nFrames,
    rows, hetOverIenFps: ratios, hetOverIenNetworkSpeed: netRatios, ienOverHetFlops: flopRatio, onnxOverTfjsFps: speedups,
  };
  const md = markdown(result);
  console.log('\n' + md);
  if (opts.out) {
    mkdirSync(path.dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify(result, null, 2) + '\n');
    console.log(`[bench:engines] wrote ${opts.out}`);
  }
  if (opts.md) {
    mkdirSync(path.dirname(opts.md), { recursive: true });
    writeFileSync(opts.md, md);
    console.log(`[bench:engines] wrote ${opts.md}`);
  }
  return result;
}

export function markdown(r: { rows: EngineRow[]; ceiling: { rows: CeilingRow[]; best: number; median: number }; cores: number;
  loadavgBefore: number[]; loadavgAfter: number[]; hetOverIenFps: Record<string, number | null>;
  hetOverIenNetworkSpeed: Record<string, number | null>; ienOverHetFlops: number | null; onnxOverTfjsFps: Record<string, number | null>; date: string; frames: number }): string {
  const f = (v: number | null | undefined, d = 1) => (v == null ? '—' : v.toFixed(d));
  const lines = [
    `Measured ${r.date} on ${r.cores} cores, load average ${r.loadavgBefore.map((l) => l.toFixed(2)).join(' ')} before / ` +
      `${r.loadavgAfter.map((l) => l.toFixed(2)).join(' ')} after (shared machine: noisy). ${r.frames} frames per row.`,
    `Ceiling: large square matmuls (OpenBLAS sgemm through the native add-on, onnxruntime MatMul), 10 runs each, before and ` +
      `after the tracking runs; GFLOP/s of the best run / of the median run: ` +
      `${r.ceiling.rows.map((c) => `${c.what} ${c.n}³ ${c.threads}t ${f(c.gflops)} / ${f(c.gflopsMedian)}`).join(', ')}. ` +
      `Ceiling = the best config: ${f(r.ceiling.best)} (best run) / ${f(r.ceiling.median)} (median run).`,
    '',
    'net ms = search branch + xcorr on the 3 crops in one engine call, median / best of 15; conv GFLOP/s at the median / best ' +
      'run, and as a fraction of the ceiling (median conv run ÷ median-run ceiling / best conv run ÷ best-run ceiling); crop / engine / other = median ms per frame on the engine path (other = post-processing, ' +
      'bookkeeping, scheduling).',
    '',
    '| variant | engine | crops z/x | scales | fps | ms p50 | ms p95 | net ms (3 crops) | conv GFLOP/s | of ceiling | crop / engine / other ms | peak RSS MB |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    ...r.rows.map((x) => `| ${x.variant} | ${x.engineDescription} | ${x.crops} | ${x.scales} | ${f(x.fps)} | ${f(x.msP50)} | ${f(x.msP95)} | ` +
      `${f(x.networkMs)} / ${f(x.networkMsBest)} | ${f(x.convGflops)} / ${f(x.convGflopsBest)} | ` +
      `${(100 * x.ofCeiling).toFixed(0)}% / ${(100 * x.ofCeilingBest).toFixed(0)}% | ` +
      `${x.split ? `${f(x.split.cropMs)} / ${f(x.split.engineMs)} / ${f(x.split.otherMs)}` : '—'} | ${f(x.peakRssMb, 0)} |`),
    '',
    `Het-SiamFC / IEN-SiamFC speed: fps ${Object.entries(r.hetOverIenFps).map(([e, v]) => `${e} ${f(v, 2)}`).join(', ')}; ` +
      `network alone (best run) ${Object.entries(r.hetOverIenNetworkSpeed).map(([e, v]) => `${e} ${f(v, 2)}`).join(', ')}; ` +
      `conv FLOPs IEN / Het ${f(r.ienOverHetFlops, 2)}.`,
    `onnx / tfjs fps: ${Object.entries(r.onnxOverTfjsFps).map(([v, x]) => `${v} ${f(x, 2)}`).join(', ')}.`,
  ];
  const profiled = r.rows.filter((x) => x.profile?.length);
  if (profiled.length) {
    lines.push('', 'onnxruntime time per op type, search run (3 crops):', '');
    for (const x of profiled) {
      lines.push(`- ${x.variant}, ${x.engineDescription}: ${x.profile!.slice(0, 6).map((p) => `${p.op} ${p.ms.toFixed(2)} ms (${(100 * p.share).toFixed(0)}%)`).join(', ')}`);
    }
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------------------
if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const { values: a } = parseArgs({
    options: {
      variants: { type: 'string' }, engines: { type: 'string' }, frames: { type: 'string', default: '40' },
      out: { type: 'string', default: 'reports/engines/bench.json' }, md: { type: 'string', default: 'reports/engines/bench.md' },
      child: { type: 'string' }, ceiling: { type: 'string' }, profile: { type: 'boolean', default: false },
      render: { type: 'string' },
    },
  });
  if (a.render) {
    // re-render the markdown of a saved JSON result (no measuring)
    writeFileSync(a.md!, markdown(JSON.parse(readFileSync(a.render, 'utf8'))));
    console.log(`[bench:engines] wrote ${a.md} from ${a.render}`);
  } else if (a.child) {
    const [variant, engine] = a.child.split(',');
    const row = await measure(variant, engine, Number(a.frames), Number(a.ceiling), a.profile ?? false);
    console.log(JSON.stringify(row));
    await tf.ready();
  } else {
    await benchEngines({
      variants: a.variants?.split(','), engines: a.engines?.split(','), frames: Number(a.frames), out: a.out, md: a.md,
      profile: a.profile,
    });
  }
}
