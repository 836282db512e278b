import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const run = (file: string, args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', file, ...args], { encoding: 'utf8', env: { ...process.env, ROT_TRACK_BACKEND: 'cpu' } });

test('train-classifier CLI: --help exits 0; usage errors exit 2 with a message', () => {
  const h = run('training/cli/train-classifier.ts', ['--help']);
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /--variant <v>\s+cnn \| ien \| het-ien \| gcnn-c4 \| steerable-c8/);
  assert.match(h.stdout, /--resume/);
  const noOut = run('training/cli/train-classifier.ts', ['--variant', 'ien']);
  assert.equal(noOut.status, 2);
  assert.match(noOut.stderr, /--out <dir> is required/);
  const badBeta = run('training/cli/train-classifier.ts', ['--variant', 'ien', '--out', '/tmp/x-never', '--beta', '1,2']);
  assert.equal(badBeta.status, 2);
  assert.match(badBeta.stderr, /field "betas"/);
});

test('eval-classifier CLI: --help exits 0; a missing model folder is an error naming it', () => {
  const h = run('training/cli/eval-classifier.ts', ['--help']);
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /--lg-count <n>/);
  const none = run('training/cli/eval-classifier.ts', []);
  assert.equal(none.status, 2);
  const missing = run('training/cli/eval-classifier.ts', ['--results', '/nonexistent/results.json']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /\/nonexistent\/results\.json: cannot read results/);
});
