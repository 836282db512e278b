/**
 * `createApp(deps)`: the Express 5 app and the socket.io 4 server on one HTTP server, not listening. The state
 * database (`<uploadDir>/state.sqlite`) is opened and restored first and unowned files are swept. Security headers
 * (helmet with a CSP for the page's own scripts), origin/token/session checks (access.ts) for HTTP and sockets,
 * per-IP rate limits, JSON request logs, the API and page routes, JSON 404s and one final JSON error handler (no
 * HTML, no stack traces). `close()` interrupts jobs, closes sockets, the HTTP server and the database, frees models.
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import multer from 'multer';
import { createAdapter } from '@socket.io/redis-adapter';
import { Queue } from 'bullmq';
import { Server } from 'socket.io';
import { tf } from '../tracker/tf.js';
import { accessMiddleware, accessPolicy, refusal } from './access.js';
import { Classifiers } from './classifier.js';
import { ClientBundles } from './client-bundle.js';
import type { ServerConfig } from './config.js';
import { AppError, toWireError } from './errors.js';
import { EvalRunner, type EvalService } from './eval-jobs.js';
import { RedisEvalQueue } from './redis-evals.js';
import { EvalReports } from './eval-reports.js';
import type { JobService } from './job-service.js';
import { JobQueue } from './jobs.js';
import { PerKeyCounter } from './limits.js';
import { createLogger, type Logger } from './log.js';
import { ModelRegistry } from './models.js';
import type { ClientToServerEvents, EvalEnd, EvalProgress, JobEnd, JobFrame, JobProgress, ServerToClientEvents } from './protocol.js';
import { TokenBuckets } from './rate-limit.js';
import { jobRoutes } from './routes/jobs.js';
import { miscRoutes } from './routes/misc.js';
import { pageRoutes } from './routes/pages.js';
import { uploadRoutes } from './routes/uploads.js';
import { browserRoutes, ORT_WEB } from './routes/browser.js';
import { BrowserModels } from './browser-models.js';
import { attachSockets, jobRoom, sessionRoom, type IoServer, type SocketData } from './sockets.js';
import { connectRedis, EVAL_QUEUE, redisStore, TRACK_QUEUE } from './redis.js';
import { RedisJobQueue } from './redis-jobs.js';
import { openSqliteStore } from './store/sqlite.js';
import { sweepOrphans } from './store/sweep.js';
import { UploadStore } from './uploads.js';

/** File name of the state database inside the upload folder. */
export const STATE_DB = 'state.sqlite';

/** What createApp needs. */
export interface AppDeps {
  config: ServerConfig;
  /** Defaults to a JSON-lines logger at `config.logLevel`. */
  log?: Logger;
}

/** The assembled server. */
export interface AppHandle {
  app: express.Express;
  io: IoServer;
  /** The HTTP server both are attached to (call `listen` on it). */
  server: HttpServer;
  jobs: JobService;
  evals: EvalService;
  uploads: UploadStore;
  models: ModelRegistry;
  bundles: ClientBundles;
  /** Number of open webcam sessions. */
  camSessions: () => number;
  /** Cancel jobs, close sockets and the HTTP server, free models. Idempotent. */
  close: () => Promise<void>;
}

/** Build the app (folders are created, models scanned; nothing listens yet). */
export async function createApp(deps: AppDeps): Promise<AppHandle> {
  const { config } = deps;
  const log = deps.log ?? createLogger(config.logLevel);
  const root = path.resolve(config.uploadDir);
  // With --redis the URL must answer now (RedisUnavailable otherwise): there is no silent fallback to one process.
  const redis = config.redis ? await connectRedis(config.redis) : undefined;
  await mkdir(root, { recursive: true });
  const rstore = redis ? redisStore(redis) : undefined;
  const store = rstore ?? openSqliteStore(path.join(root, STATE_DB));
  const saved = await store.load();
  const uploads = new UploadStore(root, config.retentionMinutes * 60_000, store, log, rstore ? (id) => rstore.getUpload(id) : undefined);
  await uploads.init();
  await uploads.restore(saved.uploads);
  const jobsDir = path.join(root, 'jobs');
  await mkdir(jobsDir, { recursive: true });
  // The config already holds --engine / ROT_TRACK_ENGINE: the registry reads no flag or variable of its own.
  const models = new ModelRegistry(path.resolve(config.modelDir), {
    engine: config.engine, argv: [], env: {}, log: (message) => log.info('engine', { message }), defaultModel: config.defaultModel,
  });
  await models.refresh();
  const reports = new EvalReports(path.resolve(config.evalDir));
  const classifiers = new Classifiers(path.resolve(config.modelDir));
  const bundles = new ClientBundles();

  const app = express();
  const server = createServer(app);
  const policy = accessPolicy(config.allowedOrigins, config.token);
  const io: IoServer = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(server, {
    maxHttpBufferSize: config.maxMessageBytes,
    serveClient: false,
    pingTimeout: 20_000,
    // Origin and token are checked on the handshake request, before any event is read.
    allowRequest: (req, cb) => {
      const why = refusal(req, policy, new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? undefined);
      if (why) log.warn('socket.refused', { reason: why.code, origin: req.headers.origin?.slice(0, 100) });
      cb(why ? why.message : null, !why);
    },
  });

  // Rooms span server processes through Redis: a job's events reach its watchers on every server.
  // (the third and fourth are the queues': BullMQ leaves a connection it was given open, so close() ends them all)
  const adapterClients = redis ? [redis.duplicate(), redis.duplicate(), redis.duplicate(), redis.duplicate()] : [];
  for (const c of adapterClients) c.on('error', (e: Error) => log.warn('redis.error', { error: e.message }));
  if (adapterClients.length) io.adapter(createAdapter(adapterClients[0], adapterClients[1]));
  const limits = { concurrency: config.jobConcurrency, maxQueued: config.maxQueuedJobs, maxFrames: config.maxJobFrames, graceMs: config.jobGraceSeconds * 1000 };
  const sink = {
    frame: (id: string, f: JobFrame) => io.to(jobRoom(id)).emit('job:frame', f),
    progress: (id: string, p: JobProgress) => io.to(jobRoom(id)).emit('job:progress', p),
    end: (id: string, e: JobEnd) => io.to(jobRoom(id)).emit('job:end', e),
  };
  const jobs: JobService = redis && rstore
    ? new RedisJobQueue({ root: jobsDir, limits, uploads, models, sink, log }, rstore, redis, new Queue(TRACK_QUEUE, { connection: adapterClients[2] }),
      async (id) => (await io.in(jobRoom(id)).fetchSockets()).length)
    : new JobQueue({ root: jobsDir, limits, uploads, models, sink, log }, store);
  await jobs.restore(saved.jobs);
  // Several server processes share the folder in the Redis mode: one must not sweep another's uploads in progress.
  const swept = redis ? [] : await sweepOrphans(root, jobsDir, uploads.incomingDir, {
    uploads: uploads.ids(), jobs: jobs.ids(), fixed: new Set(['jobs', 'incoming', STATE_DB, `${STATE_DB}-wal`, `${STATE_DB}-shm`]),
  });
  log.info('state.restored', { uploads: uploads.size, jobs: saved.jobs.length, swept: swept.length });
  const evalSink = { progress: (owner: string, p: EvalProgress) => io.to(sessionRoom(owner)).emit('eval:progress', p), end: (owner: string, e: EvalEnd) => io.to(sessionRoom(owner)).emit('eval:end', e) };
  const evals: EvalService = redis
    ? new RedisEvalQueue(path.resolve(config.datasetRoot), models, redis, new Queue(EVAL_QUEUE, { connection: adapterClients[3] }), config.maxQueuedJobs, evalSink, log)
    : new EvalRunner(path.resolve(config.datasetRoot), path.resolve(config.evalDir), path.resolve(config.modelDir), config.backend, models, evalSink, log);
  const sockets = attachSockets(io, {
    jobs, evals, models, log, rate: { perSec: config.socketRatePerSec, burst: config.socketBurst }, maxCamFrameBytes: config.maxCamFrameBytes,
    maxCamFramePixels: config.maxFramePixels, maxPerIp: config.maxSocketsPerIp,
  });

  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: {
          'default-src': ["'self'"],
          // 'wasm-unsafe-eval': onnxruntime-web compiles its .wasm (tracking in the browser); no JS eval
          'script-src': ["'self'", "'wasm-unsafe-eval'"],
          'style-src': ["'self'"],
          'img-src': ["'self'", 'blob:', 'data:'],
          'media-src': ["'self'", 'blob:', 'mediastream:'],
          'connect-src': ["'self'"],
          'upgrade-insecure-requests': null,
        },
      },
      // The server is usually reached over plain http on a LAN or loopback.
      strictTransportSecurity: false,
    }),
  );
  const httpBuckets = new TokenBuckets(config.httpRatePerSec, config.httpBurst);
  app.use((req: Request, res: Response, next: NextFunction) => {
    const t0 = performance.now();
    res.on('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
      log[level]('http', { method: req.method, path: req.originalUrl.split('?')[0].slice(0, 200), status: res.statusCode, ms: Math.round(performance.now() - t0), ip: req.ip });
    });
    // Pages, scripts and styles are not rate limited: a page load is several requests at once.
    if (req.path.startsWith('/api/') && !httpBuckets.take(req.ip ?? 'unknown')) {
      next(new AppError('rate_limited', `too many requests: at most ${config.httpRatePerSec}/s (burst ${config.httpBurst})`, 429));
      return;
    }
    next();
  });
  app.use(accessMiddleware(policy));
  app.use(express.json({ limit: '64kb' }));
  app.use(pageRoutes(bundles));
  app.use(browserRoutes(new BrowserModels(models, ORT_WEB.base)));
  app.use(uploadRoutes(uploads, {
    maxBytes: config.maxUploadMb * 1024 * 1024,
    video: { maxPixels: config.maxVideoPixels, maxSeconds: config.maxVideoSeconds, maxFrames: config.maxJobFrames },
    inFlight: new PerKeyCounter(config.maxUploadsPerIp),
    perMinute: new TokenBuckets(config.uploadsPerMinute / 60, Math.max(1, Math.round(config.uploadsPerMinute))),
  }));
  app.use(jobRoutes(jobs));
  app.use(
    miscRoutes(models, reports, classifiers, evals, {
      backend: () => tf.getBackend() ?? 'none',
      activeJobs: () => jobs.active,
      uploads: () => uploads.size,
      camSessions: sockets.sessions,
      tensors: () => tf.memory().numTensors,
    }),
  );
  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new AppError('not_found', `no route ${req.method} ${req.path.slice(0, 200)}`, 404));
  });
  // The one final error handler: every error becomes a JSON body `{ok: false, error: {code, message}}`.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let e = err;
    if (err instanceof multer.MulterError) {
      e = err.code === 'LIMIT_FILE_SIZE'
        ? new AppError('too_large', `the file is larger than the limit of ${config.maxUploadMb} MB`, 413)
        : new AppError('bad_request', `upload refused: ${err.message}${err.field ? ` (field "${err.field}")` : ''}; send one file in the field "video"`, 400);
    } else if ((err as { type?: string })?.type === 'entity.too.large') {
      e = new AppError('too_large', 'request body too large', 413);
    } else if ((err as { type?: string })?.type === 'entity.parse.failed') {
      e = new AppError('invalid_payload', 'request body is not valid JSON', 400);
    } else if (!(err instanceof AppError) && ((err as { status?: number })?.status === 404 || (err as { code?: string })?.code === 'ENOENT')) {
      e = new AppError('not_found', 'file not found', 404);
    }
    const w = toWireError(e);
    if (!w.expected) log.error('http.error', { method: req.method, path: req.path.slice(0, 200), error: String((err as Error)?.stack ?? err) });
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(w.status).json({ ok: false, error: w.error });
  });

  const retention = setInterval(() => {
    const ms = config.retentionMinutes * 60_000;
    uploads.expire().catch((e) => log.warn('retention.error', { error: String(e) }));
    jobs.expire(ms).catch((e) => log.warn('retention.error', { error: String(e) }));
  }, Math.min(60_000, Math.max(1000, (config.retentionMinutes * 60_000) / 4)));
  retention.unref();

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      clearInterval(retention);
      await jobs.close();
      await evals.close();
      sockets.closeAll();
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
      });
      server.closeAllConnections?.();
      await models.dispose();
      await classifiers.dispose();
      for (const c of adapterClients) c.disconnect();
      await store.close();
      log.info('server.closed', {});
    })();
    return closing;
  };

  return { app, io, server, jobs, evals, uploads, models, bundles, camSessions: sockets.sessions, close };
}
