#!/usr/bin/env node
// What handing a loop to a second thread costs: one BatchNorm forward pass (bnTrain with relu) over a [27848, 24] map —
// the CPU-scale SiamFC's first BN — timed 200 times at 1 and 2 threads, right after the previous call or after the JS
// thread has worked 0.1 / 1 ms (as it does between kernels of a training step). Median and p10 / p90.
//   node scripts/native-wake.cjs [path to rot_track_native.node]   (default: this checkout's build)
'use strict';
const path = require('node:path');
const A = require(path.resolve(process.argv[2] ?? path.join(__dirname, '../tracker/native/build/Release/rot_track_native.node')));
const rows = 27848;
const C = 24;
const n = rows * C;
const x = new Float32Array(n).map(() => Math.random());
const g = new Float32Array(C).fill(1);
const b = new Float32Array(C);
const y = new Float32Array(n);
const mean = new Float32Array(C);
const v = new Float32Array(C);
const p = Int32Array.from([rows, C, 1]);
const busy = (us) => {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
};
for (const gap of [0, 100, 1000]) {
  for (const t of [1, 2]) {
    A.setThreads(t);
    const ts = [];
    for (let i = 0; i < 200; i++) {
      busy(gap);
      const t0 = performance.now();
      A.bnTrain(x, g, b, y, mean, v, p, 1e-5, 1);
      ts.push(performance.now() - t0);
    }
    ts.sort((p1, p2) => p1 - p2);
    console.log(`JS work before each call ${gap} us, ${t} thread(s): median ${ts[100].toFixed(3)} ms, p10 ${ts[20].toFixed(3)}, p90 ${ts[180].toFixed(3)}`);
  }
}
