#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's built-in test runner (TypeScript through tsx).
// Node 20's --test takes no glob patterns, so the files are listed here. Extra arguments are passed to node
// (e.g. `npm test -- --test-name-pattern=iou`); a path argument ending in .test.ts restricts the run to it.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const args = process.argv.slice(2);
const explicit = args.filter((a) => a.endsWith('.test.ts'));
const flags = args.filter((a) => !a.endsWith('.test.ts'));
const files = explicit.length ? explicit : find('test');
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...flags, ...files], {
  stdio: 'inherit',
});
// onnxruntime leaves an empty $TMPDIR/mat-debug-<pid>.log per process that used it (server/ort-debug-log.ts).
const { tsImport } = await import('tsx/esm/api');
const { sweepOrtDebugLogs } = await tsImport('../server/ort-debug-log.ts', import.meta.url);
sweepOrtDebugLogs();
process.exit(r.status ?? 1);
