/**
 * Parity of the browser engine (issue 18) in Debian's Chromium: the webcam page's own engine (onnxruntime-web, the
 * shipped ien-siamfc's networks served by the real server) tracks the first 40 frames of otb-mini's Crossing, and the
 * boxes equal the server's onnx engine (onnxruntime-node, run here on the same frames) to 0.5 px. The frames are
 * decoded once in Node and sent to the page as raw RGB, so both trackers see identical pixels.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../server/helpers.js';
import { browserSkip, withBrowser } from './browser.js';
import { OTB_MINI, sharedDataSkip } from '../helpers/shared-data.js';
import { readFrame } from '../../data/frames.js';
import { fromOtb, type Box } from '../../tracker/geometry.js';
import { SHIPPED_MODELS_DIR, loadTracker } from '../../tracker/node/load-tracker.js';
import { chooseEngine } from '../../tracker/node/onnx/choose-engine.js';
import { trackSequence, type RawFrame } from '../../tracker/tracker.js';

const skip = browserSkip() ?? sharedDataSkip();
const FRAMES = 40;
let srv: TestServer;

before(async () => {
  if (skip) return;
  srv = await startServer({ modelDir: SHIPPED_MODELS_DIR });
});
after(async () => {
  await srv?.close();
});

test('browser engine (onnxruntime-web in Chromium) = server onnx engine to 0.5 px on 40 real frames', { skip, timeout: 180_000 }, async () => {
  const dir = path.join(OTB_MINI, 'Crossing');
  const frames: RawFrame[] = [];
  for (let i = 1; i <= FRAMES; i++) frames.push(await readFrame(path.join(dir, 'img', `${String(i).padStart(4, '0')}.jpg`)));
  const init = fromOtb(readFileSync(path.join(dir, 'groundtruth_rect.txt'), 'utf8').split('\n')[0].split(/[,\s]+/).map(Number));
  const choice = chooseEngine({ engine: 'onnx', argv: [], env: {}, threads: 1, log: () => {} });
  const server = await loadTracker('ien-siamfc', SHIPPED_MODELS_DIR, { engine: choice });
  const tracker = server.createTracker();
  const ref = await trackSequence(tracker, frames, init);
  tracker.dispose();
  server.dispose();

  const got = await withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(srv.url + '/webcam');
    const description = await page.evaluate(async () => {
      const hook = (globalThis as unknown as { rotTrack: { loadBrowserTracker(n: string): Promise<{ description: string }> } }).rotTrack;
      const t = await hook.loadBrowserTracker('ien-siamfc');
      (globalThis as Record<string, unknown>).parityTracker = t;
      return t.description;
    });
    const boxes: Box[] = [];
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      boxes.push(await page.evaluate(async ({ b64, width, height, box }) => {
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const t = (globalThis as unknown as { parityTracker: { tracker: {
          init(f: unknown, b: unknown): Promise<void>; update(f: unknown): Promise<{ box: { x: number; y: number; width: number; height: number } }>;
        } } }).parityTracker.tracker;
        if (box) {
          await t.init({ data, width, height }, box);
          return box;
        }
        return (await t.update({ data, width, height })).box;
      }, { b64: Buffer.from(f.data).toString('base64'), width: f.width, height: f.height, box: i === 0 ? init : null }));
    }
    assert.deepEqual(errors, []);
    return { boxes, description };
  });
  let worst = 0;
  for (let i = 0; i < FRAMES; i++) {
    for (const k of ['x', 'y', 'width', 'height'] as const) worst = Math.max(worst, Math.abs(got.boxes[i][k] - ref.boxes[i][k]));
  }
  const moved = Math.hypot(ref.boxes[FRAMES - 1].x - init.x, ref.boxes[FRAMES - 1].y - init.y);
  console.log(`# browser parity: ${got.description}; max box difference ${worst.toExponential(2)} px over ${FRAMES} frames; target moved ${moved.toFixed(1)} px`);
  assert.ok(moved > 5, `the target moved only ${moved} px: the comparison would be weak`);
  assert.ok(worst <= 0.5, `browser and server boxes differ by ${worst} px`);
});
