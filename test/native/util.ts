// Shared helpers of the native-cpu parity tests (not a test file itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { loadNativeAddon, registerNativeBackend, type NativeRegistration } from '../../tracker/node/native-backend.js';
// Registers the gradients of dilated convs (global, every backend), as the app does.
import '../../tracker/backend.js';
import { mulberry32 } from '../../tracker/random.js';

export const TOL = 1e-4;

/**
 * Registers native-cpu. When the add-on is not built the tests skip — loudly — except under CI=true, where that is a
 * failure (CI installs libopenblas-dev and builds it).
 */
export function nativeOrSkip(): NativeRegistration {
  const reg = registerNativeBackend();
  if (!reg.ok) {
    const msg = `native-cpu backend unavailable: ${reg.reason}`;
    if (process.env.CI === 'true') {
      test('native-cpu add-on is built (required under CI=true)', () => assert.fail(msg));
    } else {
      console.warn(`\n*** SKIPPING native-cpu tests: ${msg} ***\n`);
    }
  }
  return reg;
}

/** max|a − b| / max(1e-6, max|b|), b the reference. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'same number of elements');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(1e-6, scale);
}

/** Seeded PRNG in [0, 1) (the project's mulberry32). */
export const rng = mulberry32;

export interface Data { values: Float32Array; shape: number[] }

/** Uniform(−1, 1) data from `rand`. */
export function data(rand: () => number, shape: number[]): Data {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = rand() * 2 - 1;
  return { values, shape };
}

export function tensor(d: Data): tf.Tensor {
  return tf.tensor(d.values, d.shape, 'float32');
}

/** Runs `fn` on `backend` and returns every output's values (tensors disposed). */
export function on(backend: string, fn: () => tf.Tensor[]): Float32Array[] {
  const prev = tf.getBackend();
  tf.setBackend(backend);
  try {
    const outs = tf.tidy(fn);
    const vals = outs.map((t) => t.dataSync() as Float32Array);
    tf.dispose(outs);
    return vals;
  } finally {
    tf.setBackend(prev);
  }
}

/**
 * Runs `fn` on native-cpu and on cpu, asserts every output agrees within TOL, and that native-cpu leaked no tensor
 * or data buffer. Returns the largest relative error.
 */
export function compare(label: string, fn: () => tf.Tensor[]): number {
  tf.setBackend('native-cpu');
  const before = tf.memory();
  const nat = on('native-cpu', fn);
  tf.setBackend('native-cpu');
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors, `${label}: tensors leaked on native-cpu`);
  assert.equal(after.numDataBuffers, before.numDataBuffers, `${label}: data buffers leaked on native-cpu`);
  const ref = on('cpu', fn);
  assert.equal(nat.length, ref.length);
  let worst = 0;
  nat.forEach((v, i) => {
    const e = relErr(v, ref[i]);
    worst = Math.max(worst, e);
    assert.ok(e < TOL, `${label}: output ${i} relative error ${e.toExponential(2)} ≥ ${TOL}`);
  });
  return worst;
}

/** `fn`'s value and the gradients of sum(fn(...) · r) w.r.t. each input (r: fixed random cotangent from `seed`). */
export function valueAndGrads(inputs: Data[], seed: number, fn: (...xs: tf.Tensor[]) => tf.Tensor): () => tf.Tensor[] {
  return () => {
    const xs = inputs.map(tensor);
    const y = fn(...xs);
    const rt = tensor(data(rng(seed), y.shape));
    const g = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(fn(...a), rt)));
    return [y, ...g(xs)];
  };
}

export function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)] as T;
}

export function int(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/** Runs `fn` counting the native add-on's calls by function name (parity alone would not notice a cpu fallback). */
export function countCalls(fn: () => void): Record<string, number> {
  const addon = loadNativeAddon() as unknown as Record<string, (...a: unknown[]) => unknown>;
  const originals = { ...addon };
  const calls: Record<string, number> = {};
  for (const [k, f] of Object.entries(originals)) {
    addon[k] = (...a: unknown[]) => {
      calls[k] = (calls[k] ?? 0) + 1;
      return f(...a);
    };
  }
  try {
    fn();
  } finally {
    Object.assign(addon, originals);
  }
  return calls;
}
