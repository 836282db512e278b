/**
 * Load script (not a test): N socket.io clients send webcam frames to a server on loopback, each with one frame in
 * flight (send → wait for the answer → send the next), and report per-frame round-trip latency p50/p95 and fps per
 * client. Starts its own server process (`server/index.ts`) unless `--url` is given.
 *
 *   node --import tsx server/load-webcam.ts [--clients 20] [--seconds 15] [--size 320x240] [--backend wasm] [--url http://…]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { io } from 'socket.io-client';
import { ROOT } from './config.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const CLIENTS = Number(arg('clients', '20'));
const SECONDS = Number(arg('seconds', '15'));
const [W, H] = arg('size', '320x240').split('x').map(Number);
const BACKEND = arg('backend', 'wasm');

/** A JPEG of a red square at `x` on grey. */
async function frame(x: number): Promise<Buffer> {
  const buf = Buffer.alloc(W * H * 3, 80);
  for (let y = 80; y < 112; y++) for (let i = x; i < x + 32; i++) buf.set([230, 20, 20], (y * W + i) * 3);
  return sharp(buf, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts', '--port', String(port), '--backend', BACKEND,
    '--log-level', 'warn', '--socket-rate-per-sec', '1000', '--socket-burst', '1000'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  child.on('exit', () => (exited = true));
  for (let i = 0; i < 300 && !exited; i++) {
    try {
      if ((await fetch(`${url}/api/health`)).ok) return { url, child };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(exited ? 'the server exited (see its message above)' : 'server did not come up in 60 s');
}

const pct = (a: number[], p: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

async function client(url: string, frames: Buffer[], until: number) {
  const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', reject);
  });
  const lat: number[] = [];
  const server: number[] = [];
  let errors = 0;
  let seq = 0;
  const t0 = performance.now();
  while (Date.now() < until) {
    const i = seq % frames.length;
    const t = performance.now();
    const r = await s.timeout(30_000).emitWithAck('cam:frame', {
      seq, format: 'jpeg', width: W, height: H, image: frames[i], ...(seq === 0 ? { init: { x: 40, y: 80, width: 32, height: 32 } } : {}),
    });
    seq++;
    if (r.ok) {
      lat.push(performance.now() - t);
      server.push(r.data.latencyMs);
    } else errors++;
  }
  const secs = (performance.now() - t0) / 1000;
  s.disconnect();
  return { frames: lat.length, fps: lat.length / secs, p50: pct(lat, 50), p95: pct(lat, 95), serverP50: pct(server, 50), errors, lat };
}

async function main(): Promise<void> {
  const given = arg('url', '');
  const srv = given ? { url: given, child: null } : await startServer();
  try {
    const frames = await Promise.all(Array.from({ length: 30 }, (_, i) => frame(40 + i * 2)));
    const until = Date.now() + SECONDS * 1000;
    const results = await Promise.all(Array.from({ length: CLIENTS }, () => client(srv.url, frames, until)));
    const all = results.flatMap((r) => r.lat);
    console.log(`${CLIENTS} clients × ${SECONDS} s, ${W}×${H} JPEG frames, server backend ${BACKEND}, one frame in flight per client`);
    console.log('client  frames   fps   p50 ms   p95 ms   server p50 ms  errors');
    results.forEach((r, i) => console.log(
      `${String(i + 1).padStart(6)} ${String(r.frames).padStart(7)} ${r.fps.toFixed(2).padStart(5)} ${r.p50.toFixed(0).padStart(8)} ${r.p95.toFixed(0).padStart(8)} ${r.serverP50.toFixed(1).padStart(15)} ${String(r.errors).padStart(7)}`));
    console.log(`all: ${all.length} frames, ${(all.length / SECONDS).toFixed(1)} frames/s total, latency p50 ${pct(all, 50).toFixed(0)} ms, p95 ${pct(all, 95).toFixed(0)} ms`);
  } finally {
    srv.child?.kill('SIGTERM');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
