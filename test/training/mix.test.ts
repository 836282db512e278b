import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import path from 'node:path';
import { tf } from '../../tracker/tf.js';
import { writeSyntheticDataset } from '../../data/synthetic.js';
import { DEFAULT_SPLIT_FILE, loadSequenceSplit, splitSequences } from '../../data/split.js';
import { openMixedDataset } from '../../training/data.js';
import { type TrainingSequence, epochOrder, prepareSequences } from '../../training/pairs.js';
import { derivedRng, RNG_PURPOSE } from '../../training/rng.js';
import { parseTrainConfig } from '../../training/config.js';
import { trainTracker } from '../../training/train-tracker.js';
import { OTB_MINI, sharedDataSkip } from '../helpers/shared-data.js';

let dir = '';
let otb = '';
let split = '';
before(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(path.join(os.tmpdir(), 'mix-'));
  otb = path.join(dir, 'real');
  await writeSyntheticDataset(otb, { seed: 2, count: 3, frames: 8, width: 200, height: 160, targetSize: [0.25, 0.35] }, 'otb');
  split = path.join(dir, 'split.json');
  writeFileSync(split, JSON.stringify({ datasets: { real: { train: ['Synthetic_0001', 'Synthetic_0003'], val: [], test: ['Synthetic_0002'] } } }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const seqs = (sources: number[]): TrainingSequence[] => sources.map((s, i) => ({ seq: { name: `s${i}`, frames: [], groundTruth: [], meta: {} }, valid: [0, 1], width: 1, height: 1, source: s }));
const opts = { batchSize: 8, pairsPerSequence: 2, maxGap: 100, augment: { maxStretch: 0.05, rotation: { kind: 'none' as const, maxDegrees: 180, independent: true } }, seed: 3, stride: 4 };

test('one dataset: the epoch order is siamfc-pytorch\'s shuffle of sequences × pairsPerSequence, as before mixes existed', () => {
  const s = seqs([0, 0, 0, 0, 0]);
  const old = derivedRng(3, RNG_PURPOSE.epochOrder, 4).shuffle(Array.from({ length: 10 }, (_, i) => i)).map((i) => i % 5);
  assert.deepEqual(epochOrder(4, s, opts), old);
});

test('a mix shares each epoch among the sources by weight, cycling through a small source and subsampling a large one', () => {
  // source 0: 2 sequences, source 1: 18 sequences; weights 0.5 / 0.5 → 20 of the 40 items each
  const s = seqs([0, 0, ...new Array(18).fill(1)]);
  const order = epochOrder(0, s, { ...opts, sourceWeights: [0.5, 0.5] });
  assert.equal(order.length, 40);
  const from0 = order.filter((i) => i < 2);
  assert.equal(from0.length, 20);
  assert.equal(from0.filter((i) => i === 0).length, 10, 'the small source cycles evenly');
  const from1 = new Set(order.filter((i) => i >= 2));
  assert.equal(from1.size, 18, 'every sequence of the large source appears');
  assert.notDeepEqual(epochOrder(1, s, { ...opts, sourceWeights: [0.5, 0.5] }), order, 'each epoch has its own order');
  const heavy = epochOrder(0, s, { ...opts, sourceWeights: [3, 1] });
  assert.equal(heavy.filter((i) => i < 2).length, 30);
});

test('a mix: OTB sequences only through the split\'s train side, names prefixed; a missing stills set names the field', async () => {
  const syn = path.join(dir, 'syn');
  const mix = await openMixedDataset([
    { name: 'real', layout: 'otb', root: otb, split: 'train', sequenceSplit: split, synthetic: {}, weight: 1 },
    { name: 'syn', layout: 'synthetic', root: syn, split: 'train', synthetic: { seed: 1, count: 2, frames: 6, width: 200, height: 160, targetSize: [0.25, 0.35] }, weight: 1 },
  ]);
  assert.deepEqual(mix.names(), ['real/Synthetic_0001', 'real/Synthetic_0003', 'syn/GOT-10k_Train_000001', 'syn/GOT-10k_Train_000002']);
  assert.equal(mix.sourceOf('syn/GOT-10k_Train_000002'), 1);
  assert.equal((await mix.sequence('real/Synthetic_0003')).name, 'real/Synthetic_0003');
  const prepared = await prepareSequences(mix);
  assert.deepEqual(prepared.sequences.map((s) => s.source), [0, 0, 1, 1]);
  await assert.rejects(openMixedDataset([{ name: 'st', layout: 'stills', root: path.join(dir, 'no-stills'), split: 'train', synthetic: {}, weight: 1 }]),
    /config field "data\.sources\[0\]\.root": .*no-stills holds no still-image set .*npm run data:real -- --out/);
  await assert.rejects(openMixedDataset([{ layout: 'otb', root: otb, split: 'train', sequenceSplit: path.join(dir, 'nosplit.json'), synthetic: {}, weight: 1 }]),
    /config field "data\.sources\[0\]\.sequenceSplit": .*nosplit\.json: cannot read the split file/);
  await assert.rejects(openMixedDataset([
    { name: 'a', layout: 'otb', root: otb, split: 'train', synthetic: {}, weight: 1 },
    { name: 'a', layout: 'otb', root: otb, split: 'train', synthetic: {}, weight: 1 },
  ]), /config field "data\.sources\[1\]\.name": "a" is used by another source/);
});

test('training with a missing source fails before the first step, naming the field; the manifest records each source', async () => {
  const out = path.join(dir, 'run');
  const base = { variant: 'siamfc', backbone: 'tiny', batchSize: 2, steps: 2, epochs: 1, backend: 'cpu', prefetch: 0 };
  const bad = parseTrainConfig({ ...base, data: { sources: [
    { name: 'real', layout: 'otb', root: otb, sequenceSplit: split },
    { name: 'stills', layout: 'stills', root: path.join(dir, 'missing-stills') },
  ] } });
  await assert.rejects(trainTracker({ config: bad, outDir: out, progress: () => undefined }), /data\.sources\[1\]\.root/);
  assert.equal(existsSync(path.join(out, 'log.jsonl')), false, 'nothing trained');
  const good = parseTrainConfig({ ...base, data: { sources: [
    { name: 'real', layout: 'otb', root: otb, sequenceSplit: split, weight: 2 },
    { name: 'syn', layout: 'synthetic', root: path.join(dir, 'syn2'), synthetic: { seed: 4, count: 2, frames: 6, width: 200, height: 160, targetSize: [0.25, 0.35] } },
  ] } });
  const r = await trainTracker({ config: good, outDir: path.join(dir, 'run2'), progress: () => undefined });
  const data = (r.manifest!.provenance as { data: { sources: { name: string; weight: number; sequenceNames: string[] }[] } }).data;
  assert.deepEqual(data.sources.map((s) => [s.name, s.weight, s.sequenceNames]), [
    ['real', 2, ['Synthetic_0001', 'Synthetic_0003']], ['syn', 1, ['GOT-10k_Train_000001', 'GOT-10k_Train_000002']],
  ]);
});

test('split files: a sequence on two sides, a missing dataset entry and an unknown sequence are errors naming the file', () => {
  const two = path.join(dir, 'two.json');
  writeFileSync(two, JSON.stringify({ datasets: { real: { train: ['A'], test: ['A'] } } }));
  assert.throws(() => loadSequenceSplit(two), /two\.json: field "datasets\.real\.test": sequence "A" is also in "train"/);
  assert.throws(() => splitSequences(split, path.join(dir, 'other'), 'train'), /split\.json: no entry for dataset "other"/);
  const ghost = path.join(dir, 'ghost.json');
  writeFileSync(ghost, JSON.stringify({ datasets: { real: { train: ['Nope'] } } }));
  assert.throws(() => splitSequences(ghost, otb, 'train', ['Synthetic_0001']), /names Nope, not found in/);
});

test('the committed split puts every real sequence under ../shared/data on exactly one side; otb-mini is all test', (t) => {
  const skip = sharedDataSkip();
  if (skip) return t.skip(skip);
  const s = loadSequenceSplit(DEFAULT_SPLIT_FILE); // also checks that no sequence is on two sides
  for (const root of [OTB_MINI, path.join(path.dirname(OTB_MINI), 'otb-real')]) {
    const key = path.basename(root);
    const folders = readdirSync(root).filter((n) => existsSync(path.join(root, n, 'img'))).sort();
    const listed = [...s.datasets[key].train, ...s.datasets[key].val, ...s.datasets[key].test].sort();
    assert.deepEqual(listed, folders, `${key}: every sequence folder is listed once`);
  }
  assert.deepEqual(s.datasets['otb-mini'].train, []);
  assert.deepEqual([...s.datasets['otb-mini'].test].sort(), ['Bag', 'Crossing', 'Surfer']);
});
