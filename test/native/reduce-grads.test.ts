// The Sum and Mean gradients of native-cpu (tracker/node/native-reduce-grads.ts): a broadcast of dy by the native
// Tile instead of tfjs-core's multiply by a full-size array of ones — the same values bit for bit, on any axes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { countCalls, data, int, nativeOrSkip, on, rng, tensor } from './util.js';

const reg = nativeOrSkip();
const skip = !reg.ok;
// on() restores the backend it found: start from a set one
if (reg.ok) await tf.setBackend('native-cpu');

/** The stock gradient of sum(op(x, axis) · c) w.r.t. x, element by element: c at the reduced index (÷ n for Mean). */
function expected(shape: number[], axes: number[], c: Float32Array, mean: boolean): Float32Array {
  const n = axes.reduce((s, a) => s * shape[a], 1);
  const out = new Float32Array(shape.reduce((s, d) => s * d, 1));
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    let j = 0;
    for (let d = 0; d < shape.length; d++) if (!axes.includes(d)) j = j * shape[d] + idx[d];
    out[i] = mean ? Math.fround(c[j] / n) : c[j];
    for (let d = shape.length - 1; d >= 0 && ++idx[d] === shape[d]; d--) idx[d] = 0;
  }
  return out;
}

test('Sum and Mean gradients equal the stock gradients exactly and broadcast with the native Tile', { skip }, () => {
  const rand = rng(4242);
  const axesChoices: (number[] | number | undefined)[] = [[0, 1, 2], [0], 3, [2, 3], [1], [1, 2], undefined, -1, [0, 3]];
  for (let i = 0; i < 18; i++) {
    const x = data(rand, [int(rand, 1, 5), int(rand, 2, 9), int(rand, 1, 8), int(rand, 1, 6)]);
    const axis = axesChoices[i % axesChoices.length];
    const axes = tf.util.parseAxisParam(axis ?? x.shape.map((_, k) => k), x.shape);
    const keepDims = i % 2 === 1;
    const kept = x.shape.map((d, k) => (axes.includes(k) ? 1 : d)).filter((_, k) => keepDims || !axes.includes(k));
    const c = data(rand, kept);
    for (const [name, op] of [['sum', tf.sum], ['mean', tf.mean]] as const) {
      const label = `${name} [${x.shape}] axis ${axis} keep ${keepDims}`;
      const grad = () => [tf.grad((t: tf.Tensor) => tf.sum(tf.mul(op(t, axis, keepDims), tensor(c))))(tensor(x))];
      let nat: Float32Array[] = [];
      const calls = countCalls(() => { nat = on('native-cpu', grad); });
      assert.deepEqual(nat[0], expected(x.shape, axes, c.values, name === 'mean'), `${label}: not the stock gradient`);
      assert.deepEqual(on('cpu', grad)[0], nat[0], `${label}: cpu's stock gradient differs`);
      assert.ok((calls.tile ?? 0) >= 1, `${label}: the native Tile did not run (${JSON.stringify(calls)})`);
    }
  }
});

test('Sum gradients of int32 inputs keep the stock path', { skip }, () => {
  const f = () => {
    const x = tf.tensor([1, 2, 3, 4], [2, 2], 'float32');
    // the inner Sum's saved input is int32: the wrapper hands it to tfjs-core's gradient
    return [tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t, tf.cast(tf.sum(tf.cast(t, 'int32'), 1, true), 'float32'))))(x)];
  };
  assert.deepEqual([...on('native-cpu', f)[0]], [...on('cpu', f)[0]]);
});
