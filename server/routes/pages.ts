/**
 * The browser pages: static HTML/CSS from client/public and the esbuild bundles at `/js/<page>.js`.
 */
import path from 'node:path';
import express, { Router } from 'express';
import type { ClientBundles } from '../client-bundle.js';
import { ROOT } from '../config.js';
import { isolate } from './browser.js';

/** Page routes; `/` is the upload page. */
export function pageRoutes(bundles: ClientBundles): Router {
  const r = Router();
  const pub = path.join(ROOT, 'client', 'public');
  const page = (file: string) => (_req: express.Request, res: express.Response) => {
    res.sendFile(path.join(pub, file));
  };
  // the pages that can track in the browser are cross-origin isolated: onnxruntime-web may then use wasm threads
  r.get('/', isolate, page('index.html'));
  r.get('/webcam', isolate, page('webcam.html'));
  r.get('/eval', page('eval.html'));
  r.get('/classifier', page('classifier.html'));
  r.get('/favicon.ico', (_req, res) => res.redirect(301, '/static/favicon.svg'));
  r.get('/js/:name.js', isolate, async (req, res) => {
    const js = await bundles.get(String(req.params.name));
    res.type('text/javascript').set('Cache-Control', 'no-cache').send(js);
  });
  r.use('/static', express.static(pub, { index: false, dotfiles: 'deny', fallthrough: true }));
  return r;
}
