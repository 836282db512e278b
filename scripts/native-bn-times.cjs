#!/usr/bin/env node
// Times the native BatchNorm kernels (bnTrain with a fused relu, and its gradient) at 1 and 2 threads on SiamFC-sized
// tensors, best of 50: node scripts/native-bn-times.cjs [rot_track_native.node]   (NORELU=1: the gradient without relu)
'use strict';
const A = require(require('node:path').resolve(process.argv[2] ?? 'tracker/native/build/Release/rot_track_native.node'));
const shapes = [[27848, 24], [8*27*27, 48], [8*115*115, 96], [8*11*11,64]];
for (const [rows, C] of shapes) {
  const n = rows * C;
  const x = new Float32Array(n).map(() => Math.random()), dy = new Float32Array(n).map(() => Math.random());
  const g = new Float32Array(C).fill(1), b = new Float32Array(C), y = new Float32Array(n), mean = new Float32Array(C), v = new Float32Array(C);
  const dx = new Float32Array(n), dg = new Float32Array(C), db = new Float32Array(C);
  const p = Int32Array.from([rows, C, 1]);
  const res = [];
  for (const t of [1, 2, 1, 2]) {
    A.setThreads(t);
    let best = 1e9, bestG = 1e9;
    for (let i = 0; i < 50; i++) {
      let t0 = performance.now(); A.bnTrain(x, g, b, y, mean, v, p, 1e-5, 1); best = Math.min(best, performance.now() - t0);
      t0 = performance.now(); A.bnTrainGrad(x, dy, mean, v, g, null, null, dx, dg, db, p, 1e-5, process.env.NORELU ? null : y); bestG = Math.min(bestG, performance.now() - t0);
    }
    res.push(`t${t}: fwd ${best.toFixed(3)} grad ${bestG.toFixed(3)}`);
  }
  console.log(rows, C, (n * 4 / 1e6).toFixed(1) + ' MB', res.join(' | '));
}
