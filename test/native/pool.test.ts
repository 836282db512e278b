// The add-on's persistent worker pool (tracker/native/src/pool.h): thousands of back-to-back jobs of mixed sizes and
// thread counts (more threads than cores, workers asleep and spinning) give the one-thread results; two JS threads
// running convs at once (the OPE evaluation's worker_threads) neither corrupt each other's im2col buffers nor hang;
// the workers are pinned off their first caller's CPU (ROT_TRACK_PIN); and the output-buffer pool (tracker/node/buffer-pool.ts) never recycles an array that escaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tf } from '../../tracker/tf.js';
import { loadNativeAddon, type NativeAddon } from '../../tracker/node/native-backend.js';
import { Float32Pool, outputPool } from '../../tracker/node/buffer-pool.js';
import { mulberry32 } from '../../tracker/random.js';
import { nativeOrSkip, relErr } from './util.js';

const reg = nativeOrSkip();
const skip = !reg.ok;

// A 3×3 conv of a [4, 33, 33, 8] batch to 16 channels: 3,844 output rows, split over up to 7 row blocks.
const P = Int32Array.from([4, 33, 33, 8, 31, 31, 16, 3, 3, 1, 1, 1, 1, 0, 0]);
const random = (n: number, seed: number) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
};
const X = random(4 * 33 * 33 * 8, 1);
const W = random(3 * 3 * 8 * 16, 2);
const Y = 4 * 31 * 31 * 16;

function withThreads<T>(a: NativeAddon, n: number, fn: () => T): T {
  const before = a.getThreads();
  a.setThreads(n);
  try {
    return fn();
  } finally {
    a.setThreads(before);
  }
}

test('worker pool: 3,000 mixed jobs at 1–4 threads give the one-thread results', { skip }, () => {
  const a = loadNativeAddon()!;
  const ref = withThreads(a, 1, () => {
    const y = new Float32Array(Y);
    a.conv2d(X, W, y, P, null, 1, 0);
    return y;
  });
  const big = random(300_000, 3);
  const negRef = big.map((v) => -v);
  let worst = 0;
  for (let i = 0; i < 3000; i++) {
    withThreads(a, 1 + (i % 4), () => {
      if (i % 3 === 0) {
        const y = new Float32Array(Y);
        a.conv2d(X, W, y, P, null, 1, 0);
        worst = Math.max(worst, relErr(y, ref));
      } else {
        const y = new Float32Array(big.length);
        a.unary(2, big, y, big.length, 0);
        assert.deepEqual(y, negRef, `job ${i}: the negation differs`);
      }
    });
    // now and then leave the workers long enough to fall asleep (ROT_TRACK_SPIN_US, default 200 µs)
    if (i % 500 === 499) {
      const until = performance.now() + 2;
      while (performance.now() < until);
    }
  }
  assert.ok(worst < 1e-5, `conv results differ from one thread by ${worst}`);
});

test('worker pool: the calling thread always runs part 0, every part runs once per job', { skip }, () => {
  const a = loadNativeAddon()!;
  assert.ok(a.poolProbe, 'this build has poolProbe');
  for (const parts of [2, 3, 5]) {
    // 3,000 jobs each: workers spinning between jobs (they could claim part 0 before the caller did, before session 14)
    const onCaller = a.poolProbe(parts, 3000);
    assert.equal(onCaller[0], 3000, `${parts} parts: part 0 ran on the caller in ${onCaller[0]} of 3,000 jobs`);
  }
  // the workers, woken, take parts too: the pool is not running everything on the caller
  const spread = a.poolProbe(2, 3000);
  assert.ok(spread[1] < 3000, `part 1 ran on the caller in all 3,000 jobs: no worker ever took it`);
  assert.throws(() => a.poolProbe!(1, 10), /parts must be in \[2, 64\]/);
});

test('pinning: the worker on one CPU and the caller free after its job (default all, workers), nothing pinned (none)', { skip }, (t) => {
  // a child process per setting (the pool reads ROT_TRACK_PIN once): its allowed CPUs, a job, then its threads' CPUs —
  // the main thread (the caller) and the one thread made since (the worker)
  const child = `
    import { readFileSync, readdirSync } from 'node:fs';
    import { loadNativeAddon } from './tracker/node/native-backend.ts';
    const cpusOf = (id) => readFileSync('/proc/self/task/' + id + '/status', 'utf8').match(/Cpus_allowed_list:\\s*(\\S+)/)[1];
    const a = loadNativeAddon();
    a.setThreads(2);
    const before = readdirSync('/proc/self/task');
    const allowed = cpusOf(process.pid);
    a.poolProbe(2, 50);
    const made = readdirSync('/proc/self/task').filter((id) => !before.includes(id));
    console.log(JSON.stringify({ allowed, caller: cpusOf(process.pid), workers: made.map(cpusOf) }));`;
  const run = (pin: string | undefined) => {
    const env = { ...process.env, ROT_TRACK_PIN: pin };
    if (pin === undefined) delete env.ROT_TRACK_PIN;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { env, encoding: 'utf8', cwd: process.cwd() });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { allowed: string; caller: string; workers: string[] };
  };
  const single = /^\d+$/;
  const byDefault = run(undefined);
  if (single.test(byDefault.allowed)) {
    assert.notEqual(process.env.CI, 'true', 'CI runs on 2 cores or more');
    t.skip(`one CPU allowed (${byDefault.allowed}): nothing to pin apart`);
    return;
  }
  // the caller is held on its CPU only while it runs a job: its own mask afterwards (threads it starts are not pinned)
  assert.equal(byDefault.caller, byDefault.allowed, `the calling thread free again after its jobs: ${JSON.stringify(byDefault)}`);
  assert.equal(byDefault.workers.length, 1, `one worker made: ${JSON.stringify(byDefault)}`);
  assert.match(byDefault.workers[0], single, `the worker pinned to one CPU: ${JSON.stringify(byDefault)}`);
  const workers = run('workers');
  assert.equal(workers.caller, workers.allowed);
  assert.match(workers.workers[0], single, `ROT_TRACK_PIN=workers: ${JSON.stringify(workers)}`);
  const none = run('none');
  assert.deepEqual([none.caller, ...none.workers], [none.allowed, none.allowed], `ROT_TRACK_PIN=none: nothing pinned: ${JSON.stringify(none)}`);
});

test('two JS threads running convs at once on the add-on get the one-thread results', { skip }, async () => {
  const a = loadNativeAddon()!;
  const ref = withThreads(a, 1, () => {
    const y = new Float32Array(Y);
    a.conv2d(X, W, y, P, null, 1, 0);
    return y;
  });
  const addonPath = process.env.ROT_TRACK_NATIVE_ADDON
    || new URL('../../tracker/native/build/Release/rot_track_native.node', import.meta.url).pathname;
  // Each worker runs 150 convs at 2 threads and reports the largest relative difference from `ref`.
  const code = `
    const { parentPort, workerData: d } = require('node:worker_threads');
    const a = require(d.addonPath);
    a.setThreads(2);
    let worst = 0;
    for (let i = 0; i < 150; i++) {
      const y = new Float32Array(d.ref.length);
      a.conv2d(d.x, d.w, y, d.p, null, 1, 0);
      let diff = 0, scale = 0;
      for (let j = 0; j < y.length; j++) { diff = Math.max(diff, Math.abs(y[j] - d.ref[j]) || (y[j] === d.ref[j] ? 0 : Infinity)); scale = Math.max(scale, Math.abs(d.ref[j])); }
      worst = Math.max(worst, diff / scale);
    }
    parentPort.postMessage(worst);`;
  const run = () => new Promise<number>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { addonPath, ref, x: X, w: W, p: P } });
    const timer = setTimeout(() => { void w.terminate(); reject(new Error('a worker did not finish in 60 s (deadlock?)')); }, 60_000);
    w.once('message', (m: number) => { clearTimeout(timer); resolve(m); void w.terminate(); });
    w.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
  const worst = await Promise.all([run(), run()]);
  for (const e of worst) assert.ok(e < 1e-5, `a worker's convs differ from one thread by ${e}`);
});

test('output pool: reuses disposed outputs, never an array read by dataSync or shared by a slice view', { skip }, () => {
  tf.setBackend('native-cpu');
  const n = 4096;
  const x = tf.tensor1d(random(n, 4));
  // reuse: outputs of length n, each disposed right away (tidy), then computed again
  const churn = () => {
    for (let i = 0; i < 20; i++) tf.tidy(() => tf.square(tf.exp(tf.neg(x))).dataSync());
  };
  // an output that was read: its array may be held by the caller and must never be rewritten
  const y1 = tf.abs(x); // churn() computes other values: a reuse of this array would show
  const read = y1.dataSync();
  const kept = Float32Array.from(read);
  y1.dispose();
  const hitsBefore = outputPool.stats().hits;
  churn();
  assert.ok(outputPool.stats().hits > hitsBefore, 'disposed outputs are taken again from the pool');
  assert.deepEqual(read, kept, 'an array returned by dataSync was rewritten after its tensor was disposed');
  // an output with a live slice view of it (the cpu Slice kernel shares the buffer); the view's values are compared
  // by copying them out before and after, through a new tensor (a dataSync of the view itself would escape its buffer)
  const y2 = tf.abs(x);
  const y2r = y2.reshape([2, n / 2]);
  const view = tf.slice(y2r, [1, 0], [1, n / 2]);
  const snapshot = () => tf.tidy(() => Float32Array.from(tf.add(view, 0).dataSync()));
  const viewBefore = snapshot();
  y2.dispose();
  y2r.dispose();
  churn();
  assert.deepEqual(snapshot(), viewBefore, 'a slice view changed after its parent was disposed');
  view.dispose();
  x.dispose();
});

test('Float32Pool: exact lengths, a byte bound that drops the least recently returned length first', () => {
  const pool = new Float32Pool(2 * 4096 * 4, 1024);
  const take = (n: number, id: object) => {
    const a = pool.take(n);
    pool.bind(a, id);
    return a;
  };
  const ids = [{}, {}, {}, {}];
  const a = take(4096, ids[0]);
  const b = take(4096, ids[1]);
  const c = take(2048, ids[2]);
  pool.release(a, ids[0]);
  pool.release(b, ids[1]);
  pool.release(c, ids[2]);
  // 2 × 4096 + 2048 floats exceed the bound of 2 × 4096: one array of the least recently returned length (4096) goes
  assert.equal(pool.stats().freeBytes, (4096 + 2048) * 4);
  assert.equal(pool.stats().dropped, 1);
  assert.equal(pool.take(2048), c, 'same length: the returned array');
  assert.ok([a, b].includes(pool.take(4096)), 'the 4096-float array kept');
  assert.notEqual(pool.take(1000), c, 'below the minimum length: never pooled');
  // releasing with the wrong id, or an array that escaped, does nothing
  const d = take(4096, ids[3]);
  pool.escape(d.subarray(1));
  pool.release(d, ids[3]);
  assert.ok(![pool.take(4096), pool.take(4096)].includes(d), 'an escaped array is never handed out again');
});
