/**
 * Uploaded videos: accepted files are probed with ffprobe (the content decides, never the name), get a first-frame
 * JPEG preview, and live in `<uploadDir>/<id>/` until `retentionMinutes` after their last use.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { AppError } from './errors.js';
import type { Logger } from './log.js';
import { checkPixels, checkVideo, type VideoLimits } from './limits.js';
import type { UploadInfo } from './protocol.js';
import type { StateStore, UploadRecord } from './store/types.js';
import { decodeVideo, probeVideo, type VideoInfo } from './video.js';

/** A new random id (url-safe, 22 characters). */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** A stored upload. `busy` counts jobs using it (retention never deletes a busy upload). */
export interface Upload {
  id: string;
  name: string;
  bytes: number;
  dir: string;
  videoPath: string;
  previewPath: string;
  info: VideoInfo;
  playable: boolean;
  lastUsed: number;
  busy: number;
}

const BROWSER_CODECS = new Set(['h264', 'vp8', 'vp9', 'av1']);

/** Container format → file extension and MIME type used to serve the original back to the browser. */
function containerOf(info: VideoInfo): { ext: string; mime: string } {
  if (info.format.includes('mp4') || info.format.includes('mov')) return { ext: 'mp4', mime: 'video/mp4' };
  if (info.format.includes('webm') || info.format.includes('matroska')) return { ext: 'webm', mime: 'video/webm' };
  return { ext: 'bin', mime: 'application/octet-stream' };
}

/** How often (ms) a use of an upload is written to the store; retention is counted in minutes. */
const TOUCH_WRITE_MS = 10_000;

/**
 * The store of uploads: accept, look up, touch, expire; every upload is recorded in the StateStore. With a shared
 * store (the Redis mode: several server processes over one folder) `lookup` reads one record, so an upload accepted
 * by another server process is found (`fetch`) and one another process still uses is not expired here.
 */
export class UploadStore {
  private readonly uploads = new Map<string, Upload>();

  constructor(
    readonly root: string,
    private readonly retentionMs: number,
    private readonly store: StateStore,
    private readonly log: Logger,
    private readonly lookup?: (id: string) => Promise<UploadRecord | undefined>,
  ) {}

  /** Take the stored uploads after a restart; records whose files are gone are deleted. */
  async restore(records: UploadRecord[]): Promise<void> {
    for (const r of records) {
      const u = this.fromRecord(r);
      if (!existsSync(u.videoPath) || !existsSync(u.previewPath)) {
        await this.store.deleteUpload(r.id);
        continue;
      }
      this.uploads.set(r.id, u);
    }
  }

  private fromRecord(r: UploadRecord): Upload {
    const dir = path.join(this.root, r.id);
    return { ...r, dir, videoPath: path.join(dir, r.videoFile), previewPath: path.join(dir, 'preview.jpg'), busy: 0 };
  }

  /**
   * The upload `id` like `get`, but first looked up in the shared store when this process does not know it (accepted
   * by another server process since this one started). Ids are checked by the callers' patterns before they get here.
   */
  async fetch(id: string): Promise<Upload> {
    if (!this.uploads.has(id) && this.lookup) {
      const r = await this.lookup(id);
      if (r) {
        const u = this.fromRecord(r);
        if (existsSync(u.videoPath) && existsSync(u.previewPath) && !this.uploads.has(id)) this.uploads.set(id, u);
      }
    }
    return this.get(id);
  }

  /** Ids of the uploads known (for the orphan sweep). */
  ids(): Set<string> {
    return new Set(this.uploads.keys());
  }

  private record(u: Upload): UploadRecord {
    return { id: u.id, name: u.name, bytes: u.bytes, videoFile: path.basename(u.videoPath), info: u.info, playable: u.playable, lastUsed: u.lastUsed };
  }

  private persist(u: Upload): void {
    this.store.saveUpload(this.record(u)).catch((e) => this.log.error('upload.store_error', { id: u.id, error: String(e) }));
  }

  /** Folder multer writes incoming files to. */
  get incomingDir(): string {
    return path.join(this.root, 'incoming');
  }

  /** Create the folders. */
  async init(): Promise<void> {
    await mkdir(this.incomingDir, { recursive: true });
  }

  /**
   * Take a file multer wrote at `tmpPath`: probe it, reject what is not a decodable video (AppError `not_video`, 415),
   * a still image unless `mode` is 'image' (415), and anything over the limits (413, before any frame is decoded);
   * move it into its own folder, write the preview. The temporary file is gone afterwards either way.
   */
  async accept(tmpPath: string, originalName: string, bytes: number, limits: VideoLimits, mode: UploadMode = 'video'): Promise<Upload> {
    let info: VideoInfo;
    try {
      info = await probeChecked(tmpPath, originalName, limits, mode);
    } catch (e) {
      await rm(tmpPath, { force: true });
      throw e;
    }
    const id = newId();
    const dir = path.join(this.root, id);
    const { ext } = containerOf(info);
    const videoPath = path.join(dir, `source.${ext}`);
    const previewPath = path.join(dir, 'preview.jpg');
    await mkdir(dir, { recursive: true });
    try {
      await rename(tmpPath, videoPath);
      const first = await firstFrame(videoPath, info, originalName);
      const jpeg = await sharp(first.data, { raw: { width: first.width, height: first.height, channels: 3 } }).jpeg({ quality: 88 }).toBuffer();
      await writeFile(previewPath, jpeg);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      await rm(tmpPath, { force: true });
      throw e;
    }
    const playable = BROWSER_CODECS.has(info.codec) && containerOf(info).ext !== 'bin';
    const upload: Upload = { id, name: originalName, bytes, dir, videoPath, previewPath, info, playable, lastUsed: Date.now(), busy: 0 };
    this.uploads.set(id, upload);
    await this.store.saveUpload(this.record(upload));
    this.log.info('upload.accepted', { id, name: originalName, bytes, width: info.width, height: info.height, frames: info.frames, codec: info.codec });
    return upload;
  }

  /** The upload `id`, marked as used now; AppError `not_found` (404) if absent or expired. */
  get(id: string): Upload {
    const u = this.uploads.get(id);
    if (!u) throw new AppError('not_found', `no upload with id "${id}" (it may have expired)`, 404);
    const now = Date.now();
    const stale = now - u.lastUsed > TOUCH_WRITE_MS;
    u.lastUsed = now;
    if (stale) this.persist(u);
    return u;
  }

  /** MIME type of the stored original. */
  mimeOf(u: Upload): string {
    return containerOf(u.info).mime;
  }

  /** Public description of an upload. */
  describe(u: Upload): UploadInfo {
    const { info } = u;
    return {
      id: u.id,
      name: u.name,
      bytes: u.bytes,
      width: info.width,
      height: info.height,
      fps: info.fps,
      frames: info.frames,
      duration: Number.isFinite(info.duration) ? info.duration : 0,
      codec: info.codec,
      playable: u.playable,
      previewUrl: `/api/uploads/${u.id}/preview.jpg`,
      videoUrl: `/api/uploads/${u.id}/video`,
    };
  }

  /** Delete uploads unused for longer than the retention time (never one a job is using). Returns how many. */
  async expire(now = Date.now()): Promise<number> {
    let n = 0;
    for (const u of [...this.uploads.values()]) {
      if (u.busy > 0 || now - u.lastUsed < this.retentionMs) continue;
      if (this.lookup) {
        // Another server process may have used it since (its uses are written to the shared store) or deleted it.
        const r = await this.lookup(u.id);
        if (r && now - r.lastUsed < this.retentionMs) {
          u.lastUsed = r.lastUsed;
          continue;
        }
      }
      this.uploads.delete(u.id);
      await this.store.deleteUpload(u.id);
      await rm(u.dir, { recursive: true, force: true });
      this.log.info('upload.expired', { id: u.id });
      n++;
    }
    return n;
  }

  /** Number of stored uploads. */
  get size(): number {
    return this.uploads.size;
  }
}

/** How an upload is meant: a video (default) or a single still image tracked as a one-frame video. */
export type UploadMode = 'video' | 'image';

/**
 * Check the limits before anything is decoded, then probe: a file sharp can read a header from is a still image
 * (its size comes from that header: ffprobe would decode the picture to find it), refused unless `mode` is 'image';
 * a video is probed by ffprobe without counting frames, checked, and only then counted by decoding when the container
 * does not say how many frames it has.
 */
async function probeChecked(file: string, name: string, limits: VideoLimits, mode: UploadMode): Promise<VideoInfo> {
  const still = await sharp(file).metadata().then((m) => (m.width && m.height ? m : null), () => null);
  if (still) {
    checkPixels(still.width!, still.height!, limits.maxPixels, `image "${name}"`, '--max-video-pixels');
    if (mode !== 'image') {
      throw new AppError('not_video', `"${name}" is a still image (${still.format}), not a video; upload it with the form field mode=image to track in a single image`, 415);
    }
  } else if (mode === 'image') {
    throw new AppError('not_video', `"${name}" is not a still image; upload it without mode=image`, 415);
  }
  let info: VideoInfo;
  try {
    info = await probeVideo(file, { countFrames: false });
    checkVideo(info, { ...limits, maxFrames: Infinity }, name);
    if (info.frames < 1) info = await probeVideo(file);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError('not_video', `"${name}" is not a video ffmpeg can read: ${lastLine((e as Error).message)}`, 415);
  }
  checkVideo(info, limits, name);
  if (info.frames < 1 || info.width < 1 || info.height < 1) throw new AppError('not_video', `"${name}" has no video frames`, 415);
  return info;
}

/** Decode the first frame; a file ffprobe accepts but ffmpeg cannot decode is `not_video` too. */
async function firstFrame(file: string, info: VideoInfo, name: string) {
  try {
    for await (const f of decodeVideo(file, { maxFrames: 1, info })) return f;
  } catch (e) {
    throw new AppError('not_video', `"${name}" cannot be decoded: ${lastLine((e as Error).message)}`, 415);
  }
  throw new AppError('not_video', `"${name}" has no decodable frame`, 415);
}

/**
 * The last non-empty line of an ffmpeg message (the actual error), without the quoting bar of VideoError, the
 * `file:` protocol prefix and the temporary path: `| file:/…/incoming/abc: Invalid data` → `Invalid data`.
 */
export function lastLine(msg: string): string {
  const lines = msg.split('\n').map((l) => l.trim().replace(/^\|\s*/, '')).filter(Boolean);
  const l = lines[lines.length - 1] ?? msg;
  return l.replace(/(file:)?\/[^\s:]*incoming\/[A-Za-z0-9_-]+:?\s*/g, '').trim().slice(0, 300) || 'unreadable data';
}
