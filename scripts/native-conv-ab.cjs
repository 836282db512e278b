#!/usr/bin/env node
// A/B of two builds of the native add-on's convs (forward, input and filter gradients) on AlexNet's and the CPU-scale
// SiamFC's training shapes, interleaved, median of 6 runs each, in one process:
//   node scripts/native-conv-ab.cjs <old rot_track_native.node> <new rot_track_native.node>
// T=2 for 2 threads; FRESH=1 allocates every output anew (the page faults a tfjs kernel pays).
'use strict';
const [oldPath, newPath] = process.argv.slice(2);
if (!oldPath || !newPath) {
  console.error('usage: node scripts/native-conv-ab.cjs <old .node> <new .node>');
  process.exit(2);
}
const oldA = require(require('node:path').resolve(oldPath));
const newA = require(require('node:path').resolve(newPath));
const threads = +(process.env.T || 1);
oldA.setThreads(threads); newA.setThreads(threads);
const shapes = [ // B,H,W,C,OH,OW,OC,KH,KW,sh,sw
  [8,239,239,3,115,115,96,11,11,2,2], [8,57,57,48,53,53,128,5,5,1,1], [8,26,26,256,24,24,384,3,3,1,1], [8,24,24,192,22,22,192,3,3,1,1],
  // the CPU-scale SiamFC's search-branch convs (65/121 training crops)
  [8,121,121,3,59,59,24,5,5,2,2], [8,29,29,24,25,25,64,5,5,1,1], [8,25,25,64,23,23,96,3,3,1,1], [8,23,23,96,21,21,64,3,3,1,1]];
const fresh = process.env.FRESH === '1';
for (const s of shapes) {
  const [B,H,W,C,OH,OW,OC,KH,KW,sh,sw] = s;
  const p = Int32Array.from([B,H,W,C,OH,OW,OC,KH,KW,sh,sw,1,1,0,0]);
  const x = new Float32Array(B*H*W*C).map(() => Math.random()-0.5), w = new Float32Array(KH*KW*C*OC).map(() => Math.random()-0.5);
  let y = new Float32Array(B*OH*OW*OC), dy = new Float32Array(B*OH*OW*OC).map(() => Math.random()-0.5);
  let dx = new Float32Array(x.length), dw = new Float32Array(w.length);
  const fl = 2*B*OH*OW*OC*KH*KW*C/1e9;
  const res = {};
  for (let rep = 0; rep < 7; rep++) for (const [name, A] of (rep % 2 ? [['old', oldA], ['new', newA]] : [['new', newA], ['old', oldA]])) {
    for (const [op, f] of [['fwd', () => A.conv2d(x, w, fresh ? new Float32Array(y.length) : y, p, null, 0, 0)],
                           ['dx', () => A.conv2dBackpropInput(dy, w, fresh ? new Float32Array(dx.length) : dx, p)],
                           ['dw', () => A.conv2dBackpropFilter(x, dy, dw, p)]]) {
      const t0 = performance.now(); f(); const t = performance.now() - t0;
      const k = name + ' ' + op; if (rep > 0) (res[k] ??= []).push(t);
    }
  }
  const med = a => a.sort((u, v) => u - v)[a.length >> 1];
  console.log(`[${s.slice(0,9)}] ${fl.toFixed(2)} GFLOP:`, ['fwd','dx','dw'].map(op => `${op} old ${med(res['old '+op]).toFixed(1)} new ${med(res['new '+op]).toFixed(1)} ms`).join(' | '));
}
// The ceiling: one large square sgemm through the new build (row-major C = A·B), best of 5.
for (const n of [1024, 2048]) {
  const a = new Float32Array(n * n).fill(0.5), b = new Float32Array(n * n).fill(0.25), c = new Float32Array(n * n);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    newA.sgemm(a, b, c, n, n, n);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`sgemm ${n}³ (${threads} thread${threads > 1 ? 's' : ''}): ${(2 * n ** 3 / best / 1e6).toFixed(0)} GFLOP/s`);
}
