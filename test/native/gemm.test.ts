// The add-on's two GEMMs (tracker/native/src/gemm.h): in a build with oneDNN, ROT_TRACK_GEMM=openblas switches every
// conv to the system BLAS at run time. Both must give the same convolutions (forward, input and filter gradients, a
// grouped conv) within float rounding, and blasInfo() must name the one in use. The parity tests of the other files
// run on the default GEMM; this covers the other one in a child process (the choice is read once per process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon } from '../../tracker/node/native-backend.js';
import { nativeOrSkip, relErr } from './util.js';

const reg = nativeOrSkip();
const skip = !reg.ok;
const ADDON = process.env.ROT_TRACK_NATIVE_ADDON
  || fileURLToPath(new URL('../../tracker/native/build/Release/rot_track_native.node', import.meta.url));

// A child that runs the three conv kernels (and a 2-group conv) on fixed pseudo-random data at 2 threads and prints
// blasInfo() and the outputs as JSON.
const CHILD = `
  const a = require(process.argv[1]);
  a.setThreads(2);
  let s = 7;
  const rnd = (n) => Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
  const p = Int32Array.from([2, 21, 21, 6, 10, 10, 12, 3, 3, 2, 2, 1, 1, 0, 0]);
  const x = rnd(2 * 21 * 21 * 6), w = rnd(3 * 3 * 6 * 12), dy = rnd(2 * 10 * 10 * 12);
  const y = new Float32Array(dy.length), dx = new Float32Array(x.length), dw = new Float32Array(w.length);
  a.conv2d(x, w, y, p, null, 0, 0);
  a.conv2dBackpropInput(dy, w, dx, p);
  a.conv2dBackpropFilter(x, dy, dw, p);
  const out = { info: a.blasInfo(), y: [...y], dx: [...dx], dw: [...dw] };
  if (a.convGroups && a.convGroups()) {
    const pg = Int32Array.from([2, 21, 21, 6, 10, 10, 12, 3, 3, 2, 2, 1, 1, 0, 0, 2]);
    const wg = rnd(3 * 3 * 3 * 12), yg = new Float32Array(dy.length);
    a.conv2d(x, wg, yg, pg, null, 0, 0);
    out.yg = [...yg];
  }
  process.stdout.write(JSON.stringify(out));`;

function runChild(gemm: string | undefined): { info: string; y: number[]; dx: number[]; dw: number[]; yg?: number[] } {
  const env = { ...process.env };
  delete env.ROT_TRACK_GEMM;
  if (gemm) env.ROT_TRACK_GEMM = gemm;
  return JSON.parse(execFileSync(process.execPath, ['-e', CHILD, ADDON], { env, encoding: 'utf8' }));
}

test('oneDNN and system-BLAS GEMMs give the same convs; blasInfo names the GEMM in use', { skip }, (t) => {
  const info = loadNativeAddon()!.blasInfo();
  if (!info.startsWith('oneDNN')) {
    // .ci/run installs libdnnl-dev, so a CI build without oneDNN is a broken build
    assert.notEqual(process.env.CI, 'true', `CI=true but the add-on was built without oneDNN (${info})`);
    t.skip(`this build has no oneDNN GEMM (${info}): only the system BLAS to test`);
    return;
  }
  const dnnl = runChild(undefined);
  const blas = runChild('openblas');
  assert.match(dnnl.info, /^oneDNN \d+\.\d+\.\d+ sgemm/);
  assert.match(blas.info, /^system BLAS sgemm; system BLAS: /);
  for (const k of ['y', 'dx', 'dw', 'yg'] as const) {
    if (!dnnl[k] || !blas[k]) continue;
    const e = relErr(dnnl[k]!, blas[k]!);
    assert.ok(e < 1e-5, `${k}: oneDNN and system BLAS differ by ${e}`);
  }
});
