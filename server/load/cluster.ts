/**
 * Processes for the load and soak scripts (not tests): a redis-server of the script's own on a free loopback port,
 * server processes (`server/index.ts`, embedded or Redis mode) and workers (`server/worker.ts`) over one folder, and
 * a small H.264 test video. Every process started here is SIGKILLed by `stopAll()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import path from 'node:path';
import { resolveFfmpeg } from '../../data/video.js';
import { ROOT } from '../config.js';

const started: ChildProcess[] = [];

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** A process of ours and everything it wrote to stderr. */
export interface Proc {
  child: ChildProcess;
  err: () => string;
  exited: Promise<number | string>;
}

function track(child: ChildProcess): Proc {
  started.push(child);
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  return { child, err: () => err, exited };
}

/** Spawn `node --import tsx <script> …args` in the repository. */
export function spawnNode(script: string, args: string[]): Proc {
  return track(spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] }));
}

async function until(what: string, p: Proc, test: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  let done = false;
  void p.exited.then(() => (done = true));
  const t0 = Date.now();
  while (!done && Date.now() - t0 < ms) {
    if (await test()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} ${done ? 'exited' : `did not come up in ${ms / 1000} s`}: ${p.err().slice(-1500)}`);
}

/** A redis-server (no persistence) on a free port; resolves with its URL. */
export async function startRedisServer(): Promise<string> {
  const port = await freePort();
  const p = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'ignore', 'pipe'] }));
  p.child.once('error', () => undefined);
  const url = `redis://127.0.0.1:${port}`;
  await until('redis-server (apt-get install redis-server)', p, async () => {
    try {
      const { connectRedis } = await import('../redis.js');
      (await connectRedis(url, 300)).disconnect();
      return true;
    } catch {
      return false;
    }
  }, 15_000);
  return url;
}

/** A server process over `dir`; `redis` selects the Redis mode. Resolves with its URL once it listens. */
export async function startServerProcess(dir: string, o: { redis?: string; backend: string; args?: string[] }): Promise<{ url: string; proc: Proc }> {
  const proc = spawnNode('server/index.ts', ['--port', '0', '--upload-dir', path.join(dir, 'uploads'), '--eval-dir', path.join(dir, 'eval'),
    '--backend', o.backend, '--log-level', 'info', ...(o.redis ? ['--redis', o.redis] : []), ...(o.args ?? [])]);
  let url = '';
  await until('server', proc, () => {
    const m = /"event":"server.listening","url":"([^"]+)"/.exec(proc.err());
    if (m) url = m[1].replace(/\/$/, '');
    return Boolean(m);
  });
  return { url, proc };
}

/** A worker process over `dir` (lock of `lockMs`); resolves once it is ready. */
export async function startWorkerProcess(dir: string, o: { redis: string; backend: string; lockMs?: number; concurrency?: number }): Promise<Proc> {
  const proc = spawnNode('server/worker.ts', ['--redis', o.redis, '--upload-dir', path.join(dir, 'uploads'), '--eval-dir', path.join(dir, 'eval'),
    '--backend', o.backend, '--concurrency', String(o.concurrency ?? 1), '--lock-ms', String(o.lockMs ?? 30_000)]);
  await until('worker', proc, () => proc.err().includes('"event":"worker.ready"'));
  return proc;
}

/** An H.264 mp4 of `frames` frames: a red 24×24 square moving right on grey, 160×120 at 25 fps. */
export async function makeTestVideo(file: string, frames: number): Promise<void> {
  const bin = (await resolveFfmpeg()).path;
  const graph = 'color=c=0x505050:s=160x120:r=25[bg];color=c=red:s=24x24:r=25[fg];[bg][fg]overlay=x=\'20+t*10\':y=40';
  await new Promise<void>((resolve, reject) => {
    const p = spawn(bin, ['-v', 'error', '-y', '-f', 'lavfi', '-i', graph, '-frames:v', String(frames), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg failed: ${err}`))));
  });
}

/** POST the file at `file` to `url`'s upload route; resolves with the upload id. */
export async function uploadVideo(url: string, file: string, bytes: Uint8Array): Promise<string> {
  const form = new FormData();
  form.append('video', new Blob([new Uint8Array(bytes)]), path.basename(file));
  const res = await fetch(`${url}/api/uploads`, { method: 'POST', body: form });
  const body = (await res.json()) as { ok: boolean; data?: { id: string }; error?: { message: string } };
  if (!body.ok || !body.data) throw new Error(`upload failed (${res.status}): ${body.error?.message}`);
  return body.data.id;
}

/** SIGKILL every process started here. */
export function stopAll(): void {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/**
 * Run a script's `body` in a temp folder of its own; afterwards (also on error) every process started here is killed
 * and the folder removed. An error is printed and ends the process with exit code 1.
 */
export function runWithCluster(prefix: string, body: (dir: string) => Promise<void>): void {
  const run = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), prefix));
    try {
      await body(dir);
    } finally {
      stopAll();
      await rm(dir, { recursive: true, force: true });
    }
  };
  run().catch((e) => {
    console.error(`${path.basename(process.argv[1] ?? 'script')}: ${(e as Error)?.message ?? e}`);
    stopAll();
    process.exit(1);
  });
}
