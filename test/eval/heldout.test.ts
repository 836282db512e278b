import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import path from 'node:path';
import { tf } from '../../tracker/tf.js';
import { Backbone } from '../../tracker/backbones.js';
import { alexnetSpec } from '../../tracker/backbone-spec.js';
import { SiamFCNet } from '../../tracker/siamfc/network.js';
import { saveModel } from '../../tracker/node/model-files.js';
import { writeSyntheticDataset } from '../../data/synthetic.js';
import { trainedOn, trainingSequenceNames } from '../../eval/training-overlap.js';
import { concatDatasets, openDataset } from '../../eval/datasets.js';
import type { ModelManifest } from '../../tracker/weights.js';

const CLI = path.resolve('eval/cli/eval.ts');
let dir = '';
let root = '';

before(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(path.join(os.tmpdir(), 'heldout-'));
  root = path.join(dir, 'otb');
  await writeSyntheticDataset(root, { seed: 5, count: 2, frames: 12, width: 96, height: 72, distractors: 0, occlusionProb: 0 }, 'otb');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const manifest = (data: unknown): ModelManifest => ({ provenance: { data } } as unknown as ModelManifest);

test('training-overlap: real sources of a mix and legacy OTB/GOT-10k manifests count; stills and synthetic do not', () => {
  const mix = manifest({ sources: [
    { name: 'stills', layout: 'stills', sequenceNames: ['GOT-10k_Train_000001'] },
    { name: 'otb-real', layout: 'otb', sequenceNames: ['Car4', 'uav_bike1'] },
    { name: 'synthetic', layout: 'synthetic', sequenceNames: ['GOT-10k_Train_000002'] },
  ] });
  assert.deepEqual(trainingSequenceNames(mix), ['Car4', 'uav_bike1']);
  assert.deepEqual(trainedOn(mix, ['Bag', 'Car4', 'GOT-10k_Train_000001']), ['Car4']);
  assert.deepEqual(trainedOn(manifest({ layout: 'otb', sequenceNames: ['Bag'] }), ['Bag', 'Surfer']), ['Bag']);
  assert.deepEqual(trainedOn(manifest({ layout: 'synthetic', sequenceNames: ['Bag'] }), ['Bag']), []);
  assert.deepEqual(trainedOn(null, ['Bag']), []);
});

test('eval refuses a model whose manifest lists an evaluated sequence as training data, and names it', async () => {
  const model = path.join(dir, 'trained-on-1');
  const net = new SiamFCNet(new Backbone(alexnetSpec({ widthMultiplier: 0.0625, exemplarSize: 63, instanceSize: 127 })));
  await saveModel(model, net, { variant: 'siamfc', provenance: { data: { sources: [{ name: 'real', layout: 'otb', sequenceNames: ['Synthetic_0001'] }] } } });
  net.dispose();
  const out = path.join(dir, 'refused');
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--trackers', model, '--otb', root, '--out', out, '--workers', '0', '--backend', 'cpu', '--no-png'],
    { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, /trained-on-1: refused — its manifest lists Synthetic_0001 as training data/);
  assert.equal(existsSync(path.join(out, 'results')), false);
  // on the sequence it did not see, it runs
  const ok = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--trackers', model, '--otb', root, '--sequences', 'Synthetic_0002', '--out', out,
    '--workers', '0', '--backend', 'cpu', '--no-png'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /trained-on-1\tsuccess AUC/);
});

test('several OTB roots evaluate as one benchmark; a name in two roots is an error naming both', async () => {
  const second = path.join(dir, 'otb2');
  await writeSyntheticDataset(second, { seed: 6, count: 1, frames: 8, width: 96, height: 72 }, 'otb');
  assert.throws(() => openDataset({ layout: 'otb', root: [root, second], split: 'val' }), /Synthetic_0001" is in both otb and otb2/);
  const a = openDataset({ layout: 'otb', root, split: 'val' });
  const renamed = { name: 'b', names: () => ['Other'], sequence: (n: string) => a.sequence(n === 'Other' ? 'Synthetic_0001' : n) };
  const both = concatDatasets([a, renamed]);
  assert.deepEqual(both.names(), ['Synthetic_0001', 'Synthetic_0002', 'Other']);
  assert.equal((await both.sequence('Other')).frames.length, 12);
});
