/**
 * GFLOP/s of the native-cpu backend (tracker/node/native-backend.ts) next to wasm, cpu and the system BLAS's own sgemm
 * (the ceiling), on 1 thread and on all cores, in the same run:
 *   - sgemm 2048³ straight through the add-on (no tfjs) — the ceiling;
 *   - the forward pass of a SiamFC-like stack (AlexNet layout at `--width`, default 0.5: 11×11/2 → pool → 5×5 → pool
 *     → 3×3 ×3, bias + BN + relu), exemplar 127 and search 255 crops, batch `--batch` (default 8); GFLOP/s counts the
 *     conv FLOPs only, so bias/BN/relu/pool time lowers the rate;
 *   - the backward convs (Conv2DBackpropInput + Conv2DBackpropFilter of every layer of that stack at 255);
 *   - one full training step (both branches, BN with batch statistics, xcorr, logistic loss, gradients of all
 *     variables), timed end to end; GFLOP/s counts only conv FLOPs (forward + both backward convs), so what the other
 *     kernels cost shows as a lower rate. A per-kernel profile of the native step is printed and saved.
 * cpu (plain JS, ~0.5 GFLOP/s) runs the forward stack only, at batch 1. wasm is single-threaded in Node: its "all
 * cores" row is the same single thread. Timings are medians of `--reps` runs after a warm-up; the machine is shared,
 * so expect ±10–20%.
 *
 *   node --import tsx scripts/bench-native.ts [--batch 8] [--width 0.5] [--reps 3] [--out artifacts/bench-native.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { tf } from '../tracker/tf.js';
import { setBackend } from '../tracker/backend.js';
import { loadNativeAddon, registerNativeBackend, setNativeThreads } from '../tracker/node/native-backend.js';

const { values: args } = parseArgs({
  options: {
    batch: { type: 'string', default: '8' },
    width: { type: 'string', default: '0.5' },
    reps: { type: 'string', default: '3' },
    out: { type: 'string', default: 'artifacts/bench-native.json' },
  },
});
const BATCH = Number(args.batch);
const WIDTH = Number(args.width);
const REPS = Number(args.reps);
const CORES = availableParallelism();

const reg = registerNativeBackend();
if (!reg.ok) {
  console.error(`native-cpu unavailable: ${reg.reason}`);
  process.exit(1);
}
const addon = loadNativeAddon()!;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median ms of `f` after one warm-up (f must finish its work synchronously or await it). */
async function timeMs(f: () => void | Promise<void>, reps = REPS): Promise<number> {
  await f();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

// ---------------------------------------------------------------------------------------------------------------
// The SiamFC-like stack

interface Layer { k: number; s: number; out: number; pool: boolean; bn: boolean; relu: boolean }
const w = (c: number) => Math.max(1, Math.round(c * WIDTH));
const LAYERS: Layer[] = [
  { k: 11, s: 2, out: w(96), pool: true, bn: true, relu: true },
  { k: 5, s: 1, out: w(256), pool: true, bn: true, relu: true },
  { k: 3, s: 1, out: w(384), pool: false, bn: true, relu: true },
  { k: 3, s: 1, out: w(384), pool: false, bn: true, relu: true },
  { k: 3, s: 1, out: w(256), pool: false, bn: false, relu: false },
];

interface ConvShape { x: [number, number, number, number]; w: [number, number, number, number]; s: number; y: number[]; flops: number }

/** Conv shapes of the stack for a `size`² input at batch `b`. */
function convShapes(size: number, b: number): ConvShape[] {
  const out: ConvShape[] = [];
  let h = size;
  let c = 3;
  for (const l of LAYERS) {
    const oh = Math.floor((h - l.k) / l.s) + 1;
    out.push({ x: [b, h, h, c], w: [l.k, l.k, c, l.out], s: l.s, y: [b, oh, oh, l.out], flops: 2 * b * oh * oh * l.out * l.k * l.k * c });
    h = l.pool ? Math.floor((oh - 3) / 2) + 1 : oh;
    c = l.out;
  }
  return out;
}

function makeVars(): tf.Variable[][] {
  let c = 3;
  return LAYERS.map((l, i) => {
    const v = [tf.variable(tf.randomNormal([l.k, l.k, c, l.out], 0, Math.sqrt(2 / (l.k * l.k * c)), 'float32', i), true)];
    v.push(tf.variable(tf.zeros([l.out]), true));
    if (l.bn) v.push(tf.variable(tf.ones([l.out]), true), tf.variable(tf.zeros([l.out]), true));
    c = l.out;
    return v;
  });
}

function backbone(x: tf.Tensor4D, vars: tf.Variable[][]): tf.Tensor4D {
  let h = x;
  LAYERS.forEach((l, i) => {
    const [filt, bias, gamma, beta] = vars[i];
    h = tf.add(tf.conv2d(h, filt as tf.Tensor4D, l.s, 'valid'), bias) as tf.Tensor4D;
    if (l.bn && gamma && beta) {
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      h = tf.batchNorm(h, mean, variance, beta, gamma, 1e-5) as tf.Tensor4D;
    }
    if (l.relu) h = tf.relu(h);
    if (l.pool) h = tf.maxPool(h, 3, 2, 'valid');
  });
  return h;
}

function xcorr(z: tf.Tensor4D, x: tf.Tensor4D): tf.Tensor4D {
  const outs: tf.Tensor4D[] = [];
  for (let b = 0; b < z.shape[0]; b++) {
    const k = tf.transpose(tf.slice(z, [b, 0, 0, 0], [1, -1, -1, -1]), [1, 2, 3, 0]) as tf.Tensor4D;
    outs.push(tf.conv2d(tf.slice(x, [b, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D, k, 1, 'valid'));
  }
  return tf.mul(tf.concat(outs, 0), 1e-3);
}

const z127 = convShapes(127, BATCH);
const x255 = convShapes(255, BATCH);
const fwdFlops = [...z127, ...x255].reduce((s, c) => s + c.flops, 0);
const zLast = z127[z127.length - 1].y;
const xLast = x255[x255.length - 1].y;
const xcorrOut = xLast[1] - zLast[1] + 1;
const xcorrFlops = 2 * BATCH * xcorrOut * xcorrOut * zLast[1] * zLast[2] * zLast[3];
// Backward: dW of every conv, dx of every conv but the first (its input needs no gradient); xcorr: both.
const bwdFlops = [...z127, ...x255].reduce((s, c, i) => s + c.flops * (i % LAYERS.length === 0 ? 1 : 2), 0);
const stepFlops = fwdFlops + bwdFlops + 3 * xcorrFlops;

async function forwardMs(backend: string, batch: number, reps = REPS): Promise<{ ms: number; flops: number }> {
  await setBackend(backend);
  const vars = makeVars();
  const z = tf.randomUniform([batch, 127, 127, 3], 0, 255) as tf.Tensor4D;
  const x = tf.randomUniform([batch, 255, 255, 3], 0, 255) as tf.Tensor4D;
  const ms = await timeMs(async () => {
    const [a, b] = tf.tidy(() => [backbone(z, vars), backbone(x, vars)]);
    await a.data();
    await b.data();
    tf.dispose([a, b]);
  }, reps);
  tf.dispose([z, x, ...vars.flat()]);
  const flops = [...convShapes(127, batch), ...convShapes(255, batch)].reduce((s, c) => s + c.flops, 0);
  return { ms, flops };
}

async function backwardMs(backend: string): Promise<{ ms: number; flops: number }> {
  await setBackend(backend);
  const ts = x255.map((c, i) => ({
    c, first: i === 0,
    x: tf.randomNormal(c.x), w: tf.randomNormal(c.w), dy: tf.randomNormal(c.y),
  }));
  const ms = await timeMs(async () => {
    const outs = tf.tidy(() => ts.flatMap(({ c, first, x, w: f, dy }) => {
      const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: c.s, pad: 'valid', dataFormat: 'NHWC', filterShape: c.w }) as tf.Tensor;
      if (first) return [dw];
      const dx = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: f }, { strides: c.s, pad: 'valid', dataFormat: 'NHWC', inputShape: c.x }) as tf.Tensor;
      return [dw, dx];
    }));
    for (const o of outs) await o.data();
    tf.dispose(outs);
  });
  tf.dispose(ts.flatMap((t) => [t.x, t.w, t.dy]));
  return { ms, flops: x255.reduce((s, c, i) => s + c.flops * (i === 0 ? 1 : 2), 0) };
}

async function stepMs(backend: string, profile = false): Promise<{ ms: number; flops: number; profile?: { kernel: string; ms: number; calls: number }[] }> {
  await setBackend(backend);
  const vars = makeVars();
  const z = tf.randomUniform([BATCH, 127, 127, 3], 0, 255) as tf.Tensor4D;
  const x = tf.randomUniform([BATCH, 255, 255, 3], 0, 255) as tf.Tensor4D;
  const labels = tf.cast(tf.greater(tf.randomUniform([BATCH, xcorrOut, xcorrOut, 1], 0, 1, 'float32', 5), 0.8), 'float32');
  const opt = tf.train.sgd(1e-3);
  const run = async () => {
    const loss = opt.minimize(() => tf.losses.sigmoidCrossEntropy(labels, xcorr(backbone(z, vars), backbone(x, vars))) as tf.Scalar, true);
    await loss!.data();
    loss!.dispose();
  };
  const ms = await timeMs(run);
  let prof: { kernel: string; ms: number; calls: number }[] | undefined;
  if (profile) {
    const info = await tf.profile(run);
    const by = new Map<string, { ms: number; calls: number }>();
    for (const k of info.kernels) {
      const e = by.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      e.calls++;
      by.set(k.name, e);
    }
    prof = [...by.entries()].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms);
  }
  tf.dispose([z, x, labels, ...vars.flat()]);
  opt.dispose();
  return { ms, flops: stepFlops, profile: prof };
}

function sgemmGflops(n: number): number {
  const a = new Float32Array(n * n).map(() => Math.random());
  const b = new Float32Array(n * n).map(() => Math.random());
  const c = new Float32Array(n * n);
  addon.sgemm(a, b, c, n, n, n);
  const t: number[] = [];
  for (let i = 0; i < Math.max(3, REPS); i++) {
    const t0 = performance.now();
    addon.sgemm(a, b, c, n, n, n);
    t.push(performance.now() - t0);
  }
  return (2 * n ** 3) / median(t) / 1e6;
}

// ---------------------------------------------------------------------------------------------------------------

interface Row { backend: string; threads: number | string; what: string; ms: number; gflops: number; ofCeiling: number }
const rows: Row[] = [];
const ceiling: Record<string, number> = {};
const profiles: Record<string, unknown> = {};

console.log(`rot-track bench-native: batch ${BATCH}, width ×${WIDTH}, median of ${REPS}; ${CORES} cores (${cpus()[0]?.model}); ` +
  `load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; BLAS: ${reg.blas}`);
console.log(`FLOPs: forward ${(fwdFlops / 1e9).toFixed(1)} G (127+255), backward convs ${(x255.reduce((s, c, i) => s + c.flops * (i === 0 ? 1 : 2), 0) / 1e9).toFixed(1)} G (255 branch), ` +
  `training step ${(stepFlops / 1e9).toFixed(1)} G`);

const add = (backend: string, threads: number | string, what: string, r: { ms: number; flops: number }, key: string) => {
  const gflops = r.flops / r.ms / 1e6;
  rows.push({ backend, threads, what, ms: r.ms, gflops, ofCeiling: gflops / ceiling[key] });
  console.log(`  ${backend.padEnd(10)} ${String(threads).padStart(7)}  ${what.padEnd(34)} ${r.ms.toFixed(0).padStart(8)} ms ${gflops.toFixed(1).padStart(7)} GFLOP/s  ${(100 * gflops / ceiling[key]).toFixed(0).padStart(3)}% of sgemm`);
};

for (const threads of [...new Set([1, CORES])]) {
  setNativeThreads(threads);
  const key = String(threads);
  ceiling[key] = sgemmGflops(2048);
  rows.push({ backend: 'BLAS sgemm', threads, what: 'sgemm 2048³ (ceiling)', ms: (2 * 2048 ** 3) / ceiling[key] / 1e6, gflops: ceiling[key], ofCeiling: 1 });
  console.log(`threads ${threads}: sgemm 2048³ ${ceiling[key].toFixed(1)} GFLOP/s`);
  add('native-cpu', threads, `forward pass b${BATCH}`, await forwardMs('native-cpu', BATCH), key);
  add('native-cpu', threads, 'backward convs (255)', await backwardMs('native-cpu'), key);
  const step = await stepMs('native-cpu', true);
  add('native-cpu', threads, `training step b${BATCH}`, step, key);
  profiles[`native-cpu/${threads}`] = step.profile;
  console.log(`    profile (native-cpu, ${threads} thread(s), one step): ` +
    step.profile!.slice(0, 10).map((p) => `${p.kernel} ${p.ms.toFixed(0)} ms`).join(', '));
}

// wasm: one thread in Node whatever the core count; ratios against the 1-thread ceiling.
add('wasm', 1, `forward pass b${BATCH}`, await forwardMs('wasm', BATCH), '1');
add('wasm', 1, 'backward convs (255)', await backwardMs('wasm'), '1');
add('wasm', 1, `training step b${BATCH}`, await stepMs('wasm'), '1');
// cpu: forward only, batch 1, one run (it is ~100× slower).
add('cpu', 1, 'forward pass b1', await forwardMs('cpu', 1, 1), '1');

const nat = (what: string, t: number) => rows.find((r) => r.backend === 'native-cpu' && r.threads === t && r.what.startsWith(what));
const wasm = (what: string) => rows.find((r) => r.backend === 'wasm' && r.what.startsWith(what));
const speedups = {
  stepAllCoresVsWasm: (wasm('training')!.ms / nat('training', CORES)!.ms),
  forwardAllCoresVsWasm: (wasm('forward')!.ms / nat('forward', CORES)!.ms),
};

console.log('\n| backend | threads | what | ms | GFLOP/s | of sgemm ceiling (same threads) |');
console.log('| --- | --- | --- | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.backend} | ${r.threads} | ${r.what} | ${r.ms.toFixed(0)} | ${r.gflops.toFixed(1)} | ${(100 * r.ofCeiling).toFixed(0)}% |`);
}
console.log(`\ntraining step, native-cpu on ${CORES} cores vs wasm: ${speedups.stepAllCoresVsWasm.toFixed(1)}×; forward: ${speedups.forwardAllCoresVsWasm.toFixed(1)}×`);

mkdirSync(dirname(args.out!), { recursive: true });
writeFileSync(args.out!, JSON.stringify({
  date: new Date().toISOString(), cores: CORES, cpu: cpus()[0]?.model, loadavg: loadavg(), blas: reg.blas,
  config: { batch: BATCH, width: WIDTH, reps: REPS, layers: LAYERS },
  flops: { forward: fwdFlops, backwardConvs255: x255.reduce((s, c, i) => s + c.flops * (i === 0 ? 1 : 2), 0), step: stepFlops },
  rows, speedups, profiles,
}, null, 2));
console.log(`wrote ${args.out}`);
