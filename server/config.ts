/**
 * Server configuration: one zod schema with defaults, read from flags (`--port 8080`, `--port=8080`) over environment
 * variables (`PORT`, `ROT_TRACK_*`) over defaults. Parsed once at start and passed explicitly.
 */
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The repository root (server/..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Default folder of evaluation reports (the server's and the workers' `--eval-dir`). */
export const DEFAULT_EVAL_DIR = path.join(ROOT, 'eval', 'runs');
/** Default dataset evaluations run on (the server's and the workers' `--dataset-root`). */
export const DEFAULT_DATASET_ROOT = path.resolve(ROOT, '..', 'shared', 'data', 'otb-mini');

/** The configuration schema; every field has a default. */
export const ServerConfig = z
  .object({
    port: int(0, 65535).default(3000).describe('TCP port to listen on (0 = any free port).'),
    host: z.string().min(1).default('127.0.0.1').describe('Address to listen on.'),
    uploadDir: z.string().min(1).default(path.join(tmpdir(), 'rot-track-uploads')).describe('Where uploads and job outputs live (created at start).'),
    retentionMinutes: z.coerce.number().positive().default(60).describe('Uploads and their results are deleted this many minutes after their last use.'),
    maxUploadMb: z.coerce.number().positive().default(200).describe('Largest upload in megabytes.'),
    jobConcurrency: int(1, 256).default(1).describe('Tracking jobs that run at once (at most the number of cores).'),
    maxQueuedJobs: int(0, 1000).default(8).describe('Jobs that may wait in the queue.'),
    maxJobFrames: int(1, 1_000_000).default(20_000).describe('Longest video accepted for tracking, in frames.'),
    jobGraceSeconds: z.coerce.number().nonnegative().default(30).describe('A job whose client went away is cancelled after this many seconds without a subscriber.'),
    modelDir: z.string().min(1).default(path.join(ROOT, 'tracker', 'models')).describe('Trained models: `<modelDir>/<name>/model.json`.'),
    defaultModel: z.string().default('').describe('The tracker clients get unless they choose: a model name; empty = the one `<modelDir>/default.json` names (picked by measured held-out accuracy), else ien-siamfc, het-siamfc, … in Table 3\'s order.'),
    evalDir: z.string().min(1).default(DEFAULT_EVAL_DIR).describe('Evaluation reports: `<evalDir>/<run>/report.md` + plots.'),
    datasetRoot: z.string().min(1).default(DEFAULT_DATASET_ROOT).describe('The OTB-layout dataset evaluations run on (set by the server\'s operator; clients only pick sequences).'),
    backend: z.string().min(1).default('auto').describe('tfjs backend request for initBackend (\'auto\', \'wasm\', \'cpu\', \'tensorflow\', …).'),
    engine: z.enum(['auto', 'onnx', 'tfjs']).default('auto').describe('Inference engine of the trackers: auto (onnxruntime-node when it loads, else tfjs), onnx or tfjs.'),
    maxMessageBytes: int(1024, 64 * 1024 * 1024).default(4 * 1024 * 1024).describe('Largest socket.io message, bytes.'),
    maxCamFrameBytes: int(1024, 64 * 1024 * 1024).default(2 * 1024 * 1024).describe('Largest webcam frame payload (`image` bytes).'),
    httpRatePerSec: z.coerce.number().positive().default(20).describe('HTTP requests per client IP and second (sustained).'),
    httpBurst: int(1, 100_000).default(60).describe('HTTP requests per client IP: burst.'),
    socketRatePerSec: z.coerce.number().positive().default(60).describe('Socket events per socket and second (sustained).'),
    socketBurst: int(1, 100_000).default(60).describe('Socket events per socket: burst.'),
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info').describe('Log level: \'info\' logs requests and events, \'warn\' only problems, \'silent\' nothing.'),
    maxFramePixels: int(256, 64_000_000).default(1280 * 1280).describe('Largest webcam frame, in pixels (width × height), read from the image header before decoding.'),
    maxVideoPixels: int(256, 256_000_000).default(3840 * 2160).describe('Largest uploaded video frame, in pixels (width × height), read by ffprobe before anything is decoded.'),
    maxVideoSeconds: z.coerce.number().positive().default(600).describe('Longest uploaded video, in seconds (ffprobe\'s duration).'),
    maxSocketsPerIp: int(1, 10_000).default(16).describe('socket.io connections open at once from one IP address.'),
    maxUploadsPerIp: int(1, 1000).default(2).describe('Uploads in progress at once from one IP address.'),
    uploadsPerMinute: z.coerce.number().positive().default(20).describe('Uploads per minute from one IP address (sustained; the burst is the same number).'),
    allowedOrigins: z.string().default('').describe('Extra origins allowed to call the API and open sockets, comma separated (the server\'s own origin always is).'),
    redis: z.string().refine((v) => v === '' || /^rediss?:\/\/[^\s]+$/.test(v), 'a Redis URL looks like redis://127.0.0.1:6379').default('')
      .describe('Redis URL (`redis://host:6379`): jobs go on a BullMQ queue run by `npm run worker` processes and sockets span server processes. Empty = everything in this process.'),
    token: z.string().default('').describe('Access token: when set, every API request and socket must present it (cookie from `/?token=…`, or a header).'),
  })
  .strict()
  .refine((c) => c.maxCamFrameBytes < c.maxMessageBytes, {
    message: 'maxCamFrameBytes must be smaller than maxMessageBytes',
    path: ['maxCamFrameBytes'],
  });

export type ServerConfig = z.infer<typeof ServerConfig>;
export type ServerConfigInput = z.input<typeof ServerConfig>;

/** Environment variable of each option (flags use the option name in kebab case: `--upload-dir`). */
export const ENV: Record<keyof ServerConfigInput, string> = {
  port: 'PORT',
  host: 'HOST',
  uploadDir: 'ROT_TRACK_UPLOAD_DIR',
  retentionMinutes: 'ROT_TRACK_RETENTION_MINUTES',
  maxUploadMb: 'ROT_TRACK_MAX_UPLOAD_MB',
  jobConcurrency: 'ROT_TRACK_JOB_CONCURRENCY',
  maxQueuedJobs: 'ROT_TRACK_MAX_QUEUED_JOBS',
  maxJobFrames: 'ROT_TRACK_MAX_JOB_FRAMES',
  jobGraceSeconds: 'ROT_TRACK_JOB_GRACE_SECONDS',
  modelDir: 'ROT_TRACK_MODEL_DIR',
  defaultModel: 'ROT_TRACK_DEFAULT_MODEL',
  evalDir: 'ROT_TRACK_EVAL_DIR',
  datasetRoot: 'ROT_TRACK_DATASET_ROOT',
  backend: 'ROT_TRACK_BACKEND',
  engine: 'ROT_TRACK_ENGINE',
  maxMessageBytes: 'ROT_TRACK_MAX_MESSAGE_BYTES',
  maxCamFrameBytes: 'ROT_TRACK_MAX_CAM_FRAME_BYTES',
  httpRatePerSec: 'ROT_TRACK_HTTP_RATE',
  httpBurst: 'ROT_TRACK_HTTP_BURST',
  socketRatePerSec: 'ROT_TRACK_SOCKET_RATE',
  socketBurst: 'ROT_TRACK_SOCKET_BURST',
  logLevel: 'ROT_TRACK_LOG_LEVEL',
  maxFramePixels: 'ROT_TRACK_MAX_FRAME_PIXELS',
  maxVideoPixels: 'ROT_TRACK_MAX_VIDEO_PIXELS',
  maxVideoSeconds: 'ROT_TRACK_MAX_VIDEO_SECONDS',
  maxSocketsPerIp: 'ROT_TRACK_MAX_SOCKETS_PER_IP',
  maxUploadsPerIp: 'ROT_TRACK_MAX_UPLOADS_PER_IP',
  uploadsPerMinute: 'ROT_TRACK_UPLOADS_PER_MINUTE',
  allowedOrigins: 'ROT_TRACK_ALLOWED_ORIGINS',
  redis: 'ROT_TRACK_REDIS',
  token: 'ROT_TRACK_TOKEN',
};

/** The flag of a setting: `uploadDir` → `upload-dir`. */
export const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Error for a bad flag or setting; the message names it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Thrown by loadConfig for `--help` / `-h`: the caller prints `helpText()` and exits 0. */
export class HelpRequested extends Error {
  constructor() {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

/**
 * Configuration from `argv` flags over `env` over defaults. Unknown flags, missing values and invalid values throw
 * ConfigError naming the flag or variable. `jobConcurrency` is capped at the number of cores.
 */
export function loadConfig(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): ServerConfig {
  return parseConfig(readSettings(argv, env, ENV));
}

/**
 * Raw settings (strings) of the options in `envMap` (option → variable) from `argv` flags over `env`; `--help` / `-h`
 * throws HelpRequested, unknown flags and missing values throw ConfigError. Shared by the server and the worker.
 */
export function readSettings(argv: readonly string[], env: NodeJS.ProcessEnv, envMap: Record<string, string>): Record<string, string> {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested();
  const raw: Record<string, string> = {};
  for (const [key, name] of Object.entries(envMap)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const byFlag = new Map(Object.keys(envMap).map((k) => [kebab(k), k]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new ConfigError(`unexpected argument "${a}" (flags look like --port 3000)`);
    const eq = a.indexOf('=');
    const flag = a.slice(2, eq === -1 ? undefined : eq);
    const key = byFlag.get(flag);
    if (!key) throw new ConfigError(`unknown flag --${flag}; known: ${[...byFlag.keys()].map((f) => `--${f}`).join(', ')}`);
    let value: string | undefined;
    if (eq !== -1) value = a.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new ConfigError(`flag --${flag} needs a value`);
      i++;
    }
    raw[key] = value;
  }
  return raw;
}

/** Parse `input` with `schema`; throws ConfigError naming the first bad field by its flag and variable. */
export function parseSettings<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, envMap: Record<string, string>, input: Record<string, unknown>): T {
  const r = schema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    const key = String(i.path[0] ?? '');
    const env = envMap[key];
    const where = env ? `--${kebab(key)} / ${env}` : key || '(config)';
    throw new ConfigError(`invalid setting ${where}: ${i.message}`);
  }
  return r.data;
}

/**
 * The settings `read()` returns, for a command's `main`: `--help` prints `help()` and exits 0, a ConfigError prints
 * `<who>: <message>` and exits 2.
 */
export function settingsOrExit<T>(who: string, read: () => T, help: () => string): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(help());
      process.exit(0);
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`${who}: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

/** Validate a configuration object (tests pass one directly); throws ConfigError naming the first bad field. */
export function parseConfig(input: Record<string, unknown>): ServerConfig {
  const data = parseSettings(ServerConfig, ENV, input);
  const cores = Math.max(1, availableParallelism());
  return { ...data, jobConcurrency: Math.min(data.jobConcurrency, cores) };
}
