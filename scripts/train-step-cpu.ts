/**
 * What one training step of a shipped model costs the machine, not only the clock: wall time (median, best), CPU time
 * per step (user, system — more user time than wall time at one thread is V8's background GC and freeing), minor page
 * faults per step, the output pool's counters (tracker/node/buffer-pool.ts) and the bytes of kernel outputs a step
 * makes. The step is train-step-setup.ts's (training/train-tracker.ts's objective and optimiser on random crops).
 * For an A/B of two add-on builds run it once per build with ROT_TRACK_NATIVE_ADDON=<path to .node>, interleaved.
 * `--blocks K` also prints the median and mean of every block of K timed steps: a fresh process's CPU-scale step is
 * slower over its first ~50 steps while V8 still optimises the step's JS (`--warmup 0 --steps 400 --blocks 50`).
 * `--addon-calls` times every call into the native add-on (performance.now around it) and prints, per add-on function,
 * ms and calls per timed step: the kernels' own time, without tf.profile's per-kernel syncs and with the collector's
 * pauses left in the JS part (the rest of the wall time: tfjs's engine and tape, our kernels' JS, GC).
 *
 *   ROT_TRACK_THREADS=2 node --import tsx scripts/train-step-cpu.ts [--model siamfc | ien-siamfc | …] [--steps 30] [--batch 8]
 *                                                                 [--warmup 3] [--blocks K] [--addon-calls]
 */
import { parseArgs } from 'node:util';
import { tf } from '../tracker/tf.js';
import { initBackend } from '../tracker/node/backend.js';
import { outputPool } from '../tracker/node/buffer-pool.js';
import { loadNativeAddon } from '../tracker/node/native-backend.js';
import { trainStep } from './train-step-setup.js';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'siamfc' }, steps: { type: 'string', default: '30' }, batch: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' }, blocks: { type: 'string', default: '0' }, 'addon-calls': { type: 'boolean', default: false },
  },
});
const steps = Number(a.steps);
const B = Number(a.batch);
if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps ${a.steps}: expected a positive integer`);
if (!Number.isInteger(B) || B < 1) throw new Error(`--batch ${a.batch}: expected a positive integer`);
const warmup = Number(a.warmup);
const blocks = Number(a.blocks);
if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`--warmup ${a.warmup}: expected an integer ≥ 0`);
if (!Number.isInteger(blocks) || blocks < 0) throw new Error(`--blocks ${a.blocks}: expected an integer ≥ 0`);
// --addon-calls: every add-on function wrapped before the backend binds them (ms and calls per function)
const addonCalls = new Map<string, { ms: number; calls: number }>();
if (a['addon-calls']) {
  const addon = loadNativeAddon() as unknown as Record<string, unknown> | null;
  if (!addon) throw new Error('--addon-calls: the native add-on is not loaded');
  for (const [name, fn] of Object.entries(addon)) {
    if (typeof fn !== 'function') continue;
    const e = { ms: 0, calls: 0 };
    addonCalls.set(name, e);
    addon[name] = function (this: unknown, ...args: unknown[]) {
      const t0 = performance.now();
      try {
        return (fn as (...x: unknown[]) => unknown).apply(this, args);
      } finally {
        e.ms += performance.now() - t0;
        e.calls++;
      }
    };
  }
}
const backend = await initBackend({ log: () => {} });
const ts = await trainStep(a.model!, B);
const run = () => ts.run();
for (let i = 0; i < warmup; i++) run(); // warm-up: optimiser state, kernels compiled, pool filled, V8's JIT

// bytes of tensor data a step creates (every output goes through the backend's makeTensorInfo)
const be = tf.backend() as unknown as { makeTensorInfo: (s: number[], d: string, v?: ArrayLike<number>) => unknown };
const make = be.makeTensorInfo.bind(be);
let bytes = 0;
let arrays = 0;
be.makeTensorInfo = (s, d, v) => {
  if (v && ArrayBuffer.isView(v)) {
    bytes += v.byteLength;
    arrays++;
  }
  return make(s, d, v);
};
run();
be.makeTensorInfo = make;

for (const e of addonCalls.values()) e.ms = e.calls = 0;
const pool0 = outputPool.stats();
const r0 = process.resourceUsage();
const wall: number[] = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  run();
  wall.push(performance.now() - t0);
}
const r1 = process.resourceUsage();
const pool1 = outputPool.stats();
if (blocks > 0) {
  for (let b = 0; b < steps; b += blocks) {
    const part = wall.slice(b, b + blocks);
    const mid = [...part].sort((p, q) => p - q)[part.length >> 1];
    console.log(`steps ${b + 1}–${b + part.length}: median ${mid.toFixed(1)} ms, mean ${(part.reduce((p, q) => p + q, 0) / part.length).toFixed(1)} ms`);
  }
}
wall.sort((p, q) => p - q);
const per = (v: number) => (v / steps).toFixed(0);
const ms = (us: number) => (us / steps / 1000).toFixed(1);
console.log(`${a.model}, batch ${B}, backend ${backend}, threads ${process.env.ROT_TRACK_THREADS ?? 'default'}` +
  `${process.env.ROT_TRACK_NATIVE_ADDON ? `, add-on ${process.env.ROT_TRACK_NATIVE_ADDON}` : ''}: ${steps} steps, ` +
  `median ${wall[steps >> 1].toFixed(1)} ms, best ${wall[0].toFixed(1)} ms; per step: user ${ms(r1.userCPUTime - r0.userCPUTime)} ms, ` +
  `sys ${ms(r1.systemCPUTime - r0.systemCPUTime)} ms, ${per(r1.minorPageFault - r0.minorPageFault)} minor faults, ` +
  `${(bytes / 1e6).toFixed(1)} MB of outputs in ${arrays} arrays; output pool per step: ${per(pool1.hits - pool0.hits)} reused, ` +
  `${per(pool1.misses - pool0.misses)} new, ${per(pool1.escaped - pool0.escaped)} escaped`);
if (a['addon-calls']) {
  const rows = [...addonCalls].filter(([, e]) => e.calls > 0).sort((p, q) => q[1].ms - p[1].ms);
  const inAddon = rows.reduce((p, [, e]) => p + e.ms, 0) / steps;
  const meanWall = wall.reduce((p, q) => p + q, 0) / steps;
  console.log(`in the add-on ${inAddon.toFixed(1)} ms of a mean step of ${meanWall.toFixed(1)} ms (the rest ${(meanWall - inAddon).toFixed(1)} ms: ` +
    'tfjs\'s engine and tape, kernels\' JS, GC)');
  console.log('| add-on function | ms / step | calls / step |\n| --- | ---: | ---: |');
  for (const [name, e] of rows) console.log(`| ${name} | ${(e.ms / steps).toFixed(2)} | ${(e.calls / steps).toFixed(0)} |`);
}
ts.dispose();
