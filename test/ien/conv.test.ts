import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { IenConv2d, LayerError, initTensor } from '../../tracker/ien/conv.js';
import { hetWidth } from '../../tracker/ien/groups.js';

before(async () => {
  await tf.setBackend('cpu');
});

test('IenConv2d is a plain conv: output equals tf.conv2d with its kernel, plus bias', () => {
  const l = new IenConv2d({ inChannels: 2, outChannels: 4, kernelSize: 3, bias: true, padding: 1, groups: 'R4', seed: 1 });
  tf.tidy(() => l.bias!.assign(tf.tensor1d([1, 2, 3, 4])));
  const x = tf.randomNormal([2, 5, 5, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
  const y = l.apply(x);
  const ref = tf.tidy(() => tf.add(tf.conv2d(x, l.kernel as unknown as tf.Tensor4D, 1, 1), tf.tensor1d([1, 2, 3, 4])));
  assert.deepEqual(y.shape, [2, 5, 5, 4]);
  assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0]) < 1e-6);
  const p = l.pool(y);
  assert.deepEqual(p.shape, [2, 5, 5, 1]);
  tf.dispose([x, y, ref, p]);
  l.dispose();
});

test('Het-IEN layer: R4-2-1 at the Het width of R4 256 pools to 64 channels', () => {
  const w = hetWidth('R4-2-1', 256);
  const l = new IenConv2d({ inChannels: 3, outChannels: w, kernelSize: 3, groups: 'R4-2-1' });
  assert.equal(l.outLayout.channels, 176);
  assert.equal(l.outLayout.pooledChannels, 64);
  const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
  const y = l.apply(x), p = l.pool(y);
  assert.deepEqual(p.shape, [1, 4, 4, 64]);
  tf.dispose([x, y, p]);
  l.dispose();
  assert.throws(() => new IenConv2d({ inChannels: 3, outChannels: 100, kernelSize: 3, groups: 'R4-2-1' }), /R4-2-1.*100/);
});

test('initialisers: Xavier uniform within ±√(6/(fanIn+fanOut)), He normal with variance 2/fanIn', () => {
  const xa = initTensor([3, 3, 16, 32], 144, 288, 'xavier', 3);
  const lim = Math.sqrt(6 / (144 + 288));
  const v = xa.dataSync();
  assert.ok(v.every((a) => Math.abs(a) <= lim));
  assert.ok(Math.max(...v) > 0.9 * lim);
  const he = initTensor([3, 3, 64, 64], 576, 576, 'he', 4);
  const variance = tf.tidy(() => tf.moments(he).variance.dataSync()[0]);
  assert.ok(Math.abs(variance / (2 / 576) - 1) < 0.05, `variance ${variance}`);
  tf.dispose([xa, he]);
});

test('bad input names the layer and the channel counts; no tensor leaks', () => {
  const l = new IenConv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, groups: 'R2' });
  assert.throws(() => l.apply(tf.zeros([1, 4, 4, 2]) as tf.Tensor4D), (e: Error) =>
    e instanceof LayerError && /IenConv2d/.test(e.message) && /2 channels/.test(e.message) && /expects 3/.test(e.message));
  const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
  const n0 = tf.memory().numTensors;
  tf.dispose(l.apply(x));
  const y = l.apply(x);
  tf.dispose([y, l.pool(y)]);
  assert.equal(tf.memory().numTensors, n0);
  l.dispose();
  assert.equal(tf.memory().numTensors, n0 - 1);
  x.dispose();
});
