// The native add-on's environment switches (tracker/node/native-env.ts): a bad value is an error naming the variable,
// before the C++ would read it as its default; and a process started with one says so and exits, not a silent default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { nativeEnvProblem } from '../../tracker/node/native-env.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

test('native switches: accepted values, and errors that name the variable and what it takes', () => {
  assert.equal(nativeEnvProblem({}), null);
  assert.equal(nativeEnvProblem({ ROT_TRACK_CONV: '' }), null);
  for (const v of ['auto', 'dnnl', 'dnnl-forward', 'im2col']) assert.equal(nativeEnvProblem({ ROT_TRACK_CONV: v }), null);
  assert.equal(nativeEnvProblem({ ROT_TRACK_GEMM: 'openblas', ROT_TRACK_SPIN_US: '0', ROT_TRACK_THREADS: '2' }), null);
  assert.equal(nativeEnvProblem({ ROT_TRACK_CONV: 'dnn' }), 'ROT_TRACK_CONV="dnn": expected auto, dnnl, dnnl-forward or im2col (or unset for the default)');
  assert.match(nativeEnvProblem({ ROT_TRACK_GEMM: 'mkl' }) ?? '', /^ROT_TRACK_GEMM="mkl": expected dnnl or openblas/);
  assert.match(nativeEnvProblem({ ROT_TRACK_SPIN_US: '-5' }) ?? '', /^ROT_TRACK_SPIN_US="-5": expected a whole number of microseconds/);
  assert.match(nativeEnvProblem({ ROT_TRACK_SPIN_US: '1e3' }) ?? '', /ROT_TRACK_SPIN_US/);
  assert.match(nativeEnvProblem({ ROT_TRACK_THREADS: '0' }) ?? '', /^ROT_TRACK_THREADS="0": expected a whole number ≥ 1/);
  assert.match(nativeEnvProblem({ ROT_TRACK_THREADS: 'two' }) ?? '', /ROT_TRACK_THREADS="two"/);
  assert.equal(nativeEnvProblem({ ROT_TRACK_NET_SPLIT: '0' }), null);
  assert.match(nativeEnvProblem({ ROT_TRACK_NET_SPLIT: 'off' }) ?? '', /^ROT_TRACK_NET_SPLIT="off": expected 0 or 1/);
  assert.equal(nativeEnvProblem({ ROT_TRACK_WINO_GROUPS: '0' }), null);
  assert.match(nativeEnvProblem({ ROT_TRACK_TRAIN_WINO: 'yes' }) ?? '', /^ROT_TRACK_TRAIN_WINO="yes": expected 0 or 1/);
  assert.equal(nativeEnvProblem({ ROT_TRACK_PIN: 'all' }), null);
  assert.match(nativeEnvProblem({ ROT_TRACK_PIN: '1' }) ?? '', /^ROT_TRACK_PIN="1": expected none, workers or all/);
  assert.match(nativeEnvProblem({ ROT_TRACK_WINO_GROUPS: 'no' }) ?? '', /^ROT_TRACK_WINO_GROUPS="no": expected 0 or 1/);
});

test('a process with a bad switch stops with one line naming it (no silent default, no fallback to another backend)', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e',
    "const { initBackend } = await import('./tracker/node/backend.ts'); console.log(await initBackend({ backend: 'native-cpu', log: () => {} }));"],
  { cwd: ROOT, env: { ...process.env, ROT_TRACK_CONV: 'dnn' }, encoding: 'utf8', timeout: 60_000 });
  assert.notEqual(r.status, 0, `exited 0: ${r.stdout}`);
  assert.match(r.stderr, /native add-on: ROT_TRACK_CONV="dnn": expected auto, dnnl, dnnl-forward or im2col/);
});
