/**
 * `npm run bench:browser`: tracking speed inside headless Chromium (issue 18) — the webcam page's own engine
 * (onnxruntime-web, wasm SIMD, threads as the isolated page gets them) on the real server's model files, 3 scales,
 * over the benchmarks' 640×360 sequence (scripts/bench-frames.ts), frames already in page memory: fps and per-frame
 * ms p50 / p95 of `update` (JS crops + search network + post-processing). Models: the shipped CPU-scale ien-siamfc,
 * and the full-size ien-siamfc (AlexNet 127/255, training/experiments/full) with untrained weights — no trained
 * full-size model ships, and speed does not depend on the weights' values. Needs /usr/bin/chromium.
 *
 *   npm run bench:browser -- [--frames 60] [--full-frames 10] [--no-full]
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CHROMIUM, withBrowser } from '../test/e2e/browser.js';
import { pinBackend, startServer } from '../test/server/helpers.js';
import { SHIPPED_MODELS_DIR } from '../tracker/node/load-tracker.js';
import { saveModel } from '../tracker/node/model-files.js';
import { SiamFCNet } from '../tracker/siamfc.js';
import { createBackbone } from '../tracker/weights.js';
import { parseBackboneSpec } from '../tracker/backbone-spec.js';
import { ROOT } from '../server/config.js';
import { benchFrames } from './bench-frames.js';

interface Row { model: string; engine: string; frames: number; fps: number; p50: number; p95: number }

const { values } = parseArgs({ options: { frames: { type: 'string', default: '60' }, 'full-frames': { type: 'string', default: '10' }, 'no-full': { type: 'boolean', default: false } } });
const n = Number(values.frames);
const nFull = Number(values['full-frames']);
if (!(n >= 3) || !(nFull >= 3)) throw new Error(`--frames and --full-frames must be at least 3, got ${values.frames} / ${values['full-frames']}`);

await pinBackend();
const models = await mkdtemp(path.join(tmpdir(), 'rot-track-bench-browser-'));
await cp(path.join(SHIPPED_MODELS_DIR, 'ien-siamfc'), path.join(models, 'ien-siamfc'), { recursive: true });
if (!values['no-full']) {
  const cfg = JSON.parse(await readFile(path.join(ROOT, 'training/experiments/full/ien-siamfc.json'), 'utf8')) as { backbone: unknown };
  const net = new SiamFCNet(createBackbone(parseBackboneSpec(cfg.backbone), 1));
  await saveModel(path.join(models, 'ien-siamfc-full-untrained'), net, { variant: 'ien-siamfc', provenance: { note: 'untrained, for speed only' } });
  net.dispose();
}
const srv = await startServer({ modelDir: models });
const rows: Row[] = [];
try {
  await withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    await page.goto(srv.url + '/webcam');
    const frames = benchFrames(Math.max(n, nFull));
    await page.evaluate(() => ((globalThis as Record<string, unknown>).benchFrames = []));
    for (const f of frames) {
      await page.evaluate(({ b64, width, height }) => {
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        ((globalThis as Record<string, unknown>).benchFrames as unknown[]).push({ data, width, height });
      }, { b64: Buffer.from(f.data).toString('base64'), width: f.width, height: f.height });
    }
    const runs: [string, number][] = [['ien-siamfc', n]];
    if (!values['no-full']) runs.push(['ien-siamfc-full-untrained', nFull]);
    for (const [model, count] of runs) {
      const r = await page.evaluate(async ({ model, count }) => {
        type T = { init(f: unknown, b: unknown): Promise<void>; update(f: unknown): Promise<unknown> };
        const hook = (globalThis as unknown as { rotTrack: { loadBrowserTracker(n: string): Promise<{ description: string; tracker: T }> } }).rotTrack;
        const t = await hook.loadBrowserTracker(model);
        const fr = ((globalThis as Record<string, unknown>).benchFrames as unknown[]).slice(0, count);
        await t.tracker.init(fr[0], { x: 300, y: 150, width: 60, height: 60 });
        await t.tracker.update(fr[1]); // warm-up
        const ms: number[] = [];
        const t0 = performance.now();
        for (let i = 2; i < fr.length; i++) {
          const a = performance.now();
          await t.tracker.update(fr[i]);
          ms.push(performance.now() - a);
        }
        return { ms, total: performance.now() - t0, description: t.description };
      }, { model, count });
      const sorted = [...r.ms].sort((a, b) => a - b);
      const pct = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      rows.push({ model, engine: r.description, frames: r.ms.length, fps: (1000 * r.ms.length) / r.total, p50: pct(0.5), p95: pct(0.95) });
    }
  });
} finally {
  await srv.close();
  await rm(models, { recursive: true, force: true });
}
console.log(`Chromium ${CHROMIUM}, headless, 640×360 frames, 3 scales`);
console.log('| model | engine | frames | fps | ms p50 | ms p95 |');
console.log('| --- | --- | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.model} | ${r.engine} | ${r.frames} | ${r.fps.toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} |`);
if (values['no-full']) console.log('(full-size model skipped: --no-full)');
