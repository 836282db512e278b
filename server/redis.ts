/**
 * What the Redis mode shares between server processes and workers: the connection (checked once at start, so a URL
 * that does not answer stops the process with one line instead of a silent fallback), the names of the queue and
 * keys, the job payload schema, and the StateStore on Redis hashes (`rot-track:uploads`, `rot-track:jobs`: id →
 * JSON record, the same shape the SQLite store holds).
 */
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { JobRecord, StateStore, StoredState, UploadRecord } from './store/types.js';

/** Name of the BullMQ queue of tracking jobs. */
export const TRACK_QUEUE = 'rot-track-track';
/** Name of the BullMQ queue of evaluation runs. */
export const EVAL_QUEUE = 'rot-track-eval';
/** Key prefix of everything rot-track keeps in Redis. */
export const KEY_PREFIX = 'rot-track';
/** Set of job ids whose cancellation was asked for (checked by a worker before and while it runs a job). */
export const CANCELLED_SET = `${KEY_PREFIX}:cancelled`;
/** Pub/sub channel on which a cancellation (a job id) reaches the worker running it. */
export const CANCEL_CHANNEL = `${KEY_PREFIX}:cancel`;

/** The payload of a queued tracking job (the rest is in the job's and the upload's records). */
export const TrackJobData = z
  .object({
    jobId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
    uploadId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
    maxFrames: z.number().int().positive(),
  })
  .strict();
export type TrackJobData = z.infer<typeof TrackJobData>;

/** Hash of the evaluation runs queued or running: run id → JSON `EvalRecord` (deleted when the run ends). */
export const EVALS_KEY = `${KEY_PREFIX}:evals`;

/** The payload of a queued evaluation run (checked by the server that accepted it; checked again by the worker). */
export const EvalJobData = z
  .object({
    runId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/),
    owner: z.string().min(1).max(200),
    benchmark: z.string().min(1).max(300),
    trackers: z.array(z.string().min(1).max(200)).min(1).max(6),
    sequences: z.array(z.string()).min(1),
    delta: z.number().min(0).max(45).optional(),
    picked: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)).min(1).max(200).optional(),
  })
  .strict();
export type EvalJobData = z.infer<typeof EvalJobData>;

/** An evaluation run queued or running in the Redis mode. */
export interface EvalRecord {
  runId: string;
  owner: string;
  state: 'queued' | 'running';
  createdAt: number;
}

/** The record of run `runId`, if it is queued or running. */
export async function getEvalRecord(client: Redis, runId: string): Promise<EvalRecord | undefined> {
  const v = await client.hget(EVALS_KEY, runId);
  return v === null ? undefined : (JSON.parse(v) as EvalRecord);
}

/** The Redis URL did not answer (or refused us); the message is one line naming the URL and the reason. */
export class RedisUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailable';
  }
}

/** Strip a password from a URL before it is printed. */
export function safeUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

/**
 * A client for `url` that has answered PING within `timeoutMs`; throws RedisUnavailable otherwise. BullMQ needs
 * `maxRetriesPerRequest: null` on its connections, so every client is made that way; after the first answer a lost
 * connection is retried (ioredis' default back-off) rather than fatal.
 */
export async function connectRedis(url: string, timeoutMs = 3000): Promise<Redis> {
  let firstError = '';
  let ready = false;
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    connectTimeout: timeoutMs,
    retryStrategy: (times) => (ready ? Math.min(times * 200, 2000) : null),
  });
  client.on('error', (e: Error) => {
    firstError ||= e.message;
  });
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    ready = true;
    return client;
  } catch (e) {
    client.disconnect();
    const why = firstError || (e as Error).message || String(e);
    throw new RedisUnavailable(`Redis at ${safeUrl(url)} does not answer (${why.split('\n')[0]}); start redis-server or fix --redis / ROT_TRACK_REDIS`);
  }
}

/** The StateStore on Redis hashes; `getJob` reads one record (other processes write them too). */
export interface RedisStateStore extends StateStore {
  getJob(id: string): Promise<JobRecord | undefined>;
  getUpload(id: string): Promise<UploadRecord | undefined>;
}

/** The store on `client` (closing it quits the client). */
export function redisStore(client: Redis): RedisStateStore {
  const uploads = `${KEY_PREFIX}:uploads`;
  const jobs = `${KEY_PREFIX}:jobs`;
  const all = async <T>(key: string): Promise<T[]> => Object.values(await client.hgetall(key)).map((v) => JSON.parse(v) as T);
  const one = async <T>(key: string, id: string): Promise<T | undefined> => {
    const v = await client.hget(key, id);
    return v === null ? undefined : (JSON.parse(v) as T);
  };
  return {
    load: async (): Promise<StoredState> => ({ uploads: await all<UploadRecord>(uploads), jobs: await all<JobRecord>(jobs) }),
    saveUpload: async (u) => void (await client.hset(uploads, u.id, JSON.stringify(u))),
    deleteUpload: async (id) => void (await client.hdel(uploads, id)),
    saveJob: async (j) => void (await client.hset(jobs, j.id, JSON.stringify(j))),
    deleteJob: async (id) => void (await client.hdel(jobs, id)),
    getJob: (id) => one<JobRecord>(jobs, id),
    getUpload: (id) => one<UploadRecord>(uploads, id),
    close: async () => void (await client.quit().catch(() => client.disconnect())),
  };
}
