/**
 * `npm run worker -- --redis redis://127.0.0.1:6379 --concurrency 2`: a process that runs the tracking jobs server
 * processes put on the BullMQ queue. Models load once per process; each job's boxes, progress and end go to the
 * job's socket.io room through the Redis emitter (every server with the Redis adapter delivers them), its record
 * is kept up to date in Redis, its result files are written atomically under `<uploadDir>/jobs/<id>/` (a shared
 * folder). A worker killed mid-job leaves a stalled BullMQ job, which another worker (or this one, restarted) runs
 * again from the first frame once the lock (`--lock-ms`) has expired. A malformed job is failed with its reason.
 * The same process also runs the evaluation runs servers queue (worker-evals.ts; `--eval-concurrency`, default 1).
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Emitter } from '@socket.io/redis-emitter';
import { UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import { z } from 'zod';
import { initBackend, type BackendRequest } from '../tracker/node/backend.js';
import { DEFAULT_DATASET_ROOT, DEFAULT_EVAL_DIR, kebab, parseSettings, readSettings, ROOT, settingsOrExit } from './config.js';
import { describeZodError } from './errors.js';
import { ACTIVE, jobEnd } from './jobs.js';
import { createLogger } from './log.js';
import { ModelRegistry } from './models.js';
import type { ServerToClientEvents } from './protocol.js';
import { CANCEL_CHANNEL, CANCELLED_SET, connectRedis, redisStore, RedisUnavailable, TRACK_QUEUE, TrackJobData } from './redis.js';
import { jobRoom } from './sockets.js';
import { startEvalWorker } from './worker-evals.js';
import type { JobRecord } from './store/types.js';
import { removeParts, trackJob } from './track-job.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The worker's settings (flags over environment over defaults; the folders are the servers'). */
export const WorkerConfig = z
  .object({
    redis: z.string().regex(/^rediss?:\/\/\S+$/, 'a Redis URL looks like redis://127.0.0.1:6379'),
    concurrency: int(1, 64).default(1),
    evalConcurrency: int(0, 16).default(1),
    uploadDir: z.string().min(1).default(path.join(tmpdir(), 'rot-track-uploads')),
    modelDir: z.string().min(1).default(path.join(ROOT, 'tracker', 'models')),
    evalDir: z.string().min(1).default(DEFAULT_EVAL_DIR),
    datasetRoot: z.string().min(1).default(DEFAULT_DATASET_ROOT),
    backend: z.string().min(1).default('auto'),
    engine: z.enum(['auto', 'onnx', 'tfjs']).default('auto'),
    lockMs: int(500, 600_000).default(30_000),
    // How many times a job whose worker died (SIGKILL, lost machine) is run again before it is failed: a job that
    // kills every worker that takes it must end, but a run of unrelated deaths must not lose a job (bench:redis-soak
    // saw a job hit 4 times in 18 kills with the old limit of 3).
    maxStalls: int(0, 1000).default(10),
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  })
  .strict();
export type WorkerConfig = z.infer<typeof WorkerConfig>;

const WORKER_ENV: Record<keyof WorkerConfig, string> = {
  redis: 'ROT_TRACK_REDIS', concurrency: 'ROT_TRACK_WORKER_CONCURRENCY', evalConcurrency: 'ROT_TRACK_WORKER_EVAL_CONCURRENCY',
  uploadDir: 'ROT_TRACK_UPLOAD_DIR', modelDir: 'ROT_TRACK_MODEL_DIR', evalDir: 'ROT_TRACK_EVAL_DIR', datasetRoot: 'ROT_TRACK_DATASET_ROOT',
  backend: 'ROT_TRACK_BACKEND', engine: 'ROT_TRACK_ENGINE', lockMs: 'ROT_TRACK_LOCK_MS', maxStalls: 'ROT_TRACK_MAX_STALLS', logLevel: 'ROT_TRACK_LOG_LEVEL',
};



async function main(): Promise<void> {
  const config = settingsOrExit('rot-track worker', () => parseSettings(WorkerConfig, WORKER_ENV, readSettings(process.argv.slice(2), process.env, WORKER_ENV)),
    () => `npm run worker -- ${Object.keys(WORKER_ENV).map((k) => `--${kebab(k)} …`).join(' ')}\n`);
  const log = createLogger(config.logLevel);
  const client = await connectRedis(config.redis);
  const store = redisStore(client);
  const sub = client.duplicate();
  const emitter = new Emitter<ServerToClientEvents>(client.duplicate());
  const jobsDir = path.join(path.resolve(config.uploadDir), 'jobs');
  await initBackend({ backend: config.backend as BackendRequest, argv: [], log: (msg) => log.info('backend', { message: msg }) });
  const models = new ModelRegistry(path.resolve(config.modelDir), { engine: config.engine, argv: [], env: {}, log: (message) => log.info('engine', { message }) });
  await models.refresh();

  const running = new Map<string, AbortController>();
  await sub.subscribe(CANCEL_CHANNEL);
  sub.on('message', (_channel: string, id: string) => running.get(id)?.abort(new Error('cancelled by the user')));

  const room = (id: string) => emitter.to(jobRoom(id));
  const end = async (rec: JobRecord, state: 'done' | 'cancelled' | 'failed', error?: string) => {
    rec.state = state;
    rec.finishedAt = Date.now();
    if (error) rec.error = { code: 'internal', message: error };
    await store.saveJob(rec);
    await client.srem(CANCELLED_SET, rec.id);
    room(rec.id).emit('job:end', jobEnd(rec));
  };

  const processor = async (bj: BullJob): Promise<void> => {
    const parsed = TrackJobData.safeParse(bj.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed job: ${describeZodError(parsed.error, 'job data')}`);
    const { jobId, uploadId, maxFrames } = parsed.data;
    const rec = await store.getJob(jobId);
    if (!rec) throw new UnrecoverableError(`malformed job: no job record "${jobId}"`);
    if (!ACTIVE.has(rec.state)) return;
    if (await client.sismember(CANCELLED_SET, jobId)) return end(rec, 'cancelled');
    const upload = await store.getUpload(uploadId);
    if (!upload) {
      await end(rec, 'failed', `the upload ${uploadId} is gone`);
      throw new UnrecoverableError(`upload ${uploadId} is gone`);
    }
    const abort = new AbortController();
    running.set(jobId, abort);
    // A killed earlier attempt may have left a half-written result folder; this attempt starts from frame 0.
    await removeParts(jobsDir, jobId);
    Object.assign(rec, { state: 'running', done: 0, fps: 0 });
    await store.saveJob(rec);
    log.info('job.start', { job: jobId, model: rec.model, attempt: bj.attemptsStarted, stalls: bj.stalledCounter, pid: process.pid });
    room(jobId).emit('job:progress', { jobId, done: 0, total: rec.total, state: 'running' });
    let lastProgress = 0;
    try {
      const out = await trackJob(models, jobsDir, {
        id: jobId, key: rec.key, model: rec.model, box: rec.box, maxFrames,
        video: { name: upload.name, path: path.join(path.resolve(config.uploadDir), upload.id, upload.videoFile), info: upload.info },
      }, abort.signal, log, (f) => {
        rec.done = f.frame + 1;
        rec.fps = f.fps;
        room(jobId).emit('job:frame', f);
        const now = performance.now();
        if (now - lastProgress > 200 || rec.done >= rec.total) {
          lastProgress = now;
          room(jobId).emit('job:progress', { jobId, done: rec.done, total: Math.max(rec.total, rec.done), state: 'running' });
          store.saveJob(rec).catch((e) => log.warn('job.store_error', { job: jobId, error: String(e) }));
        }
      });
      Object.assign(rec, { total: out.frames, results: out.results, warning: out.warning });
      await end(rec, 'done');
      log.info('job.done', { job: jobId, frames: out.frames, pid: process.pid });
    } catch (e) {
      if (abort.signal.aborted) {
        await end(rec, 'cancelled');
        log.info('job.stopped', { job: jobId, frames: rec.done });
        return;
      }
      const msg = `tracking failed: ${String((e as Error)?.message ?? e).split('\n')[0].slice(0, 300)}`;
      await end(rec, 'failed', msg);
      throw new UnrecoverableError(msg);
    } finally {
      running.delete(jobId);
    }
  };

  const worker = new Worker(TRACK_QUEUE, processor, {
    connection: client.duplicate(), concurrency: config.concurrency, lockDuration: config.lockMs,
    stalledInterval: Math.max(250, Math.round(config.lockMs / 2)), maxStalledCount: config.maxStalls,
  });
  worker.on('error', (e) => log.warn('worker.error', { error: String(e) }));
  // Failed by BullMQ itself (a job that stalled too often): its record must not stay `running`.
  worker.on('failed', (bj, e) => {
    const id = (bj?.data as { jobId?: unknown } | undefined)?.jobId;
    log.warn('job.failed', { bullJob: bj?.id, job: typeof id === 'string' ? id : undefined, reason: e.message });
    if (typeof id !== 'string') return;
    void store.getJob(id).then((rec) => (rec && ACTIVE.has(rec.state) ? end(rec, 'failed', e.message) : undefined))
      .catch((err) => log.warn('job.store_error', { job: id, error: String(err) }));
  });
  await worker.waitUntilReady();
  const evalWorker = config.evalConcurrency > 0
    ? await startEvalWorker({
      client, emitter, running, log, concurrency: config.evalConcurrency, lockMs: config.lockMs, maxStalls: config.maxStalls,
      ctx: { datasetRoot: path.resolve(config.datasetRoot), evalDir: path.resolve(config.evalDir), modelDir: path.resolve(config.modelDir), backend: config.backend, models, log },
    })
    : null;
  log.info('worker.ready', {
    queue: TRACK_QUEUE, concurrency: config.concurrency, evalConcurrency: config.evalConcurrency, pid: process.pid, models: models.list().models.map((m) => m.name),
  });

  const stop = (signal: string) => {
    log.info('worker.stopping', { signal });
    // Running jobs are not finished here: their locks lapse and another worker runs them again.
    void Promise.all([worker.close(true), evalWorker?.close(true)]).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e) => {
  process.stderr.write(e instanceof RedisUnavailable ? `rot-track worker: ${e.message}\n` : `rot-track worker failed to start: ${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
