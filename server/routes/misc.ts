/**
 * Small API routes: health, models, evaluation reports and the classifier.
 */
import { Router } from 'express';
import type { Classifiers } from '../classifier.js';
import { AppError, describeZodError } from '../errors.js';
import type { EvalService } from '../eval-jobs.js';
import type { EvalReports } from '../eval-reports.js';
import type { ModelRegistry } from '../models.js';
import { ClassifyFeaturesSchema, ClassifySchema } from '../protocol.js';

/** What the health route reports besides `status`. */
export interface HealthInfo {
  backend: () => string;
  activeJobs: () => number;
  uploads: () => number;
  camSessions: () => number;
  tensors: () => number;
}

/** Health, models, eval and classifier routes. */
export function miscRoutes(models: ModelRegistry, reports: EvalReports, classifiers: Classifiers, evals: EvalService, health: HealthInfo): Router {
  const r = Router();
  r.get('/api/health', (_req, res) => {
    res.json({
      ok: true,
      data: {
        status: 'ok', backend: health.backend(), activeJobs: health.activeJobs(), uploads: health.uploads(),
        camSessions: health.camSessions(), tensors: health.tensors(), uptimeSeconds: Math.round(process.uptime()),
      },
    });
  });
  r.get('/api/models', async (_req, res) => {
    await models.refresh();
    res.json({ ok: true, data: models.list() });
  });
  r.get('/api/eval', async (_req, res) => {
    await models.refresh();
    const list = models.list();
    // The form preselects the server's default model (not the first name alphabetically).
    res.json({ ok: true, data: { ...(await evals.describe()), models: list.models.map((m) => m.name), defaultModel: list.default } });
  });
  r.get('/api/eval/reports', async (_req, res) => {
    res.json({ ok: true, data: { root: 'evalDir (server setting)', reports: await reports.list() } });
  });
  r.get('/api/eval/reports/:run/:file', async (req, res, next) => {
    const f = await reports.file(String(req.params.run), String(req.params.file));
    res.type(f.mime).sendFile(f.path, { dotfiles: 'deny' }, (e) => e && next(e));
  });
  r.get('/api/classify', async (_req, res) => {
    const why = await classifiers.status();
    res.json({ ok: true, data: { available: why === null, reason: why, models: classifiers.list() } });
  });
  r.post('/api/classify', async (req, res) => {
    const p = ClassifySchema.safeParse(req.body);
    if (!p.success) throw new AppError('invalid_payload', describeZodError(p.error, 'classify body'), 400);
    res.json({ ok: true, data: { results: await classifiers.classify(p.data.pixels) } });
  });
  r.post('/api/classify/features', async (req, res) => {
    const p = ClassifyFeaturesSchema.safeParse(req.body);
    if (!p.success) throw new AppError('invalid_payload', describeZodError(p.error, 'classify features body'), 400);
    res.json({ ok: true, data: await classifiers.features(p.data.pixels, p.data.layer) });
  });
  return r;
}
