import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf } from '../../tracker/tf.js';
import { Classifier, type ClassifierSpecInput } from '../../tracker/classifier.js';
import { loadClassifier } from '../../tracker/node/classifier-files.js';
import { equivarianceObjective } from '../../tracker/ien/equivariance.js';
import { Adam } from '../../training/optimizers.js';
import {
  oneCycleLr, parseClassifierTrainConfig, trainClassifier, shuffled, type ClassifierTrainConfigInput,
} from '../../training/train-classifier.js';
import type { DigitSet, DigitSplits } from '../../data/mnist.js';
import { mulberry32 } from '../../tracker/ien/equivariance.js';

let dir: string;
before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'rc-train-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const IEN: ClassifierSpecInput = { variant: 'ien', widths: [4, 4, 4, 4, 4, 8], hidden: 8, seed: 5 };

/** Synthetic 28×28 "digits": a bright square whose position depends on the label, plus noise. */
function fakeDigits(n: number, seed: number): DigitSet {
  const rnd = mulberry32(seed);
  const images = new Uint8Array(n * 784), labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const l = i % 10;
    labels[i] = l;
    const oy = 4 + 2 * (l % 5), ox = 4 + 8 * Math.floor(l / 5);
    for (let p = 0; p < 784; p++) images[i * 784 + p] = Math.floor(rnd() * 40);
    for (let y = oy; y < oy + 6; y++) for (let x = ox; x < ox + 6; x++) images[i * 784 + y * 28 + x] = 255;
  }
  return { images, labels, count: n, size: 28 };
}
const fakeSplits = (): DigitSplits => ({
  train: fakeDigits(32, 1), val: fakeDigits(10, 2), test: fakeDigits(20, 3),
  meta: { kind: 'rot', seed: 0, size: 28, source: 'synthetic' },
});

test('one-cycle schedule: min → max at 25% of the cycle → min, then the tail at min', () => {
  const lr = { min: 1e-5, max: 5e-3, peakFraction: 0.25, tailFraction: 20 / 90 };
  const total = 900, cycle = 700;
  assert.ok(Math.abs(oneCycleLr(0, total, lr) - 1e-5) < 1e-12);
  assert.ok(Math.abs(oneCycleLr(175, total, lr) - 5e-3) < 1e-12);
  assert.ok(Math.abs(oneCycleLr(cycle - 1, total, lr) - 1e-5) < 1e-12);
  for (const s of [cycle, 800, 899]) assert.equal(oneCycleLr(s, total, lr), 1e-5);
  // monotone up to the peak, then down
  for (let s = 1; s <= 175; s++) assert.ok(oneCycleLr(s, total, lr) >= oneCycleLr(s - 1, total, lr));
  for (let s = 176; s < cycle; s++) assert.ok(oneCycleLr(s, total, lr) <= oneCycleLr(s - 1, total, lr));
  assert.deepEqual(shuffled(10, 3).slice().sort((a, b) => a - b), [...Array(10).keys()]);
});

test('config errors name the field', () => {
  assert.throws(() => parseClassifierTrainConfig({ model: { variant: 'ien' }, betas: [1, 1] }), /field "betas"/);
  assert.throws(() => parseClassifierTrainConfig({ model: { variant: 'ien' }, augment: 'flip' }), /field "augment"/);
  assert.throws(() => parseClassifierTrainConfig({ model: { variant: 'ien' }, data: { trainSize: 0 } }), /field "data\.trainSize"/);
  const c = parseClassifierTrainConfig({ model: { variant: 'ien' } });
  assert.equal(c.batchSize, 64);
  assert.equal(c.weightDecay, 1e-7);
  assert.equal(c.epochs, 90);
});

function batch(n: number) {
  const d = fakeDigits(n, 7);
  const x = tf.tidy(() => tf.div(tf.tensor4d(Float32Array.from(d.images), [n, 28, 28, 1]), 255)) as tf.Tensor4D;
  const y = tf.oneHot(tf.tensor1d(Array.from(d.labels), 'int32'), 10);
  return { x, y };
}

test('one Adam step reduces the loss on a tiny batch (plain CE and IEN objective), numTensors flat over steps', () => {
  const { x, y } = batch(4);
  const yy = tf.concat([y, y]);
  for (const eq of [false, true]) {
    const m = new Classifier(IEN);
    const vars = m.trainableVariables;
    let opt!: Adam;
    tf.tidy(() => {
      opt = new Adam(vars, 0.9, 0.999, 1e-8, 1e-7);
    });
    const sampler = (n: number) => new Array<number>(n).fill(90);
    const lossFn = () => (eq
      ? equivarianceObjective(m, x, { betas: 1, sampler, taskLoss: (o) => tf.losses.softmaxCrossEntropy(yy, o) }).total
      : tf.losses.softmaxCrossEntropy(y, m.forwardFeatures(x, true).out) as tf.Scalar);
    const evalLoss = () => {
      const r = eq
        ? equivarianceObjective(m, x, { betas: 1, sampler, taskLoss: (o) => tf.losses.softmaxCrossEntropy(yy, o) })
        : null;
      const v = r ? r.total.dataSync()[0] : tf.tidy(() => lossFn().dataSync()[0]);
      if (r) tf.dispose([r.total, r.task, ...r.layers]);
      return v;
    };
    const counts: number[] = [];
    const losses: number[] = [evalLoss()];
    for (let s = 0; s < 3; s++) {
      const { value, grads } = tf.variableGrads(lossFn, vars);
      opt.apply(vars.map((v) => grads[v.name]), 1e-3);
      tf.dispose([value, ...Object.values(grads)]);
      counts.push(tf.memory().numTensors);
      if (s === 0) losses.push(evalLoss());
    }
    assert.ok(losses[1] < losses[0], `${eq ? 'IEN' : 'CE'} loss ${losses[0]} → ${losses[1]}`);
    assert.equal(counts[2], counts[0], `numTensors over steps: ${counts}`);
    opt.dispose();
    m.dispose();
  }
  tf.dispose([x, y, yy]);
});

test('trainClassifier: checkpoints every epoch, JSONL log, final model; resume gives the same weights as one run', async () => {
  const cfg: ClassifierTrainConfigInput = {
    name: 'tiny', model: IEN, epochs: 2, batchSize: 2, betas: 0.5, augment: 'rotate',
    data: { trainSize: 4, valSize: 4 }, lr: { max: 1e-2, tailFraction: 0.25 }, logEvery: 2, seed: 9,
  };
  const data = fakeSplits();
  const n0 = tf.memory().numTensors;
  const a = path.join(dir, 'straight');
  const ra = await trainClassifier(cfg, { outDir: a, progress: null, data });
  assert.equal(tf.memory().numTensors, n0, 'training leaves no tensors behind');
  assert.equal(ra.steps, 4);
  assert.ok(existsSync(path.join(a, 'checkpoint', 'state.json')) && existsSync(path.join(a, 'model', 'model.json')));
  const lines = (await readFile(path.join(a, 'log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].type, 'start');
  assert.equal(lines.filter((l) => l.type === 'epoch').length, 2);
  const steps = lines.filter((l) => l.type === 'step');
  assert.equal(steps.length, 2);
  assert.equal(steps[0].eqLayers.length, 6);
  assert.ok(lines.some((l) => l.type === 'epoch' && typeof l.valAccuracy === 'number'));

  const b = path.join(dir, 'resumed');
  const r1 = await trainClassifier(cfg, { outDir: b, progress: null, data, maxEpochsThisRun: 1 });
  assert.equal(r1.epochs, 1);
  assert.ok(!existsSync(path.join(b, 'model')), 'no final model after a partial run');
  const r2 = await trainClassifier({ ...cfg }, { outDir: b, progress: null, data, resume: true });
  assert.equal(r2.steps, 4);
  const { model: ma } = await loadClassifier(path.join(a, 'model'));
  const { model: mb } = await loadClassifier(path.join(b, 'model'));
  const wa = ma.namedWeights(), wb = mb.namedWeights();
  wa.forEach((w, i) => {
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(w.variable, wb[i].variable))).dataSync()[0]);
    assert.equal(d, 0, `weight ${w.name} differs after resume by ${d}`);
  });
  ma.dispose();
  mb.dispose();
  await assert.rejects(trainClassifier(cfg, { outDir: path.join(dir, 'none'), progress: null, data, resume: true }), /no checkpoint to resume from/);
});

test('trainClassifier with the S4 scale loss (Scale-MNIST IEN): finite per-layer losses, a model whose config names the dataset', async () => {
  const cfg: ClassifierTrainConfigInput = {
    name: 'tiny-s4', model: IEN, epochs: 1, batchSize: 4, betas: 1, lossGroup: 'S4',
    data: { dataset: 'scale-mnist', trainSize: 8, valSize: 4 }, logEvery: 1, seed: 3,
  };
  const data = { ...fakeSplits(), meta: { kind: 'scale' as const, seed: 0, size: 28, source: 'synthetic' } };
  const n0 = tf.memory().numTensors;
  const out = path.join(dir, 's4');
  const r = await trainClassifier(cfg, { outDir: out, progress: null, data });
  assert.equal(tf.memory().numTensors, n0, 'training leaves no tensors behind');
  assert.equal(r.steps, 2);
  const steps = (await readFile(path.join(out, 'log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'step');
  assert.equal(steps.length, 2);
  for (const st of steps) {
    assert.equal(st.eqLayers.length, 6);
    assert.ok(st.eqLayers.every((v: number) => Number.isFinite(v) && v >= 0), `eq layers ${st.eqLayers}`);
    assert.ok(st.eqLayers.some((v: number) => v > 0), 'the scale loss is not identically zero');
  }
  const manifest = JSON.parse(await readFile(path.join(out, 'model', 'model.json'), 'utf8'));
  assert.equal(manifest.provenance.config.data.dataset, 'scale-mnist');
  assert.equal(manifest.provenance.config.lossGroup, 'S4');
  assert.throws(() => parseClassifierTrainConfig({ ...cfg, lossGroup: 'S5' }), /field "lossGroup"/);
  assert.throws(() => parseClassifierTrainConfig({ ...cfg, data: { dataset: 'svhn' } }), /field "data\.dataset"/);
});

test('trainClassifier for R2-MNIST: R8 groups, the D4 loss (R4R) and rotate-flip augmentation train with finite losses', async () => {
  const cfg: ClassifierTrainConfigInput = {
    name: 'tiny-d4', model: { variant: 'ien', groups: 'R8', widths: [8, 8, 8, 8, 8, 8], hidden: 8, seed: 2 }, epochs: 1,
    batchSize: 4, betas: 1, lossGroup: 'D4', augment: 'rotate-flip',
    data: { dataset: 'r2-mnist', trainSize: 8, valSize: 4 }, logEvery: 1, seed: 5,
  };
  const data = { ...fakeSplits(), meta: { kind: 'r2' as const, seed: 0, size: 28, source: 'synthetic' } };
  const n0 = tf.memory().numTensors;
  const out = path.join(dir, 'd4');
  await trainClassifier(cfg, { outDir: out, progress: null, data });
  assert.equal(tf.memory().numTensors, n0, 'training leaves no tensors behind');
  const steps = (await readFile(path.join(out, 'log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'step');
  assert.equal(steps.length, 2);
  for (const st of steps) assert.ok(st.eqLayers.length === 6 && st.eqLayers.every((v: number) => Number.isFinite(v) && v >= 0) && st.eqLayers.some((v: number) => v > 0));
  const manifest = JSON.parse(await readFile(path.join(out, 'model', 'model.json'), 'utf8'));
  assert.equal(manifest.provenance.config.data.dataset, 'r2-mnist');
  assert.equal(manifest.provenance.config.augment, 'rotate-flip');
});
