/**
 * `npm run bench:redis-soak`: the Redis mode under worker deaths (a bench, not a test). A redis-server of its own,
 * one server process and `--workers` worker processes (lock `--lock-ms`) over one temp folder; `--jobs` tracking jobs
 * of a `--frames`-frame video are queued, and every `--every-ms` (± 50%, seeded) one live worker is SIGKILLed and a
 * new one started, until `--kills` kills. Then every job must end `done` with exactly one set of result files
 * (annotated.mp4, boxes.txt with one line per frame, result.json with one entry per frame) and nothing half-written
 * under `jobs/.parts`. Prints the counts; exit 1 on any lost or duplicated result.
 *
 *   npm run bench:redis-soak -- [--kills 20] [--jobs 60] [--frames 150] [--workers 2] [--lock-ms 2000] [--every-ms 2500]
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { io } from 'socket.io-client';
import { mulberry32 } from '../tracker/random.js';
import { makeTestVideo, runWithCluster, startRedisServer, startServerProcess, startWorkerProcess, uploadVideo, type Proc } from '../server/load/cluster.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} needs a non-negative number, got "${process.argv[i + 1]}"`);
  return v;
}
const KILLS = arg('kills', 20);
const JOBS = arg('jobs', 60);
const FRAMES = arg('frames', 150);
const WORKERS = Math.max(1, arg('workers', 2));
const LOCK_MS = arg('lock-ms', 2000);
const EVERY_MS = arg('every-ms', 2500);
const BACKEND = process.argv.includes('--backend') ? process.argv[process.argv.indexOf('--backend') + 1] : 'wasm';
const SESSION = 'redis-soak-session-0001';

runWithCluster('rot-track-soak-', async (dir) => {
  const t0 = performance.now();
  const redis = await startRedisServer();
  const server = await startServerProcess(dir, { redis, backend: BACKEND, args: ['--max-queued-jobs', String(JOBS + 10)] });
  const workers: Proc[] = await Promise.all(Array.from({ length: WORKERS }, () => startWorkerProcess(dir, { redis, backend: BACKEND, lockMs: LOCK_MS })));
  const everyWorker = [...workers];
  const video = path.join(dir, 'soak.mp4');
  await makeTestVideo(video, FRAMES);
  const uploadId = await uploadVideo(server.url, video, await readFile(video));
  const s = io(server.url, { transports: ['websocket'], forceNew: true, auth: { session: SESSION } });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', reject);
  });
  const ends = new Map<string, { state: string; frames: number; error?: { message: string } }>();
  s.on('job:end', (e: { jobId: string; state: string; frames: number }) => ends.set(e.jobId, e));
  const ids: string[] = [];
  for (let j = 0; j < JOBS; j++) {
    const r = await s.timeout(30_000).emitWithAck('job:start', { uploadId, box: { x: 20, y: 40, width: 24, height: 24 } });
    if (!r.ok) throw new Error(`job:start refused: ${JSON.stringify(r.error)}`);
    ids.push(r.data.jobId);
  }
  console.log(`${JOBS} jobs of ${FRAMES} frames queued; ${WORKERS} workers (lock ${LOCK_MS} ms); a SIGKILL every ~${EVERY_MS} ms until ${KILLS}`);
  const random = mulberry32(KILLS * 7919 + JOBS);
  let kills = 0;
  let midJob = 0;
  while (kills < KILLS) {
    await new Promise((r) => setTimeout(r, EVERY_MS * (0.5 + random())));
    if (ends.size === ids.length) {
      console.log(`every job ended after ${kills} kills: queue more jobs (--jobs) or kill more often (--every-ms)`);
      break;
    }
    const i = Math.floor(random() * workers.length);
    const w = workers[i];
    const log = w.err();
    const started = (log.match(/"event":"job.start"/g) ?? []).length;
    const finished = (log.match(/"event":"job.(done|stopped)"/g) ?? []).length;
    if (started > finished) midJob++;
    w.child.kill('SIGKILL');
    await w.exited;
    kills++;
    workers[i] = await startWorkerProcess(dir, { redis, backend: BACKEND, lockMs: LOCK_MS });
    everyWorker.push(workers[i]);
  }
  const deadline = Date.now() + 600_000;
  while (ends.size < ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  s.disconnect();

  const jobsDir = path.join(dir, 'uploads', 'jobs');
  const want = ['annotated.mp4', 'boxes.txt', 'result.json'];
  let lost = 0;
  let duplicated = 0;
  const problems: string[] = [];
  for (const id of ids) {
    const e = ends.get(id);
    if (!e || e.state !== 'done') {
      lost++;
      problems.push(`${id}: ${e ? `${e.state}${e.error ? ` (${e.error.message})` : ''}` : 'no end'}`);
      continue;
    }
    const files = (await readdir(path.join(jobsDir, id)).catch(() => [] as string[])).sort();
    const lines = (await readFile(path.join(jobsDir, id, 'boxes.txt'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean).length;
    const result = JSON.parse(await readFile(path.join(jobsDir, id, 'result.json'), 'utf8').catch(() => '{"frames":[]}')) as { frames: unknown[] };
    if (files.join() !== want.join() || lines !== FRAMES || result.frames.length !== FRAMES) {
      if (lines > FRAMES || result.frames.length > FRAMES) duplicated++;
      else lost++;
      problems.push(`${id}: files ${files.join(', ')}; ${lines} box lines; ${result.frames.length} result frames`);
    }
  }
  const folders = (await readdir(jobsDir)).filter((n) => n !== '.parts');
  const strays = folders.filter((n) => !ids.includes(n));
  const parts = await readdir(path.join(jobsDir, '.parts')).catch(() => [] as string[]);
  duplicated += strays.length;
  const secs = (performance.now() - t0) / 1000;
  // how often each job was started (1 = never interrupted)
  const starts = new Map<string, number>();
  for (const w of everyWorker) for (const m of w.err().matchAll(/"event":"job.start","job":"([^"]+)"/g)) starts.set(m[1], (starts.get(m[1]) ?? 0) + 1);
  const hist = new Map<number, number>();
  for (const id of ids) hist.set(starts.get(id) ?? 0, (hist.get(starts.get(id) ?? 0) ?? 0) + 1);
  console.log(`starts per job (count: jobs): ${[...hist].sort((x, y) => x[0] - y[0]).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  console.log(`kills ${kills} (${midJob} while the killed worker had a job running), ${secs.toFixed(0)} s in all`);
  console.log(`jobs ${ids.length}: done with one complete set of result files ${ids.length - lost - (duplicated - strays.length)}, lost ${lost}, duplicated ${duplicated}; stray folders ${strays.length}; half-written .parts entries ${parts.length}`);
  for (const p of problems) console.log(`  ${p}`);
  if (lost || duplicated || parts.length || kills < KILLS) process.exitCode = 1;
});
