// The add-on's GEMMs while signal handlers keep interrupting them: `node --cpu-prof` samples the JS thread with SIGPROF
// every ~1 ms. oneDNN 2.6's sgemm corrupted the heap when a handler ran during the call (glibc aborted with "corrupted
// size vs. prev_size"; reproduced in plain C++ with a 100 µs SIGPROF timer), so the add-on blocks async signals around
// each oneDNN GEMM (src/gemm.h). A child process runs convs and GEMMs of a training step's shapes under the profiler,
// with glibc's heap checks on, and must exit cleanly. (oneDNN's conv primitives, run here too, did not show the fault.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeOrSkip } from './util.js';

const reg = nativeOrSkip();
const ADDON = process.env.ROT_TRACK_NATIVE_ADDON
  || fileURLToPath(new URL('../../tracker/native/build/Release/rot_track_native.node', import.meta.url));

const CHILD = `
  const a = require(process.argv[1]);
  a.setThreads(Number(process.argv[2]));
  // every oneDNN conv primitive too (forward and both gradients), where the build has them
  if (a.setConvEngine) a.setConvEngine(7);
  const f = (n) => new Float32Array(n).fill(0.5);
  // sgemm shapes of a CPU-scale step (M × N × K), and its conv2 forward and gradients
  const gemms = [[25992, 24, 75], [5832, 48, 216], [5000, 96, 432], [75, 24, 25992], [512, 512, 512]];
  const p = Int32Array.from([8, 29, 29, 24, 25, 25, 64, 5, 5, 1, 1, 1, 1, 0, 0]);
  const x = f(8 * 29 * 29 * 24), w = f(5 * 5 * 24 * 64), y = f(8 * 25 * 25 * 64), dx = f(x.length), dw = f(w.length);
  const until = Date.now() + 2500;
  let n = 0;
  while (Date.now() < until) {
    for (const [M, N, K] of gemms) a.sgemm(f(M * K), f(K * N), f(M * N), M, N, K);
    a.conv2d(x, w, y, p, null, 1, 0);
    a.conv2dBackpropInput(y, w, dx, p);
    a.conv2dBackpropFilter(x, y, dw, p);
    n++;
  }
  process.stdout.write(String(n));`;

for (const threads of [1, 2]) {
  test(`GEMMs and convs under node --cpu-prof (SIGPROF every ms), ${threads} thread(s): no heap corruption`, { skip: !reg.ok }, () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rot-sig-'));
    try {
      const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '500', '-e', CHILD, ADDON, String(threads)],
        { env: { ...process.env, MALLOC_CHECK_: '3' }, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.signal, null, `the child died of ${r.signal}: ${r.stderr.slice(-400)}`);
      assert.equal(r.status, 0, `the child exited ${r.status}: ${r.stderr.slice(-400)}`);
      assert.ok(Number(r.stdout) > 0, `the child ran no iteration (stdout "${r.stdout}")`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
