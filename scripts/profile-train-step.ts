/**
 * Where one training step of a shipped model spends its time, per tfjs kernel (`tf.profile`: each kernel's wall time
 * on the active backend, native-cpu by default), split into the kernels that run on BLAS (convs, their two backward
 * convs, matmuls) and everything else (tile, gathers / segment sums, transposes, element-wise chains, reductions…).
 * The step is training/train-tracker.ts's: `tf.variableGrads` over `stepLosses` with the model's own training config
 * (provenance: the IEN equivariance loss with its β, the optimiser) on random crops of the training geometry.
 * Analysis only (issue 15, part 2): no kernel is changed here.
 *
 *   node --import tsx scripts/profile-train-step.ts [--model ien-siamfc | siamfc | alexnet (paper size, random weights)] [--batch 8] [--reps 3] [--top 20] [--shapes] [--gap-ms 0]
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { tf } from '../tracker/tf.js';
import { initBackend } from '../tracker/node/backend.js';
import { trainStep } from './train-step-setup.js';

/** Kernels that are one BLAS call (or a few) on native-cpu: the GEMM-bound part of a step. */
export const BLAS_KERNELS = new Set(['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'FusedConv2D', 'MatMul', 'BatchMatMul', '_FusedMatMul', 'DepthwiseConv2dNative',
  'RotTrackGroupConv2D', 'RotTrackGroupConv2DBackpropInput', 'RotTrackGroupConv2DBackpropFilter']);

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'ien-siamfc' }, batch: { type: 'string', default: '8' },
    reps: { type: 'string', default: '3' }, top: { type: 'string', default: '20' }, shapes: { type: 'boolean', default: false },
    'gap-ms': { type: 'string', default: '0' },
  },
});
const backend = await initBackend({ log: () => {} });
const B = Number(a.batch);
const ts = await trainStep(a.model!, B);
const { net, run } = ts;
const spec = net.backbone.spec;
const g = ts.geometry;
console.log(`[profile] ${a.model} (${spec.name}, ${spec.equivariance.kind} ${spec.equivariance.groups}), training crops ${g.exemplarSize}/${g.searchSize}, batch ${B}, ` +
  `hooks: ${ts.hooks.join(', ') || 'none'}, optimiser ${ts.optimizer}; backend ${backend}, ${availableParallelism()} cores, ` +
  `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
run(); // warm-up
const wall: number[] = [];
for (let i = 0; i < Number(a.reps); i++) {
  // --gap-ms: idle time before each timed step, as bench:peer leaves between engines
  if (Number(a['gap-ms']) > 0) await new Promise((r) => setTimeout(r, Number(a['gap-ms'])));
  const t0 = performance.now();
  run();
  wall.push(performance.now() - t0);
}
wall.sort((p, q) => p - q);
const reps = Number(a.reps);
const by = new Map<string, { ms: number; calls: number }>();
let total = 0;
const t0 = performance.now();
for (let i = 0; i < reps; i++) {
  const info = await tf.profile(run);
  // `…__op` entries are tf.customGrad wrappers (e.g. fusedConv2d__op) whose kernels are listed on their own.
  for (const k of info.kernels.filter((e) => !e.name.endsWith('__op'))) {
    if (a.shapes && i === 0 && (BLAS_KERNELS.has(k.name) || Number(k.kernelTimeMs) >= 0.1)) console.log(`[call] ${k.name} ${k.inputShapes.map((sh) => JSON.stringify(sh)).join(' ')} → ${JSON.stringify(k.outputShapes)} ${Number(k.kernelTimeMs).toFixed(2)} ms`);
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = by.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms / reps;
    e.calls += 1 / reps;
    by.set(k.name, e);
    total += ms / reps;
  }
}
const profiledWall = (performance.now() - t0) / reps;
const rows = [...by.entries()].map(([kernel, e]) => ({ kernel, ...e, blas: BLAS_KERNELS.has(kernel) })).sort((p, q) => q.ms - p.ms);
const blas = rows.filter((r) => r.blas).reduce((s, r) => s + r.ms, 0);
console.log(`[profile] step wall time (not profiled) median ${wall[Math.floor(wall.length / 2)].toFixed(0)} ms, best ${wall[0].toFixed(0)} ms; ` +
  `profiled step ${profiledWall.toFixed(0)} ms, kernels ${total.toFixed(0)} ms (rest: tape, JS, GC ${(profiledWall - total).toFixed(0)} ms)`);
console.log(`[profile] BLAS kernels ${blas.toFixed(0)} ms (${(100 * blas / total).toFixed(0)}% of kernel time), outside BLAS ${(total - blas).toFixed(0)} ms ` +
  `(${(100 * (total - blas) / total).toFixed(0)}%)\n`);
console.log('| kernel | BLAS | calls / step | ms / step | share of kernel time |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const r of rows.slice(0, Number(a.top))) {
  console.log(`| ${r.kernel} | ${r.blas ? 'yes' : ''} | ${r.calls.toFixed(0)} | ${r.ms.toFixed(1)} | ${(100 * r.ms / total).toFixed(1)}% |`);
}
const rest = rows.slice(Number(a.top));
if (rest.length) console.log(`| ${rest.length} other kernels | | ${rest.reduce((s, r) => s + r.calls, 0).toFixed(0)} | ${rest.reduce((s, r) => s + r.ms, 0).toFixed(1)} | |`);
ts.dispose();
