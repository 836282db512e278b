/**
 * Load script (not a test). Two modes, each against one server process (the embedded default) or several in the
 * Redis mode (`--servers 2`: a redis-server of the script's own, the servers and `--workers` worker processes over
 * one temp folder), clients spread round-robin over the servers:
 *  - `--mode webcam` (default): N clients send webcam frames, one frame in flight each (send → answer → next);
 *    per-frame round-trip latency p50/p95 and fps per client.
 *  - `--mode jobs`: N clients each upload-track one job (a `--frames`-frame 160×120 video, uploaded once) and follow
 *    it to its end; box latency (arrival − the time the tracking process made the box) p50/p95, and how many clients
 *    missed, repeated or reordered a box of their job. The embedded server runs `--workers` jobs at once
 *    (`--job-concurrency`), so one server and two servers + workers get the same number of tracking processes' worth.
 * Starts its own processes unless `--url` is given (webcam mode only).
 *
 *   node --import tsx server/load-webcam.ts [--mode webcam|jobs] [--clients 20] [--servers 1] [--workers 2]
 *     [--seconds 15] [--frames 60] [--size 320x240] [--backend wasm] [--url http://…]
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { io } from 'socket.io-client';
import { makeTestVideo, runWithCluster, startRedisServer, startServerProcess, startWorkerProcess, uploadVideo } from './load/cluster.js';
import { runJobsLoad } from './load/jobs-load.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const MODE = arg('mode', 'webcam');
const CLIENTS = Number(arg('clients', '20'));
const SECONDS = Number(arg('seconds', '15'));
const SERVERS = Number(arg('servers', '1'));
const WORKERS = Number(arg('workers', '2'));
const FRAMES = Number(arg('frames', '60'));
const [W, H] = arg('size', '320x240').split('x').map(Number);
const BACKEND = arg('backend', 'wasm');
const LIMITS = ['--socket-rate-per-sec', '1000', '--socket-burst', '1000', '--max-sockets-per-ip', '1000', '--max-queued-jobs', '1000'];

/** A JPEG of a red square at `x` on grey. */
async function frame(x: number): Promise<Buffer> {
  const buf = Buffer.alloc(W * H * 3, 80);
  for (let y = 80; y < 112; y++) for (let i = x; i < x + 32; i++) buf.set([230, 20, 20], (y * W + i) * 3);
  return sharp(buf, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
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

/** Start the processes: one embedded server, or `SERVERS` servers + `WORKERS` workers on a Redis of our own. */
async function cluster(dir: string): Promise<string[]> {
  if (SERVERS <= 1) {
    const concurrency = MODE === 'jobs' ? ['--job-concurrency', String(WORKERS)] : [];
    return [(await startServerProcess(dir, { backend: BACKEND, args: [...LIMITS, ...concurrency] })).url];
  }
  const redis = await startRedisServer();
  const urls = (await Promise.all(Array.from({ length: SERVERS }, () => startServerProcess(dir, { redis, backend: BACKEND, args: LIMITS })))).map((s) => s.url);
  if (MODE === 'jobs') await Promise.all(Array.from({ length: WORKERS }, () => startWorkerProcess(dir, { redis, backend: BACKEND })));
  return urls;
}

function where(): string {
  return SERVERS <= 1 ? `1 server process (embedded${MODE === 'jobs' ? `, ${WORKERS} jobs at once` : ''})` : `${SERVERS} server processes on Redis${MODE === 'jobs' ? ` + ${WORKERS} workers` : ''}`;
}

async function webcam(urls: string[]): Promise<void> {
  const frames = await Promise.all(Array.from({ length: 30 }, (_, i) => frame(40 + i * 2)));
  const until = Date.now() + SECONDS * 1000;
  const results = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(urls[i % urls.length], frames, until)));
  const all = results.flatMap((r) => r.lat);
  console.log(`${CLIENTS} clients × ${SECONDS} s over ${where()}, ${W}×${H} JPEG frames, server backend ${BACKEND}, one frame in flight per client`);
  console.log('client  frames   fps   p50 ms   p95 ms   server p50 ms  errors');
  results.forEach((r, i) => console.log(
    `${String(i + 1).padStart(6)} ${String(r.frames).padStart(7)} ${r.fps.toFixed(2).padStart(5)} ${r.p50.toFixed(0).padStart(8)} ${r.p95.toFixed(0).padStart(8)} ${r.serverP50.toFixed(1).padStart(15)} ${String(r.errors).padStart(7)}`));
  console.log(`all: ${all.length} frames, ${(all.length / SECONDS).toFixed(1)} frames/s total, latency p50 ${pct(all, 50).toFixed(0)} ms, p95 ${pct(all, 95).toFixed(0)} ms`);
}

async function jobs(urls: string[], dir: string): Promise<void> {
  const video = path.join(dir, 'load.mp4');
  await makeTestVideo(video, FRAMES);
  const uploadId = await uploadVideo(urls[0], video, await readFile(video));
  const r = await runJobsLoad(urls, CLIENTS, uploadId, { x: 20, y: 40, width: 24, height: 24 }, 600_000);
  console.log(`${CLIENTS} clients over ${where()}, one ${FRAMES}-frame 160×120 job each, backend ${BACKEND}`);
  console.log(`jobs done ${r.jobsDone}, failed ${r.jobsFailed}; clients with a missed/repeated/reordered box: ${r.outOfOrder}`);
  for (const e of r.errors) console.log(`  ${e}`);
  console.log(`boxes ${r.boxes} in ${r.seconds.toFixed(1)} s (${(r.boxes / r.seconds).toFixed(0)}/s); box latency p50 ${pct(r.latencies, 50).toFixed(1)} ms, p95 ${pct(r.latencies, 95).toFixed(1)} ms, max ${Math.max(...r.latencies).toFixed(0)} ms`);
}

runWithCluster('rot-track-load-', async (dir) => {
  if (!['webcam', 'jobs'].includes(MODE)) throw new Error(`--mode must be webcam or jobs, got "${MODE}"`);
  const given = arg('url', '');
  if (given && MODE !== 'webcam') throw new Error('--url works with --mode webcam only');
  const urls = given ? [given] : await cluster(dir);
  if (MODE === 'webcam') await webcam(urls);
  else await jobs(urls, dir);
});
