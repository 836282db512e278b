import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import {
  BASE_WIDTHS, Classifier, ClassifierError, ClassifierSpecError, CLASSIFIER_VARIANTS, resolveClassifierSpec,
  digitsToTensor, type ClassifierSpecInput,
} from '../../tracker/classifier.js';
import { channelSaving } from '../../tracker/ien/groups.js';
import { DIHEDRAL_ACTION, equivarianceError, groupElements } from '../../tracker/ien/equivariance.js';
import { rot90 } from '../../tracker/ien/rotate.js';
import { d4Batch } from '../../tracker/ien/dihedral.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** Tiny specs of every variant (explicit widths: 1–2 groups per layer). */
const TINY: Record<string, ClassifierSpecInput> = {
  cnn: { variant: 'cnn', widths: [4, 4, 6, 6, 8, 8], hidden: 8, seed: 3 },
  ien: { variant: 'ien', widths: [8, 8, 8, 8, 8, 8], hidden: 8, seed: 3 },
  'het-ien': { variant: 'het-ien', widths: [11, 11, 11, 11, 22, 22], hidden: 8, seed: 3 },
  'gcnn-c4': { variant: 'gcnn-c4', widths: [4, 8, 8, 8, 8, 8], hidden: 8, seed: 3 },
  'gcnn-d4': { variant: 'gcnn-d4', widths: [8, 8, 16, 8, 8, 8], hidden: 8, seed: 3 },
  'steerable-c8': { variant: 'steerable-c8', widths: [8, 8, 8, 8, 8, 16], hidden: 8, seed: 3 },
};

const smoothDigits = (n: number, seed = 1) =>
  tf.tidy(() => tf.avgPool(tf.randomUniform([n, 30, 30, 1], 0, 1, 'float32', seed) as tf.Tensor4D, 3, 1, 'valid'));

test('full-width specs resolve to the paper widths; Het-IEN saves 31% of the channels at the same pooled width', () => {
  const ien = resolveClassifierSpec({ variant: 'ien' });
  assert.deepEqual(ien.channels, [...BASE_WIDTHS]);
  assert.deepEqual(ien.pooled, [32, 48, 64, 64, 96, 128]);
  const het = resolveClassifierSpec({ variant: 'het-ien' });
  assert.deepEqual(het.channels, [88, 132, 176, 176, 264, 352]);
  assert.deepEqual(het.pooled, ien.pooled);
  for (const lay of het.layouts) assert.equal(channelSaving(lay).fraction, 0.3125);
  assert.deepEqual(resolveClassifierSpec({ variant: 'cnn' }).pooled, [...BASE_WIDTHS]);
  assert.deepEqual(resolveClassifierSpec({ variant: 'ien', groups: 'R8' }).pooled, [16, 24, 32, 32, 48, 64]);
  // width multiplier: 1/8 of R4 widths, rounded to whole groups
  assert.deepEqual(resolveClassifierSpec({ variant: 'ien', widthMultiplier: 0.125 }).channels, [16, 24, 32, 32, 48, 64]);
  const hetSmall = resolveClassifierSpec({ variant: 'het-ien', widthMultiplier: 0.125 });
  assert.ok(hetSmall.channels.every((c) => c % 11 === 0));
  assert.equal(resolveClassifierSpec({ variant: 'ien', widthMultiplier: 0.125 }).hidden, 16);
});

test('bad specs fail with errors naming the field', () => {
  assert.throws(() => resolveClassifierSpec({ variant: 'vgg' as never }), (e: Error) => e instanceof ClassifierSpecError && /"variant"/.test(e.message));
  assert.throws(() => resolveClassifierSpec({ variant: 'ien', widths: [8, 8, 9, 8, 8, 8] }), /widths\.2.*multiple of 4/);
  assert.throws(() => resolveClassifierSpec({ variant: 'het-ien', groups: 'R4' }), /heterogeneous/);
  assert.throws(() => resolveClassifierSpec({ variant: 'gcnn-c4', groups: 'R8' }), /"groups"/);
  assert.throws(() => resolveClassifierSpec({ variant: 'cnn', extra: 1 } as never), /Unrecognized key/);
});

for (const variant of CLASSIFIER_VARIANTS) {
  test(`${variant}: feature and logit shapes, channel counts, parameter count, no leaks`, () => {
    const m = new Classifier(TINY[variant]);
    const x = smoothDigits(2);
    tf.dispose(m.predict(x)); // GCNN / steerable layers cache their expanded filters at the first inference call
    const before = tf.memory().numTensors;
    const f = m.forwardFeatures(x, true);
    const sizes = [24, 24, 12, 12, 6, 2];
    assert.equal(f.layers.length, 6);
    f.layers.forEach((t, i) => assert.deepEqual(t.shape, [2, sizes[i], sizes[i], m.resolved.pooled[i]], `layer ${i + 1}`));
    assert.deepEqual(f.out.shape, [2, 10]);
    tf.dispose([...f.layers, f.out]);
    const p = m.predict(x);
    const sumT = tf.sum(p, 1);
    const sums = sumT.arraySync() as number[];
    sumT.dispose();
    sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-5));
    p.dispose();
    assert.equal(tf.memory().numTensors, before, 'forwardFeatures/predict leave no tensors behind');
    const cc = m.channelCounts();
    assert.deepEqual(cc.channels, TINY[variant].widths);
    assert.equal(cc.totalChannels, TINY[variant].widths!.reduce((a, b) => a + b, 0));
    assert.equal(m.parameterCount(), m.trainableVariables.reduce((s, v) => s + v.size, 0));
    assert.ok(m.parameterCount() > 0);
    m.dispose();
    x.dispose();
  });
}

test('parameter count of the plain CNN matches the architecture formula', () => {
  const w = [4, 4, 6, 6, 8, 8], k = [7, 5, 5, 5, 5, 5];
  const m = new Classifier({ variant: 'cnn', widths: w, hidden: 8 });
  const conv = w.reduce((s, c, i) => s + k[i] * k[i] * (i ? w[i - 1] : 1) * c + 2 * c, 0); // bias-free conv + BN γ, β
  const head = 8 * 8 + 8 + 2 * 8 + 8 * 10 + 10; // FC (last pooled 8 → 8) + BN + FC → 10
  assert.equal(m.parameterCount(), conv + head);
  m.dispose();
});

test('Het-IEN at full width: 31% fewer channels and fewer parameters than IEN R4', () => {
  const ien = new Classifier({ variant: 'ien' });
  const het = new Classifier({ variant: 'het-ien' });
  const a = ien.channelCounts(), b = het.channelCounts();
  assert.equal(1 - b.totalChannels / a.totalChannels, 0.3125);
  assert.deepEqual(a.pooled, b.pooled);
  assert.ok(het.parameterCount() < 0.55 * ien.parameterCount(), `${het.parameterCount()} vs ${ien.parameterCount()}`);
  ien.dispose();
  het.dispose();
});

test('gcnn-c4: logits are invariant to 90° rotations of the input', () => {
  const m = new Classifier({ ...TINY['gcnn-c4'], seed: 7 });
  // non-trivial BN statistics: one training pass updates the moving averages
  const warm = smoothDigits(4, 9);
  tf.dispose(m.forwardFeatures(warm, true).layers);
  const x = smoothDigits(3, 5);
  const base = m.logits(x);
  const scale = tf.max(tf.abs(base)).dataSync()[0];
  assert.ok(scale > 1e-3, 'logits are not trivially zero');
  for (const k of [1, 2, 3]) {
    const xr = rot90(x, k);
    const lr = m.logits(xr);
    const err = tf.max(tf.abs(tf.sub(lr, base))).dataSync()[0];
    assert.ok(err < 1e-4, `rot ${k * 90}°: max |Δlogit| = ${err}`);
    tf.dispose([xr, lr]);
  }
  tf.dispose([warm, x, base]);
  m.dispose();
});

test('L_G of the C4 GCNN is ~0 on every layer, of a random CNN and an untrained IEN clearly > 0', async () => {
  const x = smoothDigits(4, 11);
  const g = new Classifier({ ...TINY['gcnn-c4'], seed: 2 });
  const rg = await equivarianceError(g, x, [90, 180, 270]);
  assert.equal(rg.perLayer.length, 6);
  rg.perLayer.forEach((v, i) => assert.ok(v < 1e-9, `gcnn layer ${i + 1}: L_G ${v}`));
  for (const v of ['cnn', 'ien'] as const) {
    const c = new Classifier({ ...TINY[v], seed: 2 });
    const rc = await equivarianceError(c, x, [90, 180, 270]);
    rc.perLayer.slice(0, 5).forEach((e, i) => assert.ok(e > 1e-4, `${v} layer ${i + 1}: L_G ${e}`));
    c.dispose();
  }
  // the steerable C8 model is exactly invariant on the 90° grid too (its basis is sampled at 90° multiples exactly)
  const s = new Classifier({ ...TINY['steerable-c8'], seed: 2 });
  const rs = await equivarianceError(s, x, [90, 180, 270]);
  rs.perLayer.forEach((v, i) => assert.ok(v < 1e-8, `steerable layer ${i + 1}: L_G ${v}`));
  s.dispose();
  g.dispose();
  x.dispose();
});

test('input validation names the problem; a disposed model refuses to run', () => {
  const m = new Classifier(TINY.cnn);
  const bad = tf.zeros([1, 28, 28, 3]) as tf.Tensor4D;
  assert.throws(() => m.logits(bad), (e: Error) => e instanceof ClassifierError && /\[B, H, W, 1\]/.test(e.message));
  const small = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
  assert.throws(() => m.logits(small), /at least 16×16/);
  m.dispose();
  const x = tf.zeros([1, 28, 28, 1]) as tf.Tensor4D;
  assert.throws(() => m.logits(x), /after dispose/);
  tf.dispose([bad, small, x]);
});

test('digitsToTensor scales uint8 digits to [0, 1] and checks its bounds', () => {
  const img = new Uint8Array(2 * 16 * 16);
  img[0] = 255;
  img[16 * 16 + 5] = 51;
  const t = digitsToTensor(img, 16, 1, 1);
  assert.deepEqual(t.shape, [1, 16, 16, 1]);
  assert.ok(Math.abs(t.dataSync()[5] - 0.2) < 1e-7);
  assert.equal(t.dataSync()[0], 0);
  t.dispose();
  assert.throws(() => digitsToTensor(img, 16, 1, 2), /cannot take 2 images/);
});

test('gcnn-d4: L_G over all of D4 (turns and mirrors) is ~0 on every layer and the logits are invariant; gcnn-c4 is not mirror-exact', async () => {
  const x = smoothDigits(3, 13);
  const d = new Classifier({ ...TINY['gcnn-d4'], seed: 4 });
  tf.dispose(d.forwardFeatures(smoothDigits(4, 3), true).layers); // non-trivial BN statistics
  const rd = await equivarianceError(d, x, groupElements('D4'), DIHEDRAL_ACTION);
  rd.perLayer.forEach((v, i) => assert.ok(v < 1e-9, `gcnn-d4 layer ${i + 1}: L_G ${v}`));
  const base = d.logits(x);
  for (const e of groupElements('D4')) {
    const xe = d4Batch(x, [e, e, e]);
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(d.logits(xe), base))).dataSync()[0]);
    assert.ok(err < 1e-4, `element ${e}: max |Δlogit| ${err}`);
    xe.dispose();
  }
  const c = new Classifier({ ...TINY['gcnn-c4'], seed: 4 });
  const rc = await equivarianceError(c, x, groupElements('D4'), DIHEDRAL_ACTION);
  rc.perLayer.slice(0, 5).forEach((v, i) => assert.ok(v > 1e-4, `gcnn-c4 layer ${i + 1} under mirrors: L_G ${v}`));
  assert.equal(d.resolved.fieldSize, 8);
  assert.deepEqual(d.resolved.pooled, [1, 1, 2, 1, 1, 1]);
  tf.dispose([x, base]);
  d.dispose();
  c.dispose();
});
