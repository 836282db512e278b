/**
 * `POST /api/uploads` (multipart field `video`, size-limited, sniffed by probing), `GET /api/uploads/:id`,
 * `GET /api/uploads/:id/preview.jpg` and `GET /api/uploads/:id/video` (range requests supported).
 */
import { Router } from 'express';
import multer from 'multer';
import { AppError } from '../errors.js';
import type { PerKeyCounter, VideoLimits } from '../limits.js';
import { IdSchema } from '../protocol.js';
import type { TokenBuckets } from '../rate-limit.js';
import type { UploadMode, UploadStore } from '../uploads.js';

/** Parse an id path parameter; anything else (`..`, slashes, dots) is a 400. */
export function idParam(v: unknown, what = 'id'): string {
  const r = IdSchema.safeParse(v);
  if (!r.success) throw new AppError('bad_request', `invalid ${what}: ${r.error.issues[0].message}`, 400);
  return r.data;
}

/** What the upload route enforces: file size, video limits, and per-IP uploads in flight and per minute. */
export interface UploadPolicy {
  maxBytes: number;
  video: VideoLimits;
  inFlight: PerKeyCounter;
  perMinute: TokenBuckets;
}

/** The upload routes. */
export function uploadRoutes(store: UploadStore, policy: UploadPolicy): Router {
  const maxBytes = policy.maxBytes;
  const r = Router();
  const upload = multer({
    dest: store.incomingDir,
    limits: { fileSize: Math.floor(maxBytes), files: 1, fields: 8, parts: 10, fieldSize: 4096 },
  }).single('video');

  r.post('/api/uploads', (req, res, next) => {
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('multipart/form-data')) {
      next(new AppError('bad_request', 'send the video as multipart/form-data in the field "video"', 400));
      return;
    }
    const ip = req.ip ?? 'unknown';
    if (!policy.perMinute.take(ip)) {
      next(new AppError('rate_limited', `too many uploads from your address: at most ${policy.perMinute.ratePerSec * 60} per minute (--uploads-per-minute)`, 429));
      return;
    }
    if (!policy.inFlight.acquire(ip)) {
      next(new AppError('rate_limited', `at most ${policy.inFlight.max} uploads at once from one address (--max-uploads-per-ip); wait for one to finish`, 429));
      return;
    }
    let released = false;
    const release = () => {
      if (!released) policy.inFlight.release(ip);
      released = true;
    };
    res.on('close', release);
    upload(req, res, (err: unknown) => {
      if (err) {
        release();
        next(err);
        return;
      }
      const file = req.file;
      if (!file) {
        next(new AppError('bad_request', 'no file in the multipart field "video"', 400));
        return;
      }
      const name = String(file.originalname ?? 'upload').replace(/[^\w .()-]/g, '_').slice(0, 120) || 'upload';
      const mode: UploadMode = (req.body as { mode?: unknown } | undefined)?.mode === 'image' ? 'image' : 'video';
      store
        .accept(file.path, name, file.size, policy.video, mode)
        .then((u) => res.status(201).json({ ok: true, data: store.describe(u) }))
        .catch(next)
        .finally(release);
    });
  });

  r.get('/api/uploads/:id', async (req, res) => {
    res.json({ ok: true, data: store.describe(await store.fetch(idParam(req.params.id, 'upload id'))) });
  });

  r.get('/api/uploads/:id/preview.jpg', async (req, res, next) => {
    const u = await store.fetch(idParam(req.params.id, 'upload id'));
    res.type('image/jpeg').sendFile(u.previewPath, { dotfiles: 'deny' }, (e) => e && next(e));
  });

  r.get('/api/uploads/:id/video', async (req, res, next) => {
    const u = await store.fetch(idParam(req.params.id, 'upload id'));
    res.type(store.mimeOf(u)).sendFile(u.videoPath, { dotfiles: 'deny' }, (e) => e && next(e));
  });
  return r;
}
