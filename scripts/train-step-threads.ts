/**
 * Who runs while a training step is slow: every thread of this process, per step, from the kernel's own accounting
 * (/proc/self/task/<tid>/schedstat: ns on a CPU, ns runnable but waiting for one). Steps are sorted by wall time and
 * split in quarters; for each quarter the main (JS) thread, the add-on's busiest pool worker and all other threads
 * (V8's platform workers: parallel scavenges, concurrent marking and sweeping, TurboFan's background compiles) are
 * averaged. On 2 cores with a 2-thread pool both CPUs are busy through a step, so any CPU time of the other threads is
 * taken from a pool thread (its "wait"), and a split job waits for the thread that was descheduled.
 * Linux only (schedstat). The step is train-step-setup.ts's, as in train-step-cpu.ts.
 *
 *   ROT_TRACK_THREADS=2 node --import tsx scripts/train-step-threads.ts [--model siamfc] [--steps 160] [--warmup 100 (≥ 1)] [--batch 8]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { initBackend } from '../tracker/node/backend.js';
import { loadNativeAddon } from '../tracker/node/native-backend.js';
import { trainStep } from './train-step-setup.js';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'siamfc' }, steps: { type: 'string', default: '160' }, warmup: { type: 'string', default: '100' },
    batch: { type: 'string', default: '8' },
  },
});
const steps = Number(a.steps);
const warmup = Number(a.warmup);
for (const [flag, v, min] of [['steps', steps, 4], ['warmup', warmup, 1], ['batch', Number(a.batch), 1]] as const) {
  if (!Number.isInteger(v) || v < min) throw new Error(`--${flag} ${a[flag]}: expected an integer ≥ ${min}`);
}
if (!existsSync('/proc/self/task')) throw new Error('train-step-threads needs Linux /proc/self/task/<tid>/schedstat');
const backend = await initBackend({ log: () => {} });
const ts = await trainStep(a.model!, Number(a.batch));
for (let i = 0; i < Math.max(1, warmup); i++) ts.run(); // at least one: the first step starts the add-on's pool

// threads are made by now (pool, V8 platform workers, libuv); any made later are not counted
const tasks = readdirSync('/proc/self/task');
const main = String(process.pid);
/** [ms on a CPU, ms waiting for one] per thread */
const sample = () => tasks.map((t) => {
  const [run, wait] = readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ').map(Number);
  return [run / 1e6, wait / 1e6];
});
interface Row { wall: number; run: number[]; wait: number[] }
const rows: Row[] = [];
for (let i = 0; i < steps; i++) {
  const s0 = sample();
  const t0 = performance.now();
  ts.run();
  const wall = performance.now() - t0;
  const s1 = sample();
  rows.push({ wall, run: s1.map((x, j) => x[0] - s0[j][0]), wait: s1.map((x, j) => x[1] - s0[j][1]) });
}
ts.dispose();

const total = tasks.map((_, j) => rows.reduce((s, r) => s + r.run[j], 0));
const mainAt = tasks.indexOf(main);
// the add-on's pool has a worker only at 2+ threads: then it is the busiest thread after the main one
const poolThreads = loadNativeAddon()?.getThreads() ?? 1;
const workerAt = poolThreads > 1 ? tasks.map((_, j) => j).filter((j) => j !== mainAt).sort((p, q) => total[q] - total[p])[0] : -1;
const others = (r: Row) => r.run.reduce((s, v, j) => (j === mainAt || j === workerAt ? s : s + v), 0);
console.log(`${a.model}, batch ${a.batch}, backend ${backend}, ${poolThreads} add-on thread(s): ${steps} steps after ${warmup} ` +
  `warm-up steps; ${tasks.length} threads, pool worker ${workerAt < 0 ? 'none' : `${tasks[workerAt]} (the busiest after the main thread)`}, ` +
  `other threads ${(total.reduce((s, v) => s + v, 0) - total[mainAt] - (workerAt < 0 ? 0 : total[workerAt])).toFixed(0)} ms on a CPU in all`);
console.log('| steps by wall time | wall ms | main: run / wait ms | pool worker: run / wait ms | other threads: run ms |');
console.log('| --- | ---: | ---: | ---: | ---: |');
const sorted = [...rows].sort((p, q) => p.wall - q.wall);
const q = Math.floor(steps / 4);
for (const [name, part] of [['fastest quarter', sorted.slice(0, q)], ['second', sorted.slice(q, 2 * q)], ['third', sorted.slice(2 * q, 3 * q)],
  ['slowest quarter', sorted.slice(3 * q)]] as const) {
  const avg = (f: (r: Row) => number) => (part.reduce((s, r) => s + f(r), 0) / part.length).toFixed(1);
  console.log(`| ${name} | ${avg((r) => r.wall)} | ${avg((r) => r.run[mainAt])} / ${avg((r) => r.wait[mainAt])} | ` +
    `${workerAt < 0 ? '—' : `${avg((r) => r.run[workerAt])} / ${avg((r) => r.wait[workerAt])}`} | ${avg(others)} |`);
}
