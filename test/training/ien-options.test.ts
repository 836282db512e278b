// The IEN training options of issue 14: independent (and continuous, and C8) angles for the rotated copies with each
// branch rotated back by its own angle, the normalised equivariance loss, the β warm-up, per-layer β, rotated copies
// with β = 0 (the paper's CNN-aug), and every experiment config parsing.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../../tracker/tf.js';
import type { Tensor4D } from '../../tracker/tf.js';
import { Backbone } from '../../tracker/backbones.js';
import { SiamFCNet } from '../../tracker/siamfc/network.js';
import { createBackbone } from '../../tracker/weights.js';
import { rotateBatch } from '../../tracker/ien/rotate.js';
import { alignedMSE, equivarianceError, groupAngles } from '../../tracker/ien/equivariance.js';
import type { GroupedModel } from '../../tracker/ien/equivariance.js';
import { withFeatures } from '../helpers/feature-backbone.js';
import { trainingLabels } from '../../training/labels.js';
import {
  type AuxContext, type AuxLossHook, type CopyRotation, ienEquivarianceHook, warmupFactor,
} from '../../training/losses.js';
import { drawAuxAngles, drawCopyAngles, rotateCrops, stepLosses } from '../../training/objective.js';
import { ConfigError, loadTrainConfig, parseTrainConfig, resolveBackbone, tinySpec } from '../../training/config.js';
import { checkVariant, configHooks } from '../../training/train-tracker.js';
import { renderMarkdown } from '../../eval/report.js';
import { Rng } from '../../training/rng.js';

before(async () => {
  await tf.setBackend('cpu');
});

const EXPERIMENTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../training/experiments');
const spec = tinySpec();
const labels = trainingLabels(spec);
const val = (s: tf.Scalar) => s.dataSync()[0];
const crops = (seed: number) => ({
  z: tf.randomUniform([3, 47, 47, 3], 0, 255, 'float32', seed) as Tensor4D,
  x: tf.randomUniform([3, 71, 71, 3], 0, 255, 'float32', seed + 1) as Tensor4D,
});
/** The step's loss components as numbers, on `data` (default: seeded random crops made and freed inside). */
const terms = (net: SiamFCNet, hooks: AuxLossHook[], step = 0, seed = 5, data?: { z: Tensor4D; x: Tensor4D }) =>
  tf.tidy(() => {
    const { z, x } = data ?? crops(1);
    const l = stepLosses(net, z, x, labels, hooks, step, new Rng(seed));
    return Object.fromEntries(l.components.map((c) => [c.name, val(c.value)]));
  });

/** Features fixed to the image frame (a horizontal ramp × the red channel), times `scale`: never rotation-equivariant. */
const ramp = (scale: number) =>
  new SiamFCNet(withFeatures(new Backbone(spec, 3), (xx) => {
    const w = xx.shape[2];
    return [tf.mul(tf.mul(tf.slice(xx, [0, 0, 0, 0], [-1, -1, -1, 1]), tf.reshape(tf.linspace(0, 1, w), [1, 1, w, 1])), scale)];
  }));

test('copy angles: shared by default (as drawAuxAngles drew them), independent on request; C4, C8 and uniform', () => {
  const c4: CopyRotation = { angles: 'group', group: 'C4', maxDegrees: 180, independent: false };
  const shared = drawCopyAngles(c4, 16, new Rng(3));
  assert.deepEqual(shared.z, drawAuxAngles('C4', 16, new Rng(3)), 'old draws reproduced (resume-compatible)');
  assert.equal(shared.x, shared.z);
  const ind = drawCopyAngles({ ...c4, independent: true }, 16, new Rng(3));
  assert.deepEqual(ind.z, shared.z, 'the exemplar angles come first');
  assert.ok(ind.x.some((a, i) => a !== ind.z[i]), `independent angles differ somewhere: ${ind.z} / ${ind.x}`);
  for (const a of [...ind.z, ...ind.x]) assert.ok(groupAngles('C4').includes(a));
  const c8 = drawCopyAngles({ ...c4, group: 'C8', independent: true }, 32, new Rng(4));
  for (const a of [...c8.z, ...c8.x]) assert.ok(groupAngles('C8').includes(a));
  assert.ok([...c8.z, ...c8.x].some((a) => a % 90 !== 0), 'C8 draws 45° steps');
  const u = drawCopyAngles({ angles: 'uniform', group: 'C4', maxDegrees: 30, independent: true }, 32, new Rng(5));
  for (const a of [...u.z, ...u.x]) assert.ok(a >= -30 && a < 30, `${a} in [−30, 30)`);
  assert.ok(u.z.some((a, i) => a !== u.x[i]) && u.z.some((a) => a % 1 !== 0), 'continuous and independent');
});

test('independent copies: the step rotates z and x rows by their own angles (angles = anglesZ for old hooks)', () => {
  const net = new SiamFCNet(new Backbone(spec, 3));
  const { z, x } = crops(7);
  let seen: { az: number[]; ax: number[]; angles: number[]; dz: number; dx: number } | undefined;
  const spy: AuxLossHook = {
    name: 'spy',
    rotations: { angles: 'group', group: 'C4', maxDegrees: 180, independent: true },
    loss: (ctx: AuxContext) => {
      const rowsOf = (t: Tensor4D, b: number) => tf.slice(t, [b, 0, 0, 0], [b, -1, -1, -1]);
      const diff = (a: tf.Tensor, b: tf.Tensor) => val(tf.max(tf.abs(tf.sub(a, b))) as tf.Scalar);
      seen = {
        az: ctx.anglesZ!, ax: ctx.anglesX!, angles: ctx.angles!,
        dz: diff(rowsOf(ctx.z, ctx.batch), rotateCrops(z, ctx.anglesZ!)),
        dx: diff(rowsOf(ctx.x, ctx.batch), rotateCrops(x, ctx.anglesX!)),
      };
      assert.equal(ctx.response.shape[0], 2 * ctx.batch, 'the task loss sees both halves');
      return [];
    },
  };
  const n0 = tf.memory().numTensors;
  terms(net, [spy], 0, 11, { z, x });
  assert.equal(tf.memory().numTensors, n0, 'no tensor left behind');
  assert.ok(seen);
  assert.deepEqual(seen.angles, seen.az);
  assert.ok(seen.az.some((a, i) => a !== seen!.ax[i]), `z ${seen.az} / x ${seen.ax}`);
  assert.equal(seen.dz, 0);
  assert.equal(seen.dx, 0);
  // two hooks asking for different copies are refused
  const shared = ienEquivarianceHook(0, { independent: false });
  assert.throws(() => terms(net, [spy, shared]), /different rotated copies/);
  tf.dispose([z, x]);
  net.dispose();
});

test('exact C4 backbone: ~0 equivariance loss with independent quarter turns; each branch is rotated back by its own', (t) => {
  const net = new SiamFCNet(createBackbone(tinySpec({ equivariance: { kind: 'c4', groups: 'R4' } }), 4));
  const hook = ienEquivarianceHook(1, { group: 'C4', independent: true });
  const ok = terms(net, [hook], 0, 5);
  t.diagnostic(`C4, independent: ${JSON.stringify(ok)}`);
  assert.ok(ok.equiv_z < 1e-8 && ok.equiv_x < 1e-8, JSON.stringify(ok));
  // the same loss rotating the search branch back by the exemplar's angles is far from 0: the angles differ
  const wrong: AuxLossHook = { ...hook, loss: (ctx) => hook.loss({ ...ctx, anglesX: ctx.anglesZ }) };
  const bad = terms(net, [wrong], 0, 5);
  assert.ok(bad.equiv_x > 1e3 * Math.max(ok.equiv_x, 1e-9) && bad.equiv_x > 1e-4, JSON.stringify(bad));
  // normalised, the exact backbone is still ~0
  const norm = terms(net, [ienEquivarianceHook(1, { independent: true, normalise: 'energy' })], 0, 5);
  assert.ok(norm.equiv_z < 1e-8 && norm.equiv_x < 1e-8, JSON.stringify(norm));
  // C8 and continuous angles, independent: masked bilinear MSE, finite and > 0 (the C4 net is not C8-equivariant)
  for (const o of [{ group: 'C8' as const }, { angles: 'uniform' as const, maxDegrees: 60 }]) {
    const r = terms(net, [ienEquivarianceHook(1, { ...o, independent: true, normalise: 'energy' })], 0, 6);
    t.diagnostic(`C4 net, ${JSON.stringify(o)}: ${JSON.stringify(r)}`);
    assert.ok(Number.isFinite(r.equiv_z) && r.equiv_z > 0 && Number.isFinite(r.equiv_x) && r.equiv_x > 0);
  }
  net.dispose();
});

test('normalised loss: invariant to scaling the features (absolute MSE scales with s²); variance form ignores offsets', () => {
  const abs = [1, 10, 0.01].map((s) => {
    const net = ramp(s);
    const a = terms(net, [ienEquivarianceHook(1, { independent: true })]);
    const e = terms(net, [ienEquivarianceHook(1, { independent: true, normalise: 'energy', epsilon: 1e-12 })]);
    const v = terms(net, [ienEquivarianceHook(1, { independent: true, normalise: 'variance', epsilon: 1e-12 })]);
    net.dispose();
    return { s, a: a.equiv_z, e: e.equiv_z, v: v.equiv_x };
  });
  for (const r of abs.slice(1)) {
    assert.ok(Math.abs(r.a / abs[0].a - r.s * r.s) < 1e-3 * r.s * r.s, `absolute ∝ s²: ${JSON.stringify(r)}`);
    assert.ok(Math.abs(r.e - abs[0].e) < 1e-4 * abs[0].e, `energy-normalised: ${JSON.stringify(abs)}`);
    assert.ok(Math.abs(r.v - abs[0].v) < 1e-4 * abs[0].v, `variance-normalised: ${JSON.stringify(abs)}`);
  }
  assert.ok(abs[0].e > 0.01 && abs[0].e < 10, `a non-equivariant map is O(1) normalised: ${abs[0].e}`);
  // alignedMSE directly: a per-channel offset (a constant map, unchanged by the quarter turns) cancels in the MSE and
  // in the variance, but raises the energy
  tf.tidy(() => {
    const a = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 3) as Tensor4D;
    const r = rotateBatch(tf.add(a, tf.randomNormal([2, 9, 9, 3], 0, 0.3, 'float32', 4)) as Tensor4D, [90, 270]);
    const off = tf.tensor1d([5, -3, 2]);
    const m = (o: 'none' | 'energy' | 'variance', shift: boolean) => val(shift
      ? alignedMSE(tf.add(a, off) as Tensor4D, tf.add(r, off) as Tensor4D, [90, 270], { normalise: o })
      : alignedMSE(a, r, [90, 270], { normalise: o }));
    assert.ok(Math.abs(m('none', true) - m('none', false)) < 1e-4 * m('none', false), 'the offset cancels in the MSE');
    assert.ok(Math.abs(m('variance', true) - m('variance', false)) < 1e-4 * m('variance', false));
    assert.ok(m('energy', true) < 0.5 * m('energy', false), 'energy normalisation is lowered by an offset');
  });
});

test('β warm-up ramps linearly from 0 over warmupSteps; 0 = off', () => {
  assert.deepEqual([0, 5, 10, 20].map((s) => warmupFactor(s, 10)), [0, 0.5, 1, 1]);
  assert.deepEqual([0, 7].map((s) => warmupFactor(s, 0)), [1, 1]);
  const net = ramp(1);
  const hook = ienEquivarianceHook(2, { warmupSteps: 8 });
  const at = (step: number) => terms(net, [hook], step, 5).equiv_z;
  const full = terms(net, [ienEquivarianceHook(2)], 3, 5).equiv_z;
  assert.equal(at(0), 0);
  assert.ok(Math.abs(at(2) - 0.25 * full) < 1e-4 * full, `${at(2)} vs ¼·${full}`);
  assert.ok(Math.abs(at(6) - 0.75 * full) < 1e-4 * full);
  assert.ok(Math.abs(at(8) - full) < 1e-4 * full && Math.abs(at(100) - full) < 1e-4 * full);
  net.dispose();
});

test('per-layer β: the loss is Σ β_i · MSE_i over the layers, a wrong-length list is refused', () => {
  const net = new SiamFCNet(createBackbone(tinySpec({ equivariance: { kind: 'ien', groups: 'R4' } }), 9));
  const eq = (b: number[]) => terms(net, [ienEquivarianceHook(b, { independent: true })], 0, 5).equiv_z;
  const per = [[1, 0, 0], [0, 1, 0], [0, 0, 1]].map(eq);
  per.forEach((v) => assert.ok(v > 0));
  const mixed = eq([2, 0, 0.5]);
  const expect = 2 * per[0] + 0.5 * per[2];
  assert.ok(Math.abs(mixed - expect) < 1e-4 * expect, `${mixed} vs ${expect}`);
  assert.throws(() => eq([1, 1]), /ien\.betas: 2 values for a backbone with 3 conv layers/);
  net.dispose();
});

test('rotated copies with β = 0 (CNN-aug): the batch doubles, no equivariance term, no features needed', () => {
  const cfg = parseTrainConfig({ variant: 'siamfc', backbone: 'tiny', ien: { betas: 0, independent: true, rotatedCopies: true } });
  const hooks = configHooks(cfg);
  assert.equal(hooks.length, 1);
  let rows = 0;
  const count: AuxLossHook = { name: 'count', loss: (ctx) => ((rows = ctx.response.shape[0]), []) };
  const net = new SiamFCNet(new Backbone(spec, 3)); // a plain backbone: no forwardFeatures needed
  const r = terms(net, [...hooks, count]);
  assert.deepEqual(Object.keys(r), ['logistic']);
  assert.equal(rows, 6);
  net.dispose();
  assert.equal(configHooks(parseTrainConfig({ ien: { betas: 0 } })).length, 0, 'default: no copies without β');
});

test('configs: old ien blocks keep their meaning, new fields parse with defaults, errors name the field', () => {
  const old = parseTrainConfig({ ien: { betas: 0.01, group: 'C4' } }).ien;
  assert.deepEqual(old, {
    betas: 0.01, group: 'C4', angles: 'group', maxDegrees: 180, independent: false, normalise: 'none', epsilon: 1e-6,
    warmupSteps: 0,
  });
  assert.throws(() => parseTrainConfig({ ien: { normalise: 'l2' } }), (e: Error) => e instanceof ConfigError && /field "ien\.normalise"/.test(e.message));
  assert.throws(() => parseTrainConfig({ ien: { warmupSteps: -1 } }), /field "ien\.warmupSteps"/);
  assert.throws(() => parseTrainConfig({ ien: { betas: 0.1, rotatedCopies: false } }), /field "ien\.rotatedCopies"/);
  // every experiment config loads, and the variant checks pass
  const files = ['', 'cpu', 'full', 'ablations'].flatMap((d) =>
    readdirSync(path.join(EXPERIMENTS, d)).filter((f) => f.endsWith('.json')).map((f) => path.join(EXPERIMENTS, d, f)));
  assert.ok(files.length >= 17, `${files.length} configs`);
  for (const f of files) {
    const cfg = loadTrainConfig(f);
    assert.doesNotThrow(() => checkVariant(cfg, resolveBackbone(cfg)), f);
  }
  const abl = (n: string) => loadTrainConfig(path.join(EXPERIMENTS, 'ablations', `${n}.json`));
  for (const b of [0.1, 0.01]) {
    const c = abl(`ien-siamfc-indep-norm-beta${b}`);
    assert.deepEqual([c.ien.betas, c.ien.independent, c.ien.normalise, c.ien.group], [b, true, 'energy', 'C4']);
  }
  const cnn4 = abl('cnn4-siamfc-ien-beta0');
  const ien = loadTrainConfig(path.join(EXPERIMENTS, 'cpu', 'ien-siamfc.json'));
  assert.deepEqual(resolveBackbone(cnn4), resolveBackbone(ien), 'CNN-aug = the same R4 network as IEN');
  assert.equal(cnn4.variant, 'cnn4-siamfc');
  assert.deepEqual([cnn4.ien.betas, cnn4.ien.independent, cnn4.ien.rotatedCopies], [0, true, true]);
  assert.equal(configHooks(cnn4).length, 1);
  assert.throws(() => checkVariant({ ...cnn4, ien: { ...cnn4.ien, betas: 0.1 } }, resolveBackbone(cnn4)), /field "ien"/);
});

test('L_G: absolute and normalised per layer; the normalised one is the same for scaled features; the report shows both', async () => {
  const model = (s: number): GroupedModel => ({
    forwardFeatures: (x) => {
      const w = x.shape[2];
      const f = tf.mul(tf.mul(x, tf.reshape(tf.linspace(0.5, 1, w), [1, 1, w, 1])), s) as Tensor4D;
      return { layers: [f], out: f };
    },
  });
  const xs = tf.randomNormal([2, 9, 9, 2], 1, 1, 'float32', 8) as Tensor4D;
  const n0 = tf.memory().numTensors;
  const [r1, r10] = [await equivarianceError(model(1), xs, [90, 45]), await equivarianceError(model(10), xs, [90, 45])];
  assert.equal(tf.memory().numTensors, n0);
  xs.dispose();
  assert.ok(Math.abs(r10.perLayer[0] / r1.perLayer[0] - 100) < 0.01);
  for (const k of ['energy', 'variance'] as const) {
    assert.ok(Math.abs(r10.normalised[k][0] - r1.normalised[k][0]) < 1e-4 * r1.normalised[k][0], `${k}: ${JSON.stringify([r1, r10])}`);
  }
  assert.ok(r1.normalised.variance[0] > r1.normalised.energy[0], 'variance < energy for features with a mean');
  const md = renderMarkdown({
    benchmark: 'b', evaluations: [],
    meta: { ien: { equivarianceError: [0.5, 0.25], equivarianceErrorNormalised: [0.05, 0.02], layerNames: ['conv1', 'conv2'] } },
  });
  assert.match(md, /\| Tracker \| conv1 \| conv1 ÷ σ² \| conv2 \| conv2 ÷ σ² \|/);
  assert.match(md, /\| ien \| 5\.00e-1 \| 5\.00e-2 \| 2\.50e-1 \| 2\.00e-2 \|/);
});
