// Backend selection: 'auto' order, ROT_TRACK_BACKEND and --backend overrides, errors, the one-line log, one engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { describeBackend, registerWasmTrainingKernels, setBackend } from '../../tracker/backend.js';
import { registerNativeBackend } from '../../tracker/node/native-backend.js';
import {
  availableBackends, backendFromArgv, initBackend, loadTfjsNode, tfjsCoreCopies, type InitBackendOptions,
} from '../../tracker/node/backend.js';

// These tests describe a machine without tfjs-node (an optional dependency whose install downloads libtensorflow,
// which fails offline): the project's machines and CI today. The optional native-cpu add-on may or may not be built
// (CI builds it): 'auto' picks it when it is, wasm otherwise.
const tfjsNodeInstalled = (await loadTfjsNode()).ok;
const skipIfTfjsNode = { skip: tfjsNodeInstalled ? 'tfjs-node is installed here' : false };
const native = registerNativeBackend();
const AUTO = native.ok ? 'native-cpu' : 'wasm';
const AVAILABLE = native.ok ? ['native-cpu', 'wasm', 'cpu'] : ['wasm', 'cpu'];

/** initBackend with no flag and no env var unless given, collecting its log lines. */
async function init(opts: Omit<InitBackendOptions, 'log'> = {}) {
  const lines: string[] = [];
  const name = await initBackend({ argv: [], env: {}, ...opts, log: (m) => lines.push(m) });
  return { name, lines };
}

test('backendFromArgv reads --backend <name> and --backend=<name>, the last one winning', () => {
  assert.equal(backendFromArgv([]), undefined);
  assert.equal(backendFromArgv(['train', '--epochs', '3']), undefined);
  assert.equal(backendFromArgv(['--backend', 'cpu']), 'cpu');
  assert.equal(backendFromArgv(['--backend=wasm', 'x.json']), 'wasm');
  assert.equal(backendFromArgv(['--backend=wasm', '--backend', 'cpu']), 'cpu');
  assert.equal(backendFromArgv(['--backend-file', 'x']), undefined, 'only the exact flag');
  assert.throws(() => backendFromArgv(['--backend']), /--backend needs a value: one of auto, tensorflow, native-cpu, wasm, cpu, webgl/);
  assert.throws(() => backendFromArgv(['--backend', '--epochs', '3']), /--backend needs a value/);
});

test("'auto' picks native-cpu when built, else wasm, and logs the reason once", skipIfTfjsNode, async () => {
  const first = await init();
  assert.equal(first.name, AUTO);
  assert.equal(tf.getBackend(), AUTO);
  assert.equal(first.lines.length, 1);
  assert.match(first.lines[0], native.ok
    ? /^\[backend\] native-cpu \(.+\) — tfjs-node not installed: .*tfjs-node/
    : /^\[backend\] wasm \((no )?SIMD, 1 thread\) — tfjs-node not installed: .*tfjs-node.*native-cpu unavailable/);
  // Every entry point may call initBackend: the same choice is not logged again.
  const again = await init();
  assert.equal(again.name, AUTO);
  assert.deepEqual(again.lines, []);
});

test('the tfjs-node import fails cleanly with a reason, and only once', skipIfTfjsNode, async () => {
  const r = await loadTfjsNode();
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.reason, /^tfjs-node not installed: Cannot find (package|module) '@tensorflow\/tfjs-node'/);
  assert.equal(await loadTfjsNode(), r, 'memoised');
  assert.deepEqual(await availableBackends(), AVAILABLE);
});

test('ROT_TRACK_BACKEND overrides the program choice, --backend overrides both', skipIfTfjsNode, async () => {
  let r = await init({ backend: 'wasm', env: { ROT_TRACK_BACKEND: 'cpu' } });
  assert.equal(r.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.match(r.lines[0], /^\[backend\] cpu \(plain JavaScript\) — requested by ROT_TRACK_BACKEND$/);
  r = await init({ backend: 'cpu', env: { ROT_TRACK_BACKEND: 'cpu' }, argv: ['--backend', 'wasm'] });
  assert.equal(r.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(r.lines[0], /requested by --backend$/);
  r = await init({ backend: 'cpu', argv: ['--backend=auto'] });
  assert.equal(r.name, AUTO, "--backend=auto overrides the program's cpu");
  r = await init({ backend: 'cpu', env: { ROT_TRACK_BACKEND: '' } });
  assert.equal(r.name, 'cpu', 'an empty variable is unset');
  assert.match(r.lines[0], /requested by initBackend option$/);
});

test('an unknown backend is an error listing the known and the available ones', skipIfTfjsNode, async () => {
  await assert.rejects(init({ env: { ROT_TRACK_BACKEND: 'gpu' } }), (err: Error) => {
    assert.equal(err.message, "Unknown backend 'gpu' (from ROT_TRACK_BACKEND). Known: auto, tensorflow, native-cpu, wasm, cpu, webgl; " +
      `available here: ${AVAILABLE.join(', ')}.`);
    return true;
  });
  await assert.rejects(init({ argv: ['--backend=WASM'] }), /Unknown backend 'WASM' \(from --backend\)/);
});

test('an unavailable explicit backend is an error with the reason and the available ones', skipIfTfjsNode, async () => {
  await assert.rejects(init({ argv: ['--backend', 'tensorflow'] }),
    new RegExp(`^Error: Backend 'tensorflow' \\(from --backend\\) is not available: tfjs-node not installed: .*Available here: ${AVAILABLE.join(', ')}\\.$`));
  if (native.ok) assert.equal((await init({ backend: 'native-cpu' })).name, 'native-cpu');
  else {
    await assert.rejects(init({ backend: 'native-cpu' }),
      /^Error: Backend 'native-cpu' \(from initBackend option\) is not available: native-cpu unavailable: .*Available here: wasm, cpu\.$/);
  }
  await assert.rejects(init({ env: { ROT_TRACK_BACKEND: 'webgl' } }), /webgl needs a browser/);
});

test("'auto' takes native-cpu whenever it is registered (a stand-in without the add-on); asking for it by name works", skipIfTfjsNode, async () => {
  let standIn = false;
  if (!native.ok) {
    // Stand-in for the add-on on machines without it: a second cpu backend instance under the name 'native-cpu'.
    const cpuBackend = tf.findBackend('cpu');
    assert.ok(cpuBackend);
    const Ctor = cpuBackend.constructor as new () => tf.KernelBackend;
    tf.registerBackend('native-cpu', () => new Ctor(), 0);
    tf.copyRegisteredKernels('cpu', 'native-cpu');
    standIn = true;
  }
  try {
    assert.equal((await init()).name, 'native-cpu');
    assert.equal((await init({ argv: ['--backend', 'wasm'] })).name, 'wasm');
    assert.equal((await init({ argv: ['--backend', 'native-cpu'] })).name, 'native-cpu');
    assert.equal(tf.getBackend(), 'native-cpu');
    assert.ok((await availableBackends()).includes('native-cpu'));
  } finally {
    await setBackend('wasm');
    if (standIn) {
      tf.removeBackend('native-cpu');
      for (const k of tf.getKernelsForBackend('native-cpu')) tf.unregisterKernel(k.kernelName, 'native-cpu');
    }
  }
});

test('describeBackend says what runs: wasm with SIMD flag, 1 thread, training kernels', async () => {
  await setBackend('wasm');
  const d = describeBackend();
  assert.equal(d.name, 'wasm');
  assert.equal(d.native, false);
  assert.equal(d.gpu, false);
  assert.equal(typeof d.simd, 'boolean');
  assert.equal(d.threads, 1, 'tfjs wasm runs single-threaded in Node');
  assert.equal(d.trainingKernels, true);
  assert.equal(d.summary, `wasm (${d.simd ? 'SIMD' : 'no SIMD'}, 1 thread)`);
  await setBackend('cpu');
  assert.deepEqual(describeBackend(), { name: 'cpu', native: false, gpu: false, summary: 'cpu (plain JavaScript)' });
});

test('setBackend throws instead of returning false', async () => {
  await assert.rejects(setBackend('nope'), /tfjs backend 'nope' is not registered; registered: .*wasm/);
});

test('registerWasmTrainingKernels is idempotent and names the kernels it provides', () => {
  const a = registerWasmTrainingKernels();
  const b = registerWasmTrainingKernels();
  assert.deepEqual(a, b);
  for (const name of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropInput',
    'DepthwiseConv2dNativeBackpropFilter', 'UnsortedSegmentSum', 'Tile', 'MaxPoolGrad']) {
    assert.ok(a.includes(name), name);
    assert.ok(tf.getKernel(name, 'wasm'), `${name} registered for wasm`);
  }
});

test('one tfjs-core copy: the project, @tensorflow/tfjs and the wasm backend resolve the same file', () => {
  const copies = tfjsCoreCopies();
  assert.ok(copies['@tensorflow/tfjs'] && copies['@tensorflow/tfjs-backend-wasm']);
  assert.deepEqual(new Set(Object.values(copies)).size, 1, JSON.stringify(copies, null, 1));
});
