import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf } from '../../tracker/tf.js';
import { setBackend } from '../../tracker/backend.js';
import { writeSyntheticDataset } from '../../data/synthetic.js';
import { type TrainConfigInput, parseTrainConfig } from '../../training/config.js';
import { trainTracker } from '../../training/train-tracker.js';
import { loadModel } from '../../tracker/node/model-files.js';

// A micro backbone (stride 4, 31/55 crops, 8/16/16 channels, 5×5 training response) so that a step takes well under
// a second on the cpu backend even on a loaded machine.
const MICRO = {
  name: 'micro',
  layers: [
    { type: 'conv', out: 8, kernel: 5, stride: 2 },
    { type: 'maxpool', size: 2, stride: 2 },
    { type: 'conv', out: 16, kernel: 3 },
    { type: 'conv', out: 16, kernel: 3, bn: false, act: 'none' },
  ],
  exemplarSize: 31,
  instanceSize: 55,
};

let dir: string;
let dataRoot: string;
let valRoot: string;

// tfjs-backend-cpu's Conv2DBackpropFilter costs ~1 µs per multiply-add (1–2 s per step even for this micro net), so
// the training runs use wasm when its training kernels are registered (tracker/backend.ts), else cpu. Both are
// deterministic within a process, which is all the resume test needs.
let backend = 'cpu';

before(async () => {
  backend = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') != null ? 'wasm' : 'cpu';
  await setBackend(backend);
  dir = mkdtempSync(path.join(tmpdir(), 'rot-track-train-'));
  dataRoot = path.join(dir, 'data');
  await writeSyntheticDataset(
    dataRoot,
    { seed: 7, count: 4, frames: 10, width: 96, height: 96, targetSize: [0.3, 0.45], distractors: 0, occlusionProb: 0, blurProb: 0 },
    'got10k',
  );
  valRoot = path.join(dir, 'val');
  await writeSyntheticDataset(
    valRoot,
    { seed: 8, count: 2, frames: 8, width: 96, height: 96, targetSize: [0.3, 0.45], distractors: 0, occlusionProb: 0, blurProb: 0 },
    'got10k',
    { split: 'val' },
  );
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const config = (over: Partial<TrainConfigInput> = {}) =>
  parseTrainConfig({
    variant: 'siamfc',
    backbone: MICRO,
    batchSize: 2,
    epochs: 20,
    optimizer: { kind: 'adam', lr: 0.01, finalLr: 0.001, weightDecay: 0 },
    data: { root: dataRoot, layout: 'got10k' },
    checkpointEvery: 100,
    prefetch: 1,
    backend: backend as 'wasm' | 'cpu',
    ...over,
  });
const quiet = () => undefined;

test('20 steps on tiny synthetic data lower the loss, tensor count stays flat, the model has its provenance', async () => {
  const counts: number[] = [];
  const out = path.join(dir, 'run-loss');
  const res = await trainTracker({
    config: config({ steps: 20 }),
    outDir: out,
    progress: quiet,
    commandLine: ['train', '--steps', '20'],
    onStep: () => counts.push(tf.memory().numTensors),
  });
  const first = res.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = res.losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(first > 0.6, `starts near ln 2 (${first})`);
  assert.ok(last < first - 0.03, `loss went from ${first.toFixed(4)} to ${last.toFixed(4)}`);
  // the optimiser state is created at step 0; afterwards no step may leave a tensor behind
  assert.ok(counts.slice(1).every((c) => c === counts[1]), `numTensors per step: ${counts.join(' ')}`);
  assert.equal(res.steps, 20);
  const { net, manifest } = await loadModel(res.modelDir!);
  net.dispose();
  const prov = manifest.provenance as Record<string, any>;
  assert.equal(manifest.variant, 'siamfc');
  assert.equal(prov.steps, 20);
  assert.equal(prov.data.sequences, 4);
  assert.deepEqual(prov.commandLine, ['train', '--steps', '20']);
  assert.ok(String(prov.backend).startsWith(backend), prov.backend);
  assert.equal(prov.config.backbone.name, 'micro');
  const log = readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(log.filter((r) => r.event === 'step').length, 20);
  assert.deepEqual(log.map((r) => r.event).filter((e) => e !== 'step'), ['start', 'checkpoint', 'done']);
});

test('checkpoint → crash → resume gives the same weights and losses as an uninterrupted run', async () => {
  const cfg = config({ steps: 6, checkpointEvery: 3 });
  const straight = await trainTracker({ config: cfg, outDir: path.join(dir, 'straight'), progress: quiet });
  const crashed = path.join(dir, 'crashed');
  const part = await trainTracker({ config: cfg, outDir: crashed, progress: quiet, stopAfter: 4 });
  assert.equal(part.steps, 4);
  assert.ok(!existsSync(path.join(crashed, 'model')), 'no final model after a crash');
  const state = JSON.parse(readFileSync(path.join(crashed, 'checkpoint', 'state.json'), 'utf8'));
  assert.equal(state.step, 3, 'the last checkpoint is the one at step 3; step 4 is lost');
  await assert.rejects(
    trainTracker({ config: cfg, outDir: crashed, progress: quiet }),
    /already holds a checkpoint; pass --resume/,
    'a fresh run never overwrites a checkpoint',
  );
  const resumed = await trainTracker({ config: cfg, outDir: crashed, progress: quiet, resume: true });
  assert.equal(resumed.startStep, 3);
  assert.deepEqual(resumed.losses, straight.losses.slice(3));
  assert.deepEqual(part.losses, straight.losses.slice(0, 4));
  const a = readFileSync(path.join(straight.modelDir!, 'weights.bin'));
  const b = readFileSync(path.join(resumed.modelDir!, 'weights.bin'));
  assert.ok(a.equals(b), 'final weights (BN statistics included) are bit-identical');
  const events = readFileSync(path.join(crashed, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).event);
  assert.ok(events.includes('resume'));
});

test('bad input: unknown variant, bad field, data root without sequences — errors name the field or file', async () => {
  assert.throws(() => parseTrainConfig({ variant: 'siamfc-xl' }, 'exp.json'), /exp\.json: field "variant"/);
  assert.throws(() => parseTrainConfig({ batchSize: 0 }, 'exp.json'), /field "batchSize"/);
  assert.throws(() => parseTrainConfig({ optimizer: { kind: 'sgd', lr: -1 } }, 'exp.json'), /field "optimizer.lr"/);
  assert.throws(() => parseTrainConfig({ bogus: 1 }, 'exp.json'), /Unrecognized key.*bogus/);
  assert.throws(() => parseTrainConfig({ backbone: { name: 'x', layers: [] } }, 'exp.json'), /exp\.json: field "backbone"/);
  await assert.rejects(
    trainTracker({ config: config({ variant: 'ien-siamfc' }), outDir: path.join(dir, 'bad1'), progress: quiet }),
    /field "variant": "ien-siamfc" needs a backbone with equivariance kind ien/,
  );
  await assert.rejects(
    trainTracker({ config: config({ data: { root: path.join(dir, 'nowhere'), layout: 'got10k' } }), outDir: path.join(dir, 'bad2'), progress: quiet }),
    /nowhere.*data root does not exist/,
  );
  await assert.rejects(
    trainTracker({ config: config({ data: { root: dir, layout: 'got10k' } }), outDir: path.join(dir, 'bad3'), progress: quiet }),
    /list\.txt/,
  );
});

test('IEN loss through the config: > 0 for a random IEN (R4) backbone, ~0 for the exactly equivariant C4 one', async () => {
  // MICRO's grids are C4-exact: (31 − 5) and (47 − 5) are even for the stride-2 conv, 14 − 2 and 22 − 2 for the pool
  const run = async (variant: 'ien-siamfc' | 're-siamfc', kind: 'ien' | 'c4', out: string, ien: TrainConfigInput['ien'] = {}) => {
    const seen: Record<string, number>[] = [];
    const cfg = config({
      variant,
      backbone: { ...MICRO, equivariance: { kind, groups: 'R4' } },
      ien: { betas: 1, group: 'C4', ...ien },
      steps: 2,
    });
    const res = await trainTracker({ config: cfg, outDir: path.join(dir, out), progress: quiet, onStep: (_, l) => seen.push(l) });
    assert.equal(res.steps, 2);
    for (const l of seen) {
      assert.deepEqual(Object.keys(l).sort(), ['equiv_x', 'equiv_z', 'logistic', 'total']);
      assert.ok(Math.abs(l.total - (l.logistic + l.equiv_z + l.equiv_x)) < 1e-4 * l.total);
    }
    return seen;
  };
  const ien = await run('ien-siamfc', 'ien', 'ien');
  assert.ok(ien[0].equiv_z > 1e-3 && ien[0].equiv_x > 1e-3, `random IEN: ${JSON.stringify(ien[0])}`);
  const c4 = await run('re-siamfc', 'c4', 'c4');
  for (const l of c4) assert.ok(l.equiv_z < 1e-8 && l.equiv_x < 1e-8, `C4: ${JSON.stringify(l)}`);
  // issue 14's options through the config: independent quarter turns, normalised loss, a warm-up (β 0 at step 0)
  const opts = await run('ien-siamfc', 'ien', 'ien-options', { independent: true, normalise: 'energy', warmupSteps: 1 });
  assert.deepEqual([opts[0].equiv_z, opts[0].equiv_x], [0, 0], 'β warms up from 0');
  assert.ok(opts[1].equiv_z > 1e-3 && opts[1].equiv_z < 10, `normalised, O(1) per layer: ${JSON.stringify(opts[1])}`);
  const c4i = await run('re-siamfc', 'c4', 'c4-options', { independent: true, normalise: 'energy' });
  for (const l of c4i) assert.ok(l.equiv_z < 1e-8 && l.equiv_x < 1e-8, `C4, independent: ${JSON.stringify(l)}`);
  await assert.rejects(
    trainTracker({ config: config({ variant: 'cnn4-siamfc' }), outDir: path.join(dir, 'bad-cnn4'), progress: quiet }),
    /field "augment.rotation.kind": the cnn4-siamfc variant is rotation-augmented/,
  );
});

test('validation every epoch: records in log, checkpoint and manifest; the final model is the best one; resume keeps the history', async () => {
  // 4 sequences × 1 pair / batch 2 = 2 steps per epoch: validations at steps 2, 4, 6, 8.
  const cfg = config({
    steps: 8,
    checkpointEvery: 100,
    validation: { root: valRoot, layout: 'got10k', split: 'val', maxSequences: 2, maxFrames: 8, deltas: [0, 5], every: 1 },
  });
  const out = path.join(dir, 'val-run');
  const res = await trainTracker({ config: cfg, outDir: out, progress: quiet });
  const log = readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const vals = log.filter((r) => r.event === 'validation');
  assert.deepEqual(vals.map((v) => v.step), [2, 4, 6, 8]);
  for (const v of vals) {
    assert.ok(v.auc >= 0 && v.auc <= 1, `AUC ${v.auc}`);
    assert.deepEqual(Object.keys(v.perDelta).sort(), ['0', '5']);
    assert.equal(v.frames, 2 * 2 * 8, 'two sequences × two Δ × 8 frames');
  }
  const { net, manifest } = await loadModel(res.modelDir!);
  net.dispose();
  const summary = manifest.metrics.validation as { best: { step: number; auc: number }; history: { auc: number }[]; sequences: string[] };
  assert.equal(summary.history.length, 4);
  assert.equal(summary.best.auc, Math.max(...vals.map((v) => v.auc)));
  assert.equal(summary.sequences.length, 2);
  assert.equal((manifest.provenance as Record<string, number>).selectedStep, summary.best.step);
  const bestWeights = readFileSync(path.join(out, 'best', 'weights.bin'));
  assert.ok(bestWeights.equals(readFileSync(path.join(res.modelDir!, 'weights.bin'))), 'the final model holds the best weights');
  for (const f of ['loss.svg', 'loss.png', 'validation.svg', 'validation.png']) assert.ok(existsSync(path.join(out, 'curves', f)), f);
  assert.match(readFileSync(path.join(out, 'curves', 'validation.svg'), 'utf8'), /validation success AUC/);

  // A crash after step 5 resumes from the checkpoint written with the validation of step 4.
  const crashed = path.join(dir, 'val-crashed');
  await trainTracker({ config: cfg, outDir: crashed, progress: quiet, stopAfter: 5 });
  const state = JSON.parse(readFileSync(path.join(crashed, 'checkpoint', 'state.json'), 'utf8'));
  assert.equal(state.step, 4);
  assert.deepEqual(state.validation.map((v: { step: number }) => v.step), [2, 4]);
  const resumed = await trainTracker({ config: cfg, outDir: crashed, progress: quiet, resume: true });
  const m2 = await loadModel(resumed.modelDir!);
  m2.net.dispose();
  const h2 = (m2.manifest.metrics.validation as { history: { step: number; auc: number }[] }).history;
  assert.deepEqual(h2.map((v) => [v.step, v.auc]), summary.history.map((v) => [(v as unknown as { step: number }).step, v.auc]));
});

test('a validation root that is the training data is refused, naming the field', async () => {
  await assert.rejects(
    trainTracker({ config: config({ steps: 2, validation: { root: dataRoot, layout: 'got10k', split: 'train' } }), outDir: path.join(dir, 'val-bad'), progress: quiet }),
    /config field "validation.root": .* is the training data/,
  );
});

test('a wasm out-of-memory inside a step is explained (4 GB heap, what to do); other errors pass through', async () => {
  const { explainStepError } = await import('../../training/train-tracker.js');
  const prev = tf.getBackend();
  await setBackend('wasm');
  try {
    const e = explainStepError(new Error('RuntimeError: memory access out of bounds'), 3, 8);
    assert.match(e.message, /^step 3: the wasm backend ran out of memory \(its heap is capped at 4 GB; batch 8\): .*--backend native-cpu.*lower batchSize/);
    const xnn = explainStepError(new Error('XNNPACK convolution setup failed with status 6'), 0, 8);
    assert.match(xnn.message, /ran out of memory/);
    const other = new Error('shapes do not match');
    assert.equal(explainStepError(other, 1, 8), other);
  } finally {
    await setBackend(prev);
  }
});

test('without a validation root, validation reads the training root\'s other GOT-10k split', async () => {
  // dataRoot holds only train/: the val split is missing, and the error names it — proof that the root was taken.
  await assert.rejects(
    trainTracker({ config: config({ steps: 2, validation: { layout: 'got10k', split: 'val' } }), outDir: path.join(dir, 'val-default'), progress: quiet }),
    (e: Error) => e.message.startsWith(`${path.join(dataRoot, 'val', 'list.txt')}: file not found`),
  );
});
