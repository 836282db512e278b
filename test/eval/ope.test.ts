import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../../tracker/tf.js';
import { writeSyntheticDataset } from '../../data/synthetic.js';
import { runOpe } from '../../eval/ope.js';
import { SiamFCNet } from '../../tracker/siamfc.js';
import { Backbone } from '../../tracker/backbones.js';
import { alexnetSpec } from '../../tracker/backbone-spec.js';
import { saveModel } from '../../tracker/node/model-files.js';

const CLI = path.resolve('eval/cli/eval.ts');
let dir = '';
let root = '';

before(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(path.join(os.tmpdir(), 'ope-'));
  root = path.join(dir, 'otb');
  await writeSyntheticDataset(root, { seed: 3, count: 3, frames: 30, width: 96, height: 72, distractors: 0, occlusionProb: 0 }, 'otb');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function boxFiles(out: string): Record<string, string> {
  const d = path.join(out, 'OTB2015', 'template-matching');
  if (!existsSync(d)) return {};
  return Object.fromEntries(readdirSync(d).filter((f) => f.endsWith('.txt')).map((f) => [f, readFileSync(path.join(d, f), 'utf8')]));
}

function cli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
}

test('in-process run writes toolkit-layout results; a second run skips every finished sequence', async () => {
  const out = path.join(dir, 'a');
  const r1 = await runOpe({ trackers: ['template-matching'], dataset: { layout: 'otb', root, split: 'val' }, resultsRoot: out, workers: 0 });
  assert.equal(r1.ran.length, 3);
  assert.deepEqual(r1.failed, []);
  const files = boxFiles(out);
  assert.equal(Object.keys(files).length, 3);
  for (const text of Object.values(files)) assert.equal(text.trim().split('\n').length, 30);
  assert.ok(existsSync(path.join(out, 'OTB2015', 'template-matching', 'times')));
  const r2 = await runOpe({ trackers: ['template-matching'], dataset: { layout: 'otb', root, split: 'val' }, resultsRoot: out, workers: 0 });
  assert.equal(r2.ran.length, 0);
  assert.equal(r2.skipped.length, 3);
});

test('worker threads give the same boxes as the in-process run', async () => {
  const out = path.join(dir, 'w');
  const r = await runOpe({ trackers: ['template-matching'], dataset: { layout: 'otb', root, split: 'val' }, resultsRoot: out, workers: 2, backend: 'cpu' });
  assert.equal(r.ran.length, 3);
  assert.deepEqual(boxFiles(out), boxFiles(path.join(dir, 'a')));
});

test('killed halfway (SIGKILL) and run again: finished sequences are not redone, final results equal an uninterrupted run', async () => {
  const out = path.join(dir, 'k');
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--trackers', 'template-matching', '--otb', root, '--out', out,
    '--workers', '1', '--backend', 'cpu', '--no-png'], { stdio: 'ignore' });
  const killedWith = await new Promise<number>((resolve, reject) => {
    const iv = setInterval(() => {
      const n = Object.keys(boxFiles(path.join(out, 'results'))).length;
      if (n >= 1) {
        clearInterval(iv);
        child.kill('SIGKILL');
        resolve(n);
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(iv);
      reject(new Error('the run finished before it could be killed'));
    });
  });
  await new Promise((r) => child.once('exit', r));
  assert.ok(killedWith < 3, `killed with ${killedWith} sequences done`);
  const done = Object.keys(boxFiles(path.join(out, 'results'))).length;
  const again = cli(['--trackers', 'template-matching', '--otb', root, '--out', out, '--workers', '0', '--backend', 'cpu', '--no-png']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`\\(${done} already done\\)`));
  assert.deepEqual(boxFiles(path.join(out, 'results')), boxFiles(path.join(dir, 'a')));
  assert.ok(existsSync(path.join(out, 'report-OTB2015', 'report.md')));
  // no temp files left looking like results
  const left = readdirSync(path.join(out, 'results', 'OTB2015', 'template-matching')).filter((f) => !/^(Synthetic_\d+\.txt|times)$/.test(f));
  assert.deepEqual(left, []);
});

test('bad input: unknown tracker, missing weights, missing dataset, empty dataset, bad flag — clear errors, non-zero exit', () => {
  const unknown = cli(['--trackers', 'nope', '--otb', root, '--out', path.join(dir, 'x')]);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /unknown tracker "nope": available are .*template-matching/);
  const weights = cli(['--trackers', path.join(dir, 'no-model'), '--otb', root, '--out', path.join(dir, 'x')]);
  assert.equal(weights.status, 1);
  assert.match(weights.stderr, /no-model: model file or folder does not exist/);
  const missing = cli(['--trackers', 'template-matching', '--otb', path.join(dir, 'nowhere'), '--out', path.join(dir, 'x')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nowhere does not exist/);
  const empty = cli(['--trackers', 'template-matching', '--otb', path.join(dir, 'a'), '--out', path.join(dir, 'x')]);
  assert.equal(empty.status, 1);
  assert.match(empty.stderr, /no OTB sequence folders/);
  const flag = cli(['--trackers', 'template-matching', '--otb', root, '--frobnicate']);
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /frobnicate/);
  assert.equal(existsSync(path.join(dir, 'x', 'results')), false);
});

test('a model given by path (with weights) runs through the CLI and its results land under the folder name', async () => {
  const model = path.join(dir, 'my-model');
  const net = new SiamFCNet(new Backbone(alexnetSpec({ widthMultiplier: 0.0625, exemplarSize: 63, instanceSize: 127 })));
  await saveModel(model, net, { variant: 'siamfc' });
  net.dispose();
  const out = path.join(dir, 'm');
  const r = cli(['--trackers', model, '--otb', root, '--sequences', 'Synthetic_0001', '--out', out, '--workers', '0', '--backend', 'cpu', '--no-png']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /OTB2015\tmy-model\tsuccess AUC \d\.\d{3}/);
  assert.ok(existsSync(path.join(out, 'results', 'OTB2015', 'my-model', 'Synthetic_0001.txt')));
});
