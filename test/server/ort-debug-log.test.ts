/**
 * The empty `mat-debug-<pid>.log` files onnxruntime leaves in $TMPDIR: swept for processes that are gone (never a
 * live process's, never a non-empty one), and a process's own removed when it exits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sweepOrtDebugLogs } from '../../server/ort-debug-log.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('sweep: empty logs of dead processes go; live, own and non-empty ones stay', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'rot-track-matlog-'));
  try {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    await writeFile(path.join(dir, `mat-debug-${dead}.log`), '');
    await writeFile(path.join(dir, `mat-debug-${process.pid}.log`), '');
    await writeFile(path.join(dir, `mat-debug-${process.ppid}.log`), '');
    await writeFile(path.join(dir, 'mat-debug-999999999.log'), 'something logged');
    await writeFile(path.join(dir, 'other.log'), '');
    assert.equal(sweepOrtDebugLogs(dir), 1);
    assert.deepEqual((await readdir(dir)).sort(), [`mat-debug-${process.pid}.log`, `mat-debug-${process.ppid}.log`, 'mat-debug-999999999.log', 'other.log'].sort());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a process that loaded the helper removes its own empty log at exit', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'rot-track-matlog-'));
  try {
    const code = `import('./server/ort-debug-log.ts').then(async (m) => { m.removeOwnOrtDebugLogAtExit(${JSON.stringify(dir)}); (await import('node:fs')).writeFileSync(${JSON.stringify(dir)} + '/mat-debug-' + process.pid + '.log', ''); process.stdout.write(String(process.pid)); })`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d+$/);
    assert.equal(existsSync(path.join(dir, `mat-debug-${r.stdout}.log`)), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
