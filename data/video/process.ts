/**
 * Child-process plumbing shared by probe/decode/encode: spawn with every 'error' event handled, stderr captured (the
 * tail only, so a chatty ffmpeg cannot grow memory without bound), and a kill that waits until the process is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** At most this many bytes of stderr are kept (the end of it: ffmpeg prints the actual error last). */
const STDERR_TAIL_BYTES = 16 * 1024;

/** How a child process ended. `error` is set when it could not be spawned at all (ENOENT, EACCES). */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

/** A running ffmpeg/ffprobe with its captured stderr and a promise of its end. */
export interface Running {
  child: ChildProcess;
  /** Resolves (never rejects) once the process has exited and its stdio has closed. */
  exited: Promise<Exit>;
  /** The last STDERR_TAIL_BYTES of stderr so far, as text. */
  stderr(): string;
  /** SIGKILL the process (if still alive) and wait for it to be reaped. */
  kill(): Promise<Exit>;
}

/** Spawn `bin args` with stdio `[stdin, 'pipe', 'pipe']`; stdin is a pipe only when `stdin` is 'pipe'. */
export function run(bin: string, args: string[], stdin: 'pipe' | 'ignore' = 'ignore'): Running {
  const child = spawn(bin, args, { stdio: [stdin, 'pipe', 'pipe'], windowsHide: true });
  let tail = Buffer.alloc(0);
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = Buffer.concat([tail, chunk]);
    if (tail.length > 2 * STDERR_TAIL_BYTES) tail = tail.subarray(tail.length - STDERR_TAIL_BYTES);
  });
  // Broken pipes are reported through the exit status and stderr; an unhandled 'error' would crash the process.
  child.stdin?.on('error', () => {});
  child.stdout?.on('error', () => {});
  child.stderr?.on('error', () => {});
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const stderr = () => {
    const s = tail.length > STDERR_TAIL_BYTES ? tail.subarray(tail.length - STDERR_TAIL_BYTES) : tail;
    return s.toString('utf8');
  };
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL');
    child.stdout?.destroy();
    child.stdin?.destroy();
    return exited;
  };
  return { child, exited, stderr, kill };
}

/**
 * Run to completion collecting stdout (for ffprobe/`-version`; small outputs only). After `timeoutMs` (default: none)
 * the process is killed and the exit reports SIGKILL.
 */
export async function runToEnd(
  bin: string,
  args: string[],
  timeoutMs?: number,
): Promise<{ exit: Exit; stdout: string; stderr: string }> {
  const r = run(bin, args);
  const chunks: Buffer[] = [];
  r.child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => void r.kill(), timeoutMs);
  const exit = await r.exited;
  clearTimeout(timer);
  return { exit, stdout: Buffer.concat(chunks).toString('utf8'), stderr: r.stderr() };
}

/** "exit code 1" / "killed by SIGKILL" / "could not start: ENOENT …" */
export function describeExit(exit: Exit): string {
  if (exit.error) return `could not start: ${exit.error.message}`;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code}`;
}
