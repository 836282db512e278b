/**
 * onnxruntime-node's bundled telemetry layer (the 1DS "PAL", strings `mat-debug-` and `traceFolderPath` in
 * libonnxruntime.so) opens an empty `$TMPDIR/mat-debug-<pid>.log` in every process that creates a session, and
 * never removes it; onnxruntime-node offers no switch for it. We remove the empty ones: our own at exit, and those
 * of processes that are gone (after a test run, at server start).
 */
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const NAME = /^mat-debug-(\d+)\.log$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeIfEmpty(file: string): boolean {
  try {
    if (statSync(file).size !== 0) return false;
    unlinkSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Remove the empty debug logs in `dir` of processes no longer running; returns how many. */
export function sweepOrtDebugLogs(dir = tmpdir()): number {
  let n = 0;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const m = NAME.exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1])) && removeIfEmpty(path.join(dir, name))) n++;
  }
  return n;
}

/** Remove this process's empty debug log when it exits. */
export function removeOwnOrtDebugLogAtExit(dir = tmpdir()): void {
  process.once('exit', () => removeIfEmpty(path.join(dir, `mat-debug-${process.pid}.log`)));
}
