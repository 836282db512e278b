import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main as rotOtb } from '../../data/cli/rot-otb.js';
import { main as synthetic } from '../../data/cli/synthetic.js';
import { OtbDataset } from '../../data/otb.js';
import { rotateBoxBounds } from '../../tracker/geometry.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Run a CLI in-process, collecting its output. */
async function call(cli: typeof rotOtb, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '', stderr = '';
  const code = await cli(args, { write: (s: string) => (stdout += s) }, { write: (s: string) => (stderr += s) });
  return { code, stdout, stderr };
}

test('the CLIs run as scripts: --help exits 0, an unknown flag exits 2 with a message', () => {
  // Two real processes only (tsx start-up is slow on a busy 2-core machine); the rest is tested in-process.
  const h = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'data/cli/rot-otb.ts'), '--help'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /Usage: rot-otb --src/);
  const u = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'data/cli/synthetic.ts'), '--out', 'x', '--colour', 'red'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(u.status, 2);
  assert.match(u.stderr, /synthetic: Unknown option '--colour'/);
});

test('rot-otb CLI: help, unknown flags and bad values are usage errors (exit 2); a missing root exits 1', async () => {
  const h = await call(rotOtb, ['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--box-rule/);
  const cases: [string[], RegExp][] = [
    [['--src', 'x', '--out', 'y', '--speed', '2'], /Unknown option '--speed'/],
    [['--out', 'y'], /--src is required/],
    [['--src', 'x', '--out', 'y', '--delta', '0.5,fast'], /--delta: "fast" is not a number/],
    [['--src', 'x', '--out', 'y', '--box-rule', 'tight'], /--box-rule: Invalid enum value/],
    [['--src', 'x', '--out', 'y', '--center', '1'], /--center: expected 2 comma-separated numbers/],
    [['--src', 'x', '--out', 'y', '--fill', '0,0,300'], /--fill: Number must be less than or equal to 255/],
    [['--src', 'x', '--out', 'y', '--quality', '0'], /--quality must be an integer 1-100/],
  ];
  for (const [args, re] of cases) {
    const r = await call(rotOtb, args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re);
    assert.match(r.stderr, /Run with --help/);
  }
  const m = await call(rotOtb, ['--src', '/nonexistent/otb', '--out', 'y']);
  assert.equal(m.code, 1);
  assert.match(m.stderr, /\/nonexistent\/otb: OTB root folder not found/);
});

test('synthetic CLI: bad values are usage errors naming the flag', async () => {
  const cases: [string[], RegExp][] = [
    [['--count', '2'], /--out is required/],
    [['--out', 'x', '--frames', '1'], /--frames: Number must be greater than or equal to 2/],
    [['--out', 'x', '--seed', '1.5'], /--seed: Expected integer/],
    [['--out', 'x', '--layout', 'vot'], /--layout must be got10k or otb/],
    [['--out', 'x', '--rotation-rate', 'fast'], /--rotation-rate: "fast" is not a number/],
    [['--out', 'x', '--format', 'gif'], /--format: Invalid enum value/],
  ];
  for (const [args, re] of cases) {
    const r = await call(synthetic, args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re);
  }
  const b = await call(synthetic, ['--out', 'x', '--backgrounds', '/nonexistent/bg']);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /backgrounds folder not found: \/nonexistent\/bg/);
});

test('synthetic CLI then rot-otb CLI: a Δ sweep over a synthetic OTB dataset', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'data-cli-'));
  try {
    const s = await call(synthetic, ['--out', path.join(root, 'syn'), '--layout', 'otb', '--count', '1', '--frames', '3', '--width', '48', '--height', '32', '--seed', '4', '--rotation-rate', '3']);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /wrote 1 otb sequences/);
    const r = await call(rotOtb, ['--src', path.join(root, 'syn'), '--out', path.join(root, 'rot'), '--delta', '0,2', '--fill', '0,0,0']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(path.join(root, 'rot')).sort(), ['RotOTB-d0-f0_0_0', 'RotOTB-d2-f0_0_0']);
    const a = await new OtbDataset(path.join(root, 'syn')).sequence('Synthetic_0001');
    const b = await new OtbDataset(path.join(root, 'rot', 'RotOTB-d2-f0_0_0')).sequence('Synthetic_0001');
    // Frame 3 (t = 2) of the Δ = 2 dataset: rotated 4° about the centre (24, 16) of the 48×32 frames.
    const want = rotateBoxBounds(a.groundTruth[2], 4, 24, 16);
    for (const k of ['x', 'y', 'width', 'height'] as const) assert.ok(Math.abs(b.groundTruth[2][k] - want[k]) < 1e-3, k);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
