/**
 * What a browser needs to track by itself (issue 18): each model's ONNX networks (`/api/models/:name/browser`
 * describes them, `/api/models/:name/{exemplar,search}.onnx?v=<hash>` serves them with their hash as ETag, cached for
 * good when the URL's hash is current) and onnxruntime-web's scripts and .wasm files from node_modules at
 * `/ort/<version>/` (no CDN), cached for good since the version is in the URL. The pages that track in the browser
 * are cross-origin isolated (COOP from helmet + COEP here) so that onnxruntime-web may use wasm threads.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import type { BrowserModels } from '../browser-models.js';
import { AppError } from '../errors.js';

const require = createRequire(import.meta.url);
/** onnxruntime-web's dist folder and version. */
export const ORT_WEB = (() => {
  const main = require.resolve('onnxruntime-web'); // <pkg>/dist/ort.node.min.js
  const dist = path.dirname(main);
  const { version } = require(path.join(dist, '..', 'package.json')) as { version: string };
  return { dist, version, base: `/ort/${version}/` };
})();

/** The onnxruntime-web files a page may load: the wasm-only and WebGPU entry points and their runtimes. */
const ORT_FILE = /^(ort\.wasm\.min\.mjs|ort\.webgpu\.min\.mjs|ort-wasm-simd-threaded(\.jsep|\.asyncify)?\.(mjs|wasm))$/;

/** Cross-origin isolation for a page or script (helmet already sends COOP same-origin). */
export function isolate(_req: Request, res: Response, next: NextFunction): void {
  res.set('Cross-Origin-Embedder-Policy', 'require-corp');
  next();
}

/** The model-file and onnxruntime-web routes. */
export function browserRoutes(models: BrowserModels): Router {
  const r = Router();
  r.get('/api/models/:name/browser', async (req, res) => {
    const meta = await models.describe(String(req.params.name));
    res.set('Cache-Control', 'no-cache').json({ ok: true, data: meta });
  });
  r.get('/api/models/:name/:file', async (req, res) => {
    const { bytes, version } = await models.file(String(req.params.name), String(req.params.file));
    const current = req.query.v === version;
    res.set({
      'Content-Type': 'application/octet-stream',
      ETag: `"${version}"`,
      // the URL names this content: keep it; any other URL: ask again each time (304 while unchanged)
      'Cache-Control': current ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if ((req.get('If-None-Match') ?? '').split(',').some((t) => t.trim().replace(/^W\//, '') === `"${version}"`)) {
      res.status(304).end();
      return;
    }
    res.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
  r.use(`/ort/:version`, isolate, (req, res, next) => {
    if (req.params.version !== ORT_WEB.version) {
      next(new AppError('not_found', `onnxruntime-web ${String(req.params.version).slice(0, 20)} is not served; this server has ${ORT_WEB.version} at ${ORT_WEB.base}`, 404));
      return;
    }
    const name = req.path.replace(/^\//, '');
    if (!ORT_FILE.test(name)) {
      next(new AppError('not_found', `no onnxruntime-web file "${name.slice(0, 80)}"`, 404));
      return;
    }
    next();
  }, express.static(ORT_WEB.dist, { index: false, immutable: true, maxAge: '365d', fallthrough: false }));
  return r;
}
