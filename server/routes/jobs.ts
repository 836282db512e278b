/**
 * `GET /api/jobs` (the session's jobs), `GET /api/jobs/:id` (state) and `GET /api/jobs/:id/:file` (downloads of a
 * finished job: annotated.mp4, boxes.txt, result.json; any other name is a 404, never a path).
 */
import path from 'node:path';
import { Router, type Request, type Response } from 'express';
import { AppError } from '../errors.js';
import type { JobService } from '../job-service.js';
import { RESULT_FILES } from '../jobs.js';
import { idParam } from './uploads.js';

const MIME: Record<string, string> = { 'annotated.mp4': 'video/mp4', 'boxes.txt': 'text/plain; charset=utf-8', 'result.json': 'application/json' };

/** The job routes. */
export function jobRoutes(jobs: JobService): Router {
  const r = Router();
  // The session cookie (access.ts) or the share key in the link (`?key=`) decides who sees a job.
  const find = (req: Request, res: Response) =>
    jobs.access(idParam(req.params.id, 'job id'), String(res.locals.session), typeof req.query.key === 'string' ? req.query.key : undefined);
  r.get('/api/jobs', async (_req, res) => {
    res.json({ ok: true, data: { jobs: await jobs.list(String(res.locals.session)) } });
  });
  r.get('/api/jobs/:id', async (req, res) => {
    const job = await find(req, res);
    res.json({ ok: true, data: { ...jobs.info(job), done: job.done, results: job.results, error: job.error, warning: job.warning } });
  });
  r.get('/api/jobs/:id/:file', async (req, res, next) => {
    const job = await find(req, res);
    const file = String(req.params.file);
    if (!(Object.values(RESULT_FILES) as string[]).includes(file)) {
      throw new AppError('not_found', `no result file "${file.slice(0, 60)}"; files: ${Object.values(RESULT_FILES).join(', ')}`, 404);
    }
    if (job.state !== 'done' || !job.results) {
      throw new AppError('not_ready', `job ${job.id} is ${job.state}; results exist once it is done`, 409);
    }
    if (file === RESULT_FILES.video && !job.results.video) {
      throw new AppError('not_found', job.results.annotateError ?? 'no annotated video for this job', 404);
    }
    const stem = job.uploadName.replace(/\.[^.]*$/, '').replace(/[^\w.-]/g, '_') || 'video';
    res.type(MIME[file]).attachment(`${stem}-${job.model}-${file}`);
    res.sendFile(path.join(job.dir, file), { dotfiles: 'deny' }, (e) => e && next(e));
  });
  return r;
}
