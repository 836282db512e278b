/**
 * The wire protocol between the server and the browser client: typed socket.io event maps, the ack envelope, and a
 * zod schema for every payload the server receives. The client imports the *types* only (`import type`), so zod never
 * reaches the browser bundle.
 */
import { z } from 'zod';
import type { SiamFCConfig } from '../tracker/siamfc/config.js';

/** Error codes the server answers with (HTTP bodies and socket acks). */
export type ErrorCode =
  | 'bad_request'
  | 'invalid_payload'
  | 'not_found'
  | 'not_video'
  | 'too_large'
  | 'rate_limited'
  | 'busy'
  | 'queue_full'
  | 'bad_box'
  | 'bad_frame'
  | 'unknown_model'
  | 'not_ready'
  | 'unavailable'
  | 'conflict'
  | 'forbidden'
  | 'unauthorized'
  | 'interrupted'
  | 'internal';

/** An error as it travels: a stable machine code and a message meant for a person. */
export interface WireError {
  code: ErrorCode;
  message: string;
}

/** The ack envelope of every socket request and the body of every JSON API answer. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: WireError };

/** Box on the wire: 0-based left-top x, y and width, height in pixels of the frame it refers to. */
export interface WireBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Zod schema of a box: finite numbers, sides of at least 2 px (server/box-check.ts checks it against the frame). */
export const BoxSchema = z
  .object({
    x: z.number().finite(),
    y: z.number().finite(),
    width: z.number().finite().min(2, 'must be at least 2 px'),
    height: z.number().finite().min(2, 'must be at least 2 px'),
  })
  .strict();

/** Identifier of an upload or a job: 16–64 url-safe characters (never a path). */
export const IdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be an id of 8–64 letters, digits, _ or -');

/** Model names: the registry's names, lower-case letters, digits, dots, dashes and underscores. */
export const ModelNameSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a model name such as template-matching');

/** `job:start` payload: which upload, the initial box on its first frame, which model. */
export const JobStartSchema = z
  .object({ uploadId: IdSchema, box: BoxSchema, model: ModelNameSchema.optional() })
  .strict();
export type JobStart = z.infer<typeof JobStartSchema>;

/** `job:cancel` / `job:subscribe` payload; `key` is a job's share key (from its link) for a client that did not start it. */
export const JobRefSchema = z.object({ jobId: IdSchema, key: IdSchema.optional() }).strict();
export type JobRef = z.infer<typeof JobRefSchema>;

/** Largest webcam frame side accepted, in pixels (the client downscales before sending). */
export const MAX_CAM_SIDE = 1280;

/** `cam:start` payload: the model for this socket's webcam tracker. */
export const CamStartSchema = z.object({ model: ModelNameSchema.optional() }).strict();
export type CamStart = z.infer<typeof CamStartSchema>;

/**
 * `cam:frame` payload. `image` is JPEG/PNG bytes (`format: 'jpeg'`) or raw RGB `height × width × 3` bytes
 * (`format: 'rgb'`); `init` (a box in this frame's pixels) starts tracking on this frame, else the tracker updates.
 * The byte-size limit is checked by the server against its configuration (binary arrives as a Buffer in Node).
 */
export const CamFrameSchema = z
  .object({
    seq: z.number().int().nonnegative(),
    format: z.enum(['jpeg', 'rgb']),
    width: z.number().int().min(16).max(MAX_CAM_SIDE),
    height: z.number().int().min(16).max(MAX_CAM_SIDE),
    image: z.custom<Uint8Array | ArrayBuffer>((v) => v instanceof Uint8Array || v instanceof ArrayBuffer, 'image must be binary (ArrayBuffer)'),
    init: BoxSchema.optional(),
  })
  .strict();
export type CamFrame = z.infer<typeof CamFrameSchema>;

/** `eval:start` payload: trackers (model names), optional rotation rate Δ (°/frame) and a subset of sequences. */
export const EvalStartSchema = z
  .object({
    trackers: z.array(ModelNameSchema).min(1).max(6),
    delta: z.number().min(0).max(45).optional(),
    sequences: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a sequence name')).min(1).max(200).optional(),
  })
  .strict();
export type EvalStart = z.infer<typeof EvalStartSchema>;

/** Answer to `eval:start`. */
export interface EvalStarted {
  runId: string;
  benchmark: string;
  sequences: string[];
  /** true: the run waits in the Redis queue for a worker (its first `eval:progress` says it started); false: it runs now. */
  queued: boolean;
}

/** `eval:cancel` payload. */
export const EvalRefSchema = z.object({ runId: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be a run id') }).strict();

/** What the evaluation page can start. */
export interface EvalInfo {
  available: boolean;
  reason: string | null;
  sequences: string[];
  /** The run in progress, if any. */
  running: string | null;
}

/** Progress of an evaluation run (sequences × trackers done, frames, speed, ETA). */
export interface EvalProgress {
  runId: string;
  sequencesDone: number;
  sequencesTotal: number;
  skipped: number;
  frames: number;
  framesPerSecond: number;
  etaSeconds: number | null;
  last?: string;
}

/** End of an evaluation run; `report` names the report folder listed by `GET /api/eval/reports`. */
export interface EvalEnd {
  runId: string;
  state: 'done' | 'cancelled' | 'failed';
  report?: string;
  failed: string[];
  scores?: { tracker: string; successAuc: number; precision: number; fps: number | null }[];
  error?: WireError;
}

/** A model the server can track with. */
export interface ModelInfo {
  /** Name to pass as `model`. */
  name: string;
  /** Registry variant from the manifest (`siamfc`, `ien-siamfc`, …) or `template-matching`. */
  variant: string;
  /** True for trained weights, false for the weight-free template-matching fallback. */
  trained: boolean;
  /** One line for people. */
  description: string;
}

/** What `GET /api/models` answers. */
export interface ModelList {
  models: ModelInfo[];
  /** The model used when a request names none. */
  default: string;
  /** Model folders that exist but could not be read, with the reason. */
  broken: { name: string; reason: string }[];
}

/**
 * What `GET /api/models/:name/browser` answers: where a browser gets the model's ONNX networks and everything it
 * needs to run the same SiamFC loop (client/src/lib/browser-engine.ts). The file URLs carry the models' content
 * hash (`?v=`), so a browser caches them for good and fetches again only when the model changes.
 */
export interface BrowserModel {
  name: string;
  format: 'rot-track/siamfc-onnx@1';
  exemplarSize: number;
  instanceSize: number;
  responseSize: number;
  /** Total stride of the backbone, pixels. */
  stride: number;
  channels: number;
  /** The model's tracker hyper-parameters (SiamFCConfig, complete with defaults). */
  tracker: SiamFCConfig;
  /** URLs of `exemplar.onnx` and `search.onnx`. */
  files: { exemplar: string; search: string };
  /** Sizes of the two files, bytes. */
  bytes: { exemplar: number; search: number };
  /** Content hash of both files (the `v` of the URLs and their ETag). */
  version: string;
  /** Folder URL of onnxruntime-web's scripts and .wasm files (versioned: `/ort/<version>/`). */
  runtime: string;
}

/** What an upload answers: the probe result and where to get the preview and the video. */
export interface UploadInfo {
  id: string;
  name: string;
  bytes: number;
  width: number;
  height: number;
  fps: number;
  frames: number;
  duration: number;
  codec: string;
  /** True when a browser can play the original file (H.264/VP8/VP9/AV1 in mp4/webm). */
  playable: boolean;
  previewUrl: string;
  videoUrl: string;
}

/** State of a tracking job; `interrupted`: the server stopped (or crashed) while it was queued or running. */
export type JobState = 'queued' | 'running' | 'done' | 'cancelled' | 'failed' | 'interrupted';

/** What `job:start` answers and `job:status` carries. */
export interface JobInfo {
  jobId: string;
  uploadId: string;
  model: string;
  state: JobState;
  frames: number;
  fps: number;
  /** Position in the queue when queued (0 = next). */
  queuePosition?: number;
  /** Share key: `?key=` in a job link lets whoever holds it see the job and download its results. */
  key: string;
  /** Set once the job is over. */
  end?: JobEnd;
}

/** One tracked frame, streamed while the job runs. `frame` is 0-based; `fps` is the tracker's running speed. */
export interface JobFrame {
  jobId: string;
  frame: number;
  box: WireBox;
  score: number;
  fps: number;
  /** When the box was made (ms since the epoch with sub-ms resolution, server/clock.ts): box latency = arrival − t. */
  t?: number;
}

/** Progress of a job: frames done out of the total (the total is the probe's count; may be corrected at the end). */
export interface JobProgress {
  jobId: string;
  done: number;
  total: number;
  state: JobState;
}

/** Downloads of a finished job. */
export interface JobResults {
  /** Annotated H.264 mp4 (absent when encoding failed; `annotateError` says why). */
  video?: string;
  annotateError?: string;
  /** OTB-format boxes: one `x,y,w,h` line per frame, 1-based. */
  otb: string;
  /** Everything as JSON. */
  json: string;
}

/** End of a job. */
export interface JobEnd {
  jobId: string;
  state: JobState;
  frames: number;
  /** Mean tracker speed over the job, frames per second. */
  fps: number;
  results?: JobResults;
  error?: WireError;
  /** Something the user should know about a finished job, e.g. a video that ended before the frames it announced. */
  warning?: string;
}

/** The webcam tracker's answer to a frame. `latencyMs` is the server-side time from arrival to answer. */
export interface CamResult {
  seq: number;
  box: WireBox;
  score: number;
  latencyMs: number;
  initialised: boolean;
}

/** Callback through which the server answers a request. */
export type AckFn<T> = (res: Ack<T>) => void;

/** Events the client sends (every one answered through its ack). */
export interface ClientToServerEvents {
  'job:start': (payload: JobStart, ack: AckFn<JobInfo>) => void;
  'job:cancel': (payload: JobRef, ack: AckFn<JobInfo>) => void;
  'job:subscribe': (payload: JobRef, ack: AckFn<JobInfo>) => void;
  'cam:start': (payload: CamStart, ack: AckFn<{ model: string }>) => void;
  'cam:frame': (payload: CamFrame, ack: AckFn<CamResult>) => void;
  'cam:stop': (payload: Record<string, never>, ack: AckFn<{ stopped: boolean }>) => void;
  'eval:start': (payload: EvalStart, ack: AckFn<EvalStarted>) => void;
  'eval:cancel': (payload: { runId: string }, ack: AckFn<{ cancelled: boolean }>) => void;
}

/** Events the server pushes. */
export interface ServerToClientEvents {
  'job:frame': (payload: JobFrame) => void;
  'job:progress': (payload: JobProgress) => void;
  'job:end': (payload: JobEnd) => void;
  'eval:progress': (payload: EvalProgress) => void;
  'eval:end': (payload: EvalEnd) => void;
}

/** Classifier answer (`POST /api/classify`). */
export interface ClassifyResult {
  model: string;
  /** Classifier variant (`cnn`, `ien`, `het-ien`, `gcnn-c4`, `gcnn-d4`, `steerable-c8`). */
  variant: string;
  /** Class probabilities, index = digit. */
  scores: number[];
  label: number;
}

/** `POST /api/classify` body: 28×28 grey pixels, 0–255, row-major. */
export const ClassifySchema = z
  .object({ pixels: z.array(z.number().int().min(0).max(255)).length(28 * 28) })
  .strict();

/** Conv blocks of the classifier whose group-pooled feature maps can be asked for (1-based). */
export const FEATURE_LAYERS = 6;
/** At most this many channels of a layer are sent per classifier. */
export const MAX_FEATURE_MAPS = 8;

/**
 * `POST /api/classify/features` body: the same 28×28 digit and the conv block (1..6, default 2) whose group-pooled
 * maps (after BN + ELU) to return.
 */
export const ClassifyFeaturesSchema = z
  .object({
    pixels: z.array(z.number().int().min(0).max(255)).length(28 * 28),
    layer: z
      .number({ invalid_type_error: `layer must be an integer from 1 to ${FEATURE_LAYERS}` })
      .int(`layer must be an integer from 1 to ${FEATURE_LAYERS}`)
      .min(1, `layer must be an integer from 1 to ${FEATURE_LAYERS}`)
      .max(FEATURE_LAYERS, `layer must be an integer from 1 to ${FEATURE_LAYERS}`)
      .default(2),
  })
  .strict();
export type ClassifyFeatures = z.infer<typeof ClassifyFeaturesSchema>;

/** One classifier's group-pooled feature maps of the requested layer. */
export interface FeatureMapsResult {
  model: string;
  variant: string;
  /** Pooled channels of the layer in total (only the first `maps.length` are sent). */
  channels: number;
  /** Size of each map in pixels. */
  width: number;
  height: number;
  /** The first up to 8 channels as 8-bit grey PNGs, base64 (no `data:` prefix). */
  maps: string[];
}

/** `POST /api/classify/features` answer. Channel c of every result shares one grey scale: black = `ranges[c][0]`, white = `ranges[c][1]`. */
export interface ClassifyFeaturesAnswer {
  layer: number;
  ranges: [number, number][];
  results: FeatureMapsResult[];
}

/** An evaluation report folder the server found. */
export interface EvalReportInfo {
  name: string;
  modified: string;
  /** Files of the folder a browser may fetch (report.md, plots). */
  files: string[];
}
