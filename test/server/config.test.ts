/**
 * Configuration parsing (flags over environment over defaults, clear errors), the token bucket, and `npm start`'s
 * entry point as a real process: it listens, serves, and exits 0 on SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, ENV, loadConfig } from '../../server/config.js';
import { TokenBuckets } from '../../server/rate-limit.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('config: defaults, environment, and flags (which win)', () => {
  const d = loadConfig([], {});
  assert.equal(d.port, 3000);
  assert.equal(d.host, '127.0.0.1');
  assert.equal(d.backend, 'auto');
  const e = loadConfig([], { PORT: '8080', ROT_TRACK_MAX_UPLOAD_MB: '12.5', ROT_TRACK_BACKEND: 'wasm' });
  assert.deepEqual([e.port, e.maxUploadMb, e.backend], [8080, 12.5, 'wasm']);
  const f = loadConfig(['--port', '9090', '--upload-dir=/tmp/x', '--job-concurrency', '64'], { PORT: '8080' });
  assert.deepEqual([f.port, f.uploadDir], [9090, '/tmp/x']);
  assert.equal(f.jobConcurrency, availableParallelism(), 'concurrency is capped at the number of cores');
});

test('config: bad settings throw ConfigError naming the flag or variable', () => {
  assert.throws(() => loadConfig(['--prot', '1'], {}), (e: Error) => e instanceof ConfigError && /unknown flag --prot/.test(e.message));
  assert.throws(() => loadConfig(['--port'], {}), /--port needs a value/);
  assert.throws(() => loadConfig(['--port', 'abc'], {}), /--port \/ PORT/);
  assert.throws(() => loadConfig([], { PORT: '70000' }), /--port \/ PORT/);
  assert.throws(() => loadConfig(['stray'], {}), /unexpected argument "stray"/);
  assert.throws(() => loadConfig(['--max-cam-frame-bytes', '9000000', '--max-message-bytes', '4000'], {}), /maxCamFrameBytes|max-cam-frame-bytes/);
});

test('token bucket: a burst passes, then the sustained rate', () => {
  let now = 0;
  const b = new TokenBuckets(2, 3, () => now);
  assert.deepEqual([b.take('a'), b.take('a'), b.take('a'), b.take('a')], [true, true, true, false]);
  assert.equal(b.take('b'), true, 'keys are independent');
  now += 500; // one token back at 2/s
  assert.deepEqual([b.take('a'), b.take('a')], [true, false]);
  now += 10_000;
  assert.deepEqual([b.take('a'), b.take('a'), b.take('a'), b.take('a')], [true, true, true, false], 'never more than the burst');
  b.delete('a');
  assert.equal(b.size, 1);
});

test('npm start entry: listens on the configured port, serves, and exits 0 on SIGTERM', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'rot-track-index-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts', '--port', '0', '--upload-dir', dir, '--backend', 'wasm', '--eval-dir', dir], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in 45 s: ${err}`)), 45_000);
      child.stderr.on('data', (d) => {
        err += d;
        const m = /"event":"server.listening","url":"([^"]+)"/.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
    });
    const h = await (await fetch(`${url}api/health`)).json();
    assert.equal(h.data.backend, 'wasm');
    assert.ok(err.split('\n').filter(Boolean).every((l) => l.startsWith('{')), `every log line is JSON:\n${err}`);
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    assert.equal(code, 0);
    assert.match(err, /"event":"server.stopping","signal":"SIGTERM"/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('npm start entry: an invalid flag exits 2 with a clear message', { timeout: 30_000 }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts', '--port', 'nope'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 2);
  assert.match(err, /invalid setting --port \/ PORT/);
});

test('npm start -- --help prints every setting with its flag, environment variable and default, and exits 0', { timeout: 30_000 }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts', '--help'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 0);
  for (const [key, env] of Object.entries(ENV)) {
    const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    assert.match(out, new RegExp(`--${flag}  \\(env ${env}; default .+\\)\\n      \\S`), `--${flag}`);
  }
  assert.match(out, /--port {2}\(env PORT; default 3000\)/);
  assert.match(out, /--token {2}\(env ROT_TRACK_TOKEN; default \(empty\)\)/);
  assert.equal(out.match(/^ {2}--/gm)?.length, Object.keys(ENV).length + 1);
});

test('config: the new limits and access settings parse from flags and environment', () => {
  const c = loadConfig(['--max-frame-pixels', '5000', '--allowed-origins', 'http://a.example'], { ROT_TRACK_TOKEN: 't0k3n', ROT_TRACK_MAX_SOCKETS_PER_IP: '3' });
  assert.deepEqual([c.maxFramePixels, c.allowedOrigins, c.token, c.maxSocketsPerIp], [5000, 'http://a.example', 't0k3n', 3]);
  assert.throws(() => loadConfig(['--max-video-seconds', '-1'], {}), /--max-video-seconds \/ ROT_TRACK_MAX_VIDEO_SECONDS/);
});
