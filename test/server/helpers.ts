/**
 * Shared helpers of the server tests: a real server on an ephemeral loopback port with its own temp folders, small
 * videos made with ffmpeg, multipart uploads with fetch, and socket.io clients with promise-returning acks.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io as ioClient, type Socket } from 'socket.io-client';
import { createApp, type AppHandle } from '../../server/app.js';
import { parseConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { resolveFfmpeg } from '../../data/video.js';
import { setBackend } from '../../tracker/backend.js';
import { tf } from '../../tracker/tf.js';

/** A running test server. */
export interface TestServer {
  url: string;
  dir: string;
  handle: AppHandle;
  logs: string[];
  close: () => Promise<void>;
}

let backendReady: Promise<void> | null = null;

/** Pin the tfjs backend to wasm (once per process). */
export function pinBackend(): Promise<void> {
  backendReady ??= setBackend('wasm');
  return backendReady;
}

/** Start a server on 127.0.0.1:0 with temp upload/model/eval folders; `overrides` change the config. */
export async function startServer(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  await pinBackend();
  const dir = await mkdtemp(path.join(tmpdir(), 'rot-track-server-'));
  const config = parseConfig({
    port: 0, host: '127.0.0.1', uploadDir: path.join(dir, 'uploads'), modelDir: path.join(dir, 'models'),
    evalDir: path.join(dir, 'eval'), logLevel: 'info', ...overrides,
  });
  const logs: string[] = [];
  const handle = await createApp({ config, log: createLogger('info', (l) => logs.push(l)) });
  await new Promise<void>((resolve) => handle.server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = handle.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    handle,
    logs,
    close: async () => {
      await handle.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Write an H.264 mp4 of `frames` frames at `fps`: a red `sq`×`sq` square moving right by `speed` px/s from (20, 40)
 * on a grey `w`×`h` background (ffmpeg's overlay evaluates x per frame).
 */
export async function makeVideo(file: string, o: { frames?: number; fps?: number; w?: number; h?: number; speed?: number; sq?: number } = {}): Promise<void> {
  const { frames = 30, fps = 10, w = 160, h = 120, speed = 30, sq = 24 } = o;
  const graph = `color=c=0x505050:s=${w}x${h}:r=${fps}[bg];color=c=red:s=${sq}x${sq}:r=${fps}[fg];[bg][fg]overlay=x='20+t*${speed}':y=40`;
  await ffmpeg(['-f', 'lavfi', '-i', graph, '-frames:v', String(frames), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file]);
}

/** Run the resolved ffmpeg with `args`; rejects with its stderr on failure. */
export async function ffmpeg(args: string[]): Promise<void> {
  const bin = (await resolveFfmpeg()).path;
  await new Promise<void>((resolve, reject) => {
    const p = spawn(bin, ['-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg ${args.join(' ')} failed: ${err}`))));
  });
}

/** Extra parts of an upload request: form fields (sent before the file) and headers. */
export interface UploadExtra {
  fields?: Record<string, string>;
  headers?: Record<string, string>;
}

/** POST `bytes` as multipart field `field` (default `video`) named `name`; returns status and parsed JSON. */
export async function upload(url: string, bytes: Uint8Array, name: string, field = 'video', extra: UploadExtra = {}): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(extra.fields ?? {})) form.append(k, v);
  form.append(field, new Blob([new Uint8Array(bytes)]), name);
  const res = await fetch(`${url}/api/uploads`, { method: 'POST', body: form, headers: extra.headers });
  return { status: res.status, body: await res.json() };
}

/** Upload the file at `file`. */
export async function uploadFile(url: string, file: string): Promise<{ status: number; body: any }> {
  return upload(url, await readFile(file), path.basename(file));
}

/** Options of a test socket: handshake headers (Origin, Cookie), `auth` (a session id) and query (a token). */
export interface ConnectOptions {
  headers?: Record<string, string>;
  auth?: Record<string, string>;
  query?: Record<string, string>;
}

/** A connected socket.io client (websocket only, fresh manager); rejects with the server's refusal. */
export async function connect(url: string, o: ConnectOptions = {}): Promise<Socket> {
  const s = ioClient(url, { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: o.headers, auth: o.auth, query: o.query });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', reject);
  });
  return s;
}

/** Emit with an ack and wait for it (rejects after `ms`). */
export function ask(s: Socket, event: string, payload: unknown, ms = 20_000): Promise<any> {
  return s.timeout(ms).emitWithAck(event, payload);
}

/** Resolve when `pred` holds (polled every 20 ms); reject after `ms`. */
export async function waitFor(pred: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!(await pred())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Number of live tensors in the engine. */
export function tensors(): number {
  return tf.memory().numTensors;
}
