import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dir = mkdtempSync(path.join(tmpdir(), 'rot-track-train-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'training/cli/train.ts', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--help prints the usage and exits 0', () => {
  const r = run(['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: npm run train -- --out <dir>/);
  for (const flag of ['--config', '--data', '--layout', '--resume', '--steps', '--backend']) assert.ok(r.stdout.includes(flag), flag);
});

test('bad input exits non-zero with a message naming the field or file', () => {
  const missingOut = run(['--steps', '3']);
  assert.equal(missingOut.code, 2);
  assert.match(missingOut.stderr, /--out <dir> is required/);

  const unknownFlag = run(['--out', dir, '--backbone-typo', 'x']);
  assert.equal(unknownFlag.code, 2, 'an unknown flag is a usage error');
  assert.match(unknownFlag.stderr, /backbone-typo/);

  const cfg = path.join(dir, 'exp.json');
  writeFileSync(cfg, JSON.stringify({ variant: 'siamfc-xl' }));
  const badVariant = run(['--config', cfg, '--out', path.join(dir, 'o1')]);
  assert.equal(badVariant.code, 1);
  assert.match(badVariant.stderr, /exp\.json: field "variant"/);

  const empty = path.join(dir, 'empty');
  mkdirSync(path.join(empty, 'train'), { recursive: true });
  writeFileSync(path.join(empty, 'train', 'list.txt'), '');
  const noSeq = run(['--data', empty, '--layout', 'got10k', '--out', path.join(dir, 'o2'), '--backend', 'cpu']);
  assert.equal(noSeq.code, 1);
  assert.match(noSeq.stderr, /empty.*no usable training sequence among 0/);
});
