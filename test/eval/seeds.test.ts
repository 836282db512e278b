// Results over training seeds: names group into configs, mean ± sample sd over seeds, seed-averaged per-sequence AUCs
// with a bootstrap interval, paired differences between configs, L_G averaged over seeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairedConfigs, sampleSd, splitSeed, summariseConfigs, type ReportTracker } from '../../eval/seeds.js';

const run = (tracker: string, aucs: number[], lg?: number[]): ReportTracker => ({
  tracker,
  overall: { successAuc: aucs.reduce((a, b) => a + b, 0) / aucs.length, precision: 0.5 },
  sequences: aucs.map((a, i) => ({ name: `seq${i}`, successAuc: a, precision: 0.5 })),
  meta: lg ? { equivarianceError: lg, equivarianceErrorNormalised: lg.map((v) => v * 10), layerNames: lg.map((_, i) => `conv${i + 1}`) } : undefined,
});

test('names: <config>-s<seed>[+rot<T>] group by config; other names stand alone', () => {
  assert.deepEqual(splitSeed('ien-b0.01-s3'), { config: 'ien-b0.01', seed: '3' });
  assert.deepEqual(splitSeed('ien-b0.01-s3+rot8'), { config: 'ien-b0.01+rot8', seed: '3' });
  assert.deepEqual(splitSeed('template-matching'), { config: 'template-matching', seed: '' });
  assert.equal(sampleSd([1]), 0);
  assert.ok(Math.abs(sampleSd([1, 2, 3]) - 1) < 1e-12);
});

test('configs: mean ± sd over seeds, seed-averaged sequences, L_G means; paired differences', () => {
  const configs = summariseConfigs([
    run('a-s1', [0.2, 0.4, 0.6], [1, 2]), run('a-s2', [0.4, 0.6, 0.8], [3, 4]),
    run('b-s1', [0.1, 0.3, 0.5]), run('template-matching', [0.1, 0.1, 0.1]),
  ]);
  assert.deepEqual(configs.map((c) => c.config), ['a', 'b', 'template-matching']);
  const [a, b] = configs;
  assert.deepEqual(a.seeds, ['1', '2']);
  assert.ok(Math.abs(a.auc.mean - 0.5) < 1e-12);
  assert.ok(Math.abs(a.auc.sd - Math.SQRT1_2 * 0.2) < 1e-12);
  assert.deepEqual([...a.perSequence.values()].map((v) => +v.toFixed(6)), [0.3, 0.5, 0.7]);
  assert.ok(a.interval.lo <= 0.5 && a.interval.hi >= 0.5);
  assert.deepEqual(a.lg, { layers: ['conv1', 'conv2'], absolute: [2, 3], normalised: [20, 30] });
  assert.equal(b.lg, undefined);
  const d = pairedConfigs(a, b);
  assert.equal(d.sequences, 3);
  // every sequence differs by exactly 0.2: the interval collapses onto it
  assert.ok(Math.abs(d.mean - 0.2) < 1e-12 && Math.abs(d.lo - 0.2) < 1e-9 && Math.abs(d.hi - 0.2) < 1e-9);
  assert.throws(() => pairedConfigs(a, { ...b, perSequence: new Map([['other', 1]]) }), /share no sequence/);
});

test('eval:seeds CLI: tables from report.json files; missing folders and bad JSON are named', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'seeds-'));
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'eval/cli/seeds.ts', ...args], { encoding: 'utf8' });
  try {
    mkdirSync(path.join(dir, 'report-RotOTB-d1'));
    const report = { benchmark: 'RotOTB-d1', trackers: [run('a-s1', [0.2, 0.4]), run('a-s2', [0.4, 0.6]), run('b-s1', [0.1, 0.3])] };
    writeFileSync(path.join(dir, 'report-RotOTB-d1', 'report.json'), JSON.stringify(report));
    const ok = cli(['--out', dir, '--pairs', 'a:b', '--json', path.join(dir, 'out.json')]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /\| a \| 2 \| 0\.400 ± 0\.141 \|/);
    // b has one seed: its spread is not measured
    assert.ok(ok.stdout.includes('| a − b | +0.200 [+0.200, +0.200] clear | 2 | — | one seed |'), ok.stdout);
    const missing = cli(['--out', path.join(dir, 'nope')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope: no such folder/);
    writeFileSync(path.join(dir, 'report-RotOTB-d1', 'report.json'), '{');
    const bad = cli(['--out', dir]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /report\.json: not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
