/**
 * Helpers of the Redis-mode tests: a real `redis-server` of the test's own on a free loopback port (no persistence),
 * and the real entry points (`server/index.ts`, `server/worker.ts`) as child processes whose JSON log lines are
 * collected. Without redis-server the tests fail under CI=true and are skipped loudly otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { after, before } from 'node:test';
import type { Socket } from 'socket.io-client';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectRedis } from '../../server/redis.js';
import { freePort } from '../../server/load/cluster.js';

export { freePort };

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Why the Redis tests cannot run here (redis-server missing), or undefined; throws under CI=true instead. */
export function redisMissing(): string | undefined {
  if (spawnSync('redis-server', ['--version']).status === 0) return undefined;
  const why = 'redis-server is not installed (Debian: apt-get install redis-server); the Redis-mode tests did NOT run';
  if (process.env.CI === 'true') throw new Error(`${why} — CI=true requires them`);
  process.stderr.write(`\n*** SKIPPED: ${why} ***\n\n`);
  return why;
}

/** A running child process and the text it has written to stderr so far. */
export interface Child {
  proc: ChildProcess;
  err: () => string;
  /** Resolves with the first match of `re` in stderr (waiting up to `ms`); rejects if the child exits first. */
  line: (re: RegExp, ms?: number) => Promise<RegExpExecArray>;
  /** Exit code (or signal), once it has exited. */
  exited: Promise<number | string>;
}

const children: Child[] = [];

/** Spawn `node --import tsx <script> ...args` in the repository. */
export function spawnNode(script: string, args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const waiters: (() => void)[] = [];
  proc.stderr!.on('data', (d) => {
    err += d;
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  const line = (re: RegExp, ms = 60_000) => new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      const m = re.exec(err);
      if (m) {
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(check), 1);
        resolve(m);
      }
    };
    const timer = setTimeout(() => reject(new Error(`${script}: no ${re} in ${ms} ms: ${err.slice(-2000)}`)), ms);
    waiters.push(check);
    void exited.then((c) => {
      if (waiters.includes(check)) {
        clearTimeout(timer);
        reject(new Error(`${script} exited (${c}) before ${re}: ${err.slice(-2000)}`));
      }
    });
    check();
  });
  const c: Child = { proc, err: () => err, line, exited };
  children.push(c);
  return c;
}

/** SIGKILL every child still running (for `after`). */
export function killChildren(): void {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
}

/** A redis-server of the test's own; `stop()` ends it. */
export async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    try {
      (await connectRedis(url, 500)).disconnect();
      break;
    } catch (e) {
      if (Date.now() - t0 > 10_000) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    stop: async () => {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

/** Start `server/index.ts` in the Redis mode over `dir` (uploads in `dir/uploads`); resolves with its URL. */
export async function serveRedis(dir: string, redis: string, extra: string[] = []): Promise<{ url: string; child: Child }> {
  const child = spawnNode('server/index.ts', ['--port', '0', '--upload-dir', path.join(dir, 'uploads'), '--backend', 'wasm',
    '--eval-dir', path.join(dir, 'eval'), '--model-dir', path.join(dir, 'models'), '--redis', redis, ...extra]);
  const m = await child.line(/"event":"server.listening","url":"([^"]+)"/);
  return { url: m[1].replace(/\/$/, ''), child };
}

/** Start `server/worker.ts` on the same folders (lock of `lockMs`, so a killed worker's job is retried soon). */
export async function startWorker(dir: string, redis: string, lockMs = 3000): Promise<Child> {
  const child = spawnNode('server/worker.ts', ['--redis', redis, '--upload-dir', path.join(dir, 'uploads'), '--model-dir', path.join(dir, 'models'),
    '--eval-dir', path.join(dir, 'eval'), '--backend', 'wasm', '--concurrency', '1', '--lock-ms', String(lockMs)]);
  await child.line(/"event":"worker.ready"/);
  return child;
}

/** What `redisPair` starts: the folder, the Redis URL, servers A and B (B may be replaced), sockets to close. */
export interface RedisPair {
  dir: string;
  redis: string;
  a: { url: string; child: Child };
  b: { url: string; child: Child };
  sockets: Socket[];
}

/**
 * A redis-server of the file's own and two servers over one temp folder, started in `before` and stopped (with
 * every child and socket) in `after`; nothing starts when `skip` is set.
 */
export function redisPair(prefix: string, skip: unknown): RedisPair {
  const pair = { dir: '', redis: '', sockets: [] } as unknown as RedisPair;
  let server: Awaited<ReturnType<typeof startRedis>> | undefined;
  before(async () => {
    if (skip) return;
    pair.dir = await mkdtemp(path.join(tmpdir(), prefix));
    server = await startRedis();
    pair.redis = server.url;
    [pair.a, pair.b] = await Promise.all([serveRedis(pair.dir, server.url), serveRedis(pair.dir, server.url)]);
  });
  after(async () => {
    for (const s of pair.sockets) s.disconnect();
    killChildren();
    await server?.stop();
    if (pair.dir) await rm(pair.dir, { recursive: true, force: true });
  });
  return pair;
}
