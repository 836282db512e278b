import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import type { Tensor4D } from '../../tracker/tf.js';
import { Backbone } from '../../tracker/backbones.js';
import { SiamFCNet } from '../../tracker/siamfc/network.js';
import { withFeatures } from '../helpers/feature-backbone.js';
import { logisticLabels, trainingLabels } from '../../training/labels.js';
import {
  type AuxLossHook, balancedLogisticLoss, balancedWeights, bceWithLogits, ienEquivarianceHook,
} from '../../training/losses.js';
import { stepLosses } from '../../training/objective.js';
import { tinySpec } from '../../training/config.js';
import { Rng } from '../../training/rng.js';

before(async () => {
  await tf.setBackend('cpu');
});

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('balanced weights: positives and negatives each carry half of a total weight of 1 over the batch', () => {
  const l = trainingLabels(tinySpec()); // 7×7, 13 positives
  for (const batch of [1, 3]) {
    const w = balancedWeights(l, batch);
    let pos = 0, neg = 0;
    l.values.forEach((v, i) => (v === 1 ? (pos += w[i]) : (neg += w[i])));
    close(pos * batch, 0.5);
    close(neg * batch, 0.5);
    close(w[24], 1 / (2 * 13 * batch)); // centre cell
    close(w[0], 1 / (2 * 36 * batch));
  }
  // a 0.5 band has weight 0 (siamfc-pytorch only weights label 1 and 0)
  const band = logisticLabels(5, 0, 2);
  assert.equal(balancedWeights(band, 1)[7], 0);
});

test('balanced logistic loss equals a hand computation on a 3×3 map (batch 1 and 2)', () => {
  const labels = logisticLabels(3, 0); // centre positive, 8 negatives
  const s = [0, 1, 2, -1, 3, 0.5, 0, 0, -2];
  const one = tf.tensor4d(s, [1, 3, 3, 1]);
  // ½·log(1+e^−3) + ½·mean_neg log(1+e^s), computed with Python's math: 0.4576622959732668
  close(balancedLogisticLoss(one, labels).dataSync()[0], 0.4576622959732668, 1e-6);
  const two = tf.tensor4d([...s, ...new Array(9).fill(0)], [2, 3, 3, 1]);
  close(balancedLogisticLoss(two, labels).dataSync()[0], 0.5754047382666061, 1e-6);
  tf.dispose([one, two]);
});

test('bceWithLogits is stable for large logits and matches the formula', () => {
  const v = tf.tidy(() => bceWithLogits(tf.tensor1d([100, -100, 0, 2]), tf.tensor1d([1, 0, 1, 0])).dataSync());
  close(v[0], 0);
  close(v[1], 0);
  close(v[2], Math.log(2));
  close(v[3], Math.log1p(Math.exp(2)));
});

test('balancedLogisticLoss rejects a response that does not match the label map', () => {
  const r = tf.zeros([1, 5, 5, 1]) as Tensor4D;
  assert.throws(() => balancedLogisticLoss(r, logisticLabels(3, 0)), /\[1,5,5,1\].*3×3/);
  r.dispose();
});

test('stepLosses adds a fake auxiliary loss to the logistic loss and leaks no tensor', () => {
  const spec = tinySpec();
  const net = new SiamFCNet(new Backbone(spec, 3));
  const labels = trainingLabels(spec);
  const z = tf.randomUniform([2, 47, 47, 3], 0, 255, 'float32', 1) as Tensor4D;
  const x = tf.randomUniform([2, 71, 71, 3], 0, 255, 'float32', 2) as Tensor4D;
  const fake: AuxLossHook = {
    name: 'fake',
    loss: (ctx) => [{ name: 'fake', value: tf.mul(tf.mean(tf.square(ctx.response)), 1000) as tf.Scalar }],
  };
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => {
    const l = stepLosses(net, z, x, labels, [fake], 0, new Rng(1));
    return l.components.map((c) => c.value.dataSync()[0]).concat(l.total.dataSync()[0]);
  });
  assert.equal(tf.memory().numTensors, before);
  const [logistic, aux, total] = out;
  assert.ok(aux > 0, 'the fake term is positive');
  close(total, logistic + aux, 1e-5);
  // gradients flow through the auxiliary term too
  const g = tf.tidy(() => {
    const { grads } = tf.variableGrads(() => stepLosses(net, z, x, labels, [fake], 0, new Rng(1)).total, net.backbone.trainableVariables());
    return Object.values(grads).reduce((s, t) => s + tf.sum(tf.abs(t)).dataSync()[0], 0);
  });
  assert.ok(g > 0);
  tf.dispose([z, x]);
  net.dispose();
});

test('IEN hook: needs a backbone with forwardFeatures, then gives 0 for equivariant and > 0 for other features', () => {
  const spec = tinySpec();
  const labels = trainingLabels(spec);
  const hook = ienEquivarianceHook(1, 'C4');
  const z = tf.randomUniform([2, 47, 47, 3], 0, 255, 'float32', 1) as Tensor4D;
  const x = tf.randomUniform([2, 71, 71, 3], 0, 255, 'float32', 2) as Tensor4D;
  const plain = new SiamFCNet(new Backbone(spec, 3));
  assert.throws(() => tf.tidy(() => stepLosses(plain, z, x, labels, [hook], 0, new Rng(1)).total), /forwardFeatures/);
  plain.dispose();

  const equiv = (net: SiamFCNet) =>
    tf.tidy(() => {
      const l = stepLosses(net, z, x, labels, [hook], 0, new Rng(5));
      return l.components.filter((c) => c.name.startsWith('equiv')).map((c) => c.value.dataSync()[0]);
    });
  // the crops themselves rotate exactly with the 90° copies (odd square crops, rot90 about the centre pixel)
  const identity = new SiamFCNet(withFeatures(new Backbone(spec, 3), (xx) => [tf.slice(xx, [0, 0, 0, 0], [-1, -1, -1, 1])]));
  assert.deepEqual(equiv(identity), [0, 0]);
  identity.dispose();
  // a horizontal ramp is fixed to the image frame, not to the content: no rotation leaves it unchanged
  const ramp = new SiamFCNet(
    withFeatures(new Backbone(spec, 3), (xx) => {
      const w = xx.shape[2];
      return [tf.mul(tf.slice(xx, [0, 0, 0, 0], [-1, -1, -1, 1]), tf.reshape(tf.linspace(0, 1, w), [1, 1, w, 1]))];
    }),
  );
  const e = equiv(ramp);
  assert.ok(e[0] > 100 && e[1] > 100, `non-equivariant features give a large loss (${e})`);
  // β scales the term linearly
  const hook2 = ienEquivarianceHook(2, 'C4');
  const e2 = tf.tidy(() =>
    stepLosses(ramp, z, x, labels, [hook2], 0, new Rng(5)).components.filter((c) => c.name === 'equiv_z')[0].value.dataSync()[0],
  );
  close(e2, 2 * e[0], 1e-3 * e[0]);
  ramp.dispose();
  tf.dispose([z, x]);
});
