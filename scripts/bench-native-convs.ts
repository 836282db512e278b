/**
 * AlexNet's training convs (batch 8, the paper's 127/239 crops) on the native add-on: im2col + sgemm against oneDNN's
 * primitives — Winograd for the large 3×3 stride-1 convs, grouped ones too (tracker/native/src/dnnl_conv.h) — forward,
 * input gradient and filter gradient, the two interleaved, median ms of `--reps` runs after one warm-up, and the kernel
 * oneDNN runs each on (`convImpl`). The measurement behind dnnl_conv.h's session-15 notes.
 *
 *   node --import tsx scripts/bench-native-convs.ts [--threads 2] [--reps 5]
 */
import { parseArgs } from 'node:util';
import { loadNativeAddon } from '../tracker/node/native-backend.js';

const { values: a } = parseArgs({ options: { threads: { type: 'string', default: '2' }, reps: { type: 'string', default: '5' } } });
const threads = Number(a.threads), reps = Number(a.reps);
if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads ${a.threads}: expected a whole number ≥ 1`);
if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps ${a.reps}: expected a whole number ≥ 1`);
const addon = loadNativeAddon();
if (!addon?.convImpl || !addon.setConvEngine) {
  console.log('[bench-native-convs] the native add-on is not built with oneDNN: nothing to compare (see tracker/native/README.md)');
  process.exit(0);
}
addon.setThreads(threads);

// [B, H, W, C, OH, OW, OC, KH, KW, sh, sw, dh, dw, padTop, padLeft, groups]: AlexNet's convs, search and exemplar branch
const CONVS: [string, number[]][] = [
  ['conv1 11×11 s2, search', [8, 239, 239, 3, 115, 115, 96, 11, 11, 2, 2, 1, 1, 0, 0, 1]],
  ['conv2 5×5 g2, search', [8, 57, 57, 96, 53, 53, 256, 5, 5, 1, 1, 1, 1, 0, 0, 2]],
  ['conv2 5×5 g2, exemplar', [8, 29, 29, 96, 25, 25, 256, 5, 5, 1, 1, 1, 1, 0, 0, 2]],
  ['conv3 3×3, search', [8, 26, 26, 256, 24, 24, 384, 3, 3, 1, 1, 1, 1, 0, 0, 1]],
  ['conv3 3×3, exemplar', [8, 12, 12, 256, 10, 10, 384, 3, 3, 1, 1, 1, 1, 0, 0, 1]],
  ['conv4 3×3 g2, search', [8, 24, 24, 384, 22, 22, 384, 3, 3, 1, 1, 1, 1, 0, 0, 2]],
  ['conv4 3×3 g2, exemplar', [8, 10, 10, 384, 8, 8, 384, 3, 3, 1, 1, 1, 1, 0, 0, 2]],
  ['conv5 3×3 g2, search', [8, 22, 22, 384, 20, 20, 256, 3, 3, 1, 1, 1, 1, 0, 0, 2]],
];

const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
const time = (f: () => void) => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};

console.log(`| conv (batch 8, ${threads} thread(s)) | im2col fwd / input grad / filter grad ms | oneDNN ms | oneDNN's kernels |`);
console.log('| --- | --- | --- | --- |');
for (const [name, dims] of CONVS) {
  const p = Int32Array.from(dims);
  const [B, H, W, C, OH, OW, OC, KH, KW] = dims;
  const G = dims[15];
  const x = new Float32Array(B * H * W * C).fill(0.5), w = new Float32Array(KH * KW * (C / G) * OC).fill(0.01);
  const y = new Float32Array(B * OH * OW * OC), dy = new Float32Array(y.length).fill(0.1);
  const dx = new Float32Array(x.length), dw = new Float32Array(w.length);
  const ms: Record<number, number[][]> = { 0: [[], [], []], 7: [[], [], []] };
  for (let rep = 0; rep <= reps; rep++) {
    for (const mask of [0, 7]) {
      addon.setConvEngine(mask);
      const t = [time(() => addon.conv2d(x, w, y, p, null, 1, 0)), time(() => addon.conv2dBackpropInput(dy, w, dx, p)),
        time(() => addon.conv2dBackpropFilter(x, dy, dw, p))];
      if (rep > 0) t.forEach((v, k) => ms[mask][k].push(v)); // rep 0 warms up (oneDNN compiles its kernels)
    }
  }
  addon.setConvEngine(7);
  const impl = (['f', 'd', 'w'] as const).map((k) => addon.convImpl!(p, k) ?? 'im2col').join(', ');
  const fmt = (m: number) => ms[m].map((v) => median(v).toFixed(1)).join(' / ');
  console.log(`| ${name} | ${fmt(0)} | ${fmt(7)} | ${impl} |`);
}
addon.setConvEngine(-1);
