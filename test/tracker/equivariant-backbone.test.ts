import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { alexnetSpec } from '../../tracker/backbone-spec.js';
import { EquivariantBackbone, equivariantWidth } from '../../tracker/equivariant-backbone.js';
import { createBackbone } from '../../tracker/weights.js';
import { SiamFCNet } from '../../tracker/siamfc.js';
import { rot90, channelSaving, equivarianceError } from '../../tracker/ien/index.js';

before(async () => {
  await tf.setBackend('cpu');
});

const tiny = (kind: 'ien' | 'c4' | 'c8', groups = 'R4') =>
  alexnetSpec({ widthMultiplier: 0.0625, equivariance: { kind, groups } });

test('widths: R4 keeps AlexNet widths, R4-2-1 saves ~31% of the channels at the same pooled width', () => {
  const full = alexnetSpec({ equivariance: { kind: 'ien', groups: 'R4' } });
  const het = alexnetSpec({ equivariance: { kind: 'ien', groups: 'R4-2-1' } });
  const convs = full.layers.filter((l) => l.type === 'conv');
  assert.deepEqual(convs.map((l) => equivariantWidth(full, l as never)), [96, 256, 384, 384, 256]);
  const hw = convs.map((l) => equivariantWidth(het, l as never));
  assert.deepEqual(hw, [66, 176, 264, 264, 176]);
  const b = new EquivariantBackbone(het);
  for (const layout of b.layerLayouts) assert.equal(channelSaving(layout).fraction, 0.3125);
  assert.equal(b.outChannels, 64); // 256 / 4 pooled, as for R4
  b.dispose();
  // small multipliers still give valid heterogeneous widths
  const small = new EquivariantBackbone(tiny('ien', 'R4-2-1'));
  assert.ok(small.widths.every((w) => w % 11 === 0), `widths ${small.widths}`);
  small.dispose();
});

test('C4 backbone at 127 px: pooled features of a rot90 input are the rot90 of the features (exact on the grid)', () => {
  const b = createBackbone(tiny('c4'), 3) as EquivariantBackbone;
  const x = tf.randomUniform([1, 127, 127, 3], 0, 255, 'float32', 5) as tf.Tensor4D;
  const err = tf.tidy(() => {
    const a = rot90(b.apply(x), 1);
    const c = b.apply(rot90(x, 1));
    return tf.max(tf.abs(tf.sub(a, c))).dataSync()[0] / tf.max(tf.abs(a)).dataSync()[0];
  });
  assert.ok(err < 1e-4, `relative error ${err}`);
  x.dispose();
  b.dispose();
});

test('IEN backbone: L_G of every layer is measurable and > 0 untrained; C4 is ~0; SiamFC runs on both', async () => {
  const x = tf.randomUniform([1, 127, 127, 3], 0, 255, 'float32', 6) as tf.Tensor4D;
  const ien = new EquivariantBackbone(tiny('ien'), 2);
  const c4 = new EquivariantBackbone(tiny('c4'), 2);
  await equivarianceError(ien, x, [90]); // warm-up: rotation tables are cached per map size (bounded cache)
  await equivarianceError(c4, x, [90]);
  const before = tf.memory().numTensors;
  const ri = await equivarianceError(ien, x, [90]);
  const rc = await equivarianceError(c4, x, [90]);
  assert.equal(ri.perLayer.length, 5);
  assert.ok(ri.perLayer.every((v) => v > 1e-6), `IEN ${ri.perLayer}`);
  assert.ok(rc.perLayer.every((v, i) => v < 1e-6 * Math.max(1, ri.perLayer[i])), `C4 ${rc.perLayer}`);
  assert.equal(tf.memory().numTensors, before);
  const net = new SiamFCNet(ien);
  const z = tf.slice(x, [0, 0, 0, 0], [1, 127, 127, 3]) as tf.Tensor4D;
  const xs = tf.randomUniform([1, 255, 255, 3], 0, 255) as tf.Tensor4D;
  const r = net.forward(z, xs);
  assert.deepEqual(r.shape, [1, 17, 17, 1]);
  tf.dispose([x, z, xs, r]);
  net.dispose();
  c4.dispose();
});
