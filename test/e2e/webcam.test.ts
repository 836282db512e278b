/**
 * End to end in Debian's Chromium with a fake camera fed from a .y4m (a red square drifting right on grey, made by
 * ffmpeg): start the camera, find the square in the live view, drag a box around it with the mouse, and check that
 * boxes come back over socket.io with fps and latency shown and the box staying on the square.
 * Screenshot: artifacts/e2e/webcam.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ffmpeg, startServer, type TestServer } from '../server/helpers.js';
import type { BrowserContext, Page } from 'playwright-core';
import { ARTIFACTS, browserSkip, withBrowser } from './browser.js';

const skip = browserSkip();
let srv: TestServer;
let y4m = '';

before(async () => {
  if (skip) return;
  srv = await startServer();
  y4m = path.join(srv.dir, 'cam.y4m');
  const graph = "color=c=0x505050:s=320x240:r=15[bg];color=c=red:s=32x32:r=15[fg];[bg][fg]overlay=x='60+t*8':y=100";
  await ffmpeg(['-f', 'lavfi', '-i', graph, '-pix_fmt', 'yuv420p', '-frames:v', '150', y4m]);
});
after(async () => {
  await srv?.close();
});

/** Bounding box of red pixels in the live video, in video pixels. */
function findSquareInPage(): { x0: number; y0: number; x1: number; y1: number; w: number; h: number } | null {
  const v = document.getElementById('camera') as HTMLVideoElement;
  const c = document.createElement('canvas');
  c.width = v.videoWidth;
  c.height = v.videoHeight;
  const ctx = c.getContext('2d')!;
  ctx.drawImage(v, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = 0; y < c.height; y++) {
    for (let x = 0; x < c.width; x++) {
      const i = (y * c.width + x) * 4;
      if (d[i] > 180 && d[i + 1] < 90 && d[i + 2] < 90) {
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1, y1, w: c.width, h: c.height };
}

/** Start the camera, find the red square and drag a box around it with the mouse; returns the square. */
async function startAndDrawBox(page: Page): Promise<NonNullable<ReturnType<typeof findSquareInPage>>> {
  await page.click('#start-camera');
  await page.waitForFunction(() => /Camera on: 320×240/.test(document.getElementById('cam-status')!.textContent ?? ''), undefined, { timeout: 20_000 });
  const sq = await page.evaluate(findSquareInPage);
  assert.ok(sq, 'the fake camera shows the red square');
  const r = (await page.locator('#overlay').boundingBox())!;
  const k = r.width / 320;
  await page.mouse.move(r.x + (sq.x0 - 2) * k, r.y + (sq.y0 - 2) * k);
  await page.mouse.down();
  await page.mouse.move(r.x + (sq.x1 + 2) * k, r.y + (sq.y1 + 2) * k, { steps: 6 });
  await page.mouse.up();
  return sq;
}

/** A new page on /webcam and the list its page errors and console errors go to. */
async function openWebcamPage(ctx: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(srv.url + '/webcam');
  return { page, errors };
}

/** The box shown (video pixels) sits on the square where it is now (centres within 12 px). */
async function assertBoxOnSquare(page: Page): Promise<void> {
  const now = await page.evaluate(findSquareInPage);
  const box = JSON.parse((await page.getAttribute('#stage', 'data-box'))!);
  assert.ok(now, 'square still visible');
  assert.ok(Math.abs(box.x + box.width / 2 - (now.x0 + now.x1) / 2) < 12, `box centre x ${box.x + box.width / 2} vs square ${(now.x0 + now.x1) / 2}`);
  assert.ok(Math.abs(box.y + box.height / 2 - (now.y0 + now.y1) / 2) < 12, `box centre y ${box.y + box.height / 2} vs square ${(now.y0 + now.y1) / 2}`);
}

test('webcam: draw a box on the live view, boxes come back with fps and latency and stay on the target; Stop ends it', { skip, timeout: 90_000 }, async () => {
  await withBrowser(async (ctx) => {
    const { page, errors } = await openWebcamPage(ctx);
    const sq = await startAndDrawBox(page);
    assert.equal(sq.w, 320);
    await page.waitForFunction(() => Number(document.getElementById('stage')!.dataset.answers ?? 0) >= 15, undefined, { timeout: 40_000 });
    const fps = Number(await page.textContent('#fps'));
    assert.ok(fps > 0, `fps shown: ${fps}`);
    assert.match((await page.textContent('#latency')) ?? '', /^\d+ ms$/);
    assert.match((await page.textContent('#server-latency')) ?? '', /^\d+ ms$/);
    await assertBoxOnSquare(page);
    console.log(`# webcam: fps ${fps}, latency ${await page.textContent('#latency')}, server ${await page.textContent('#server-latency')}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'webcam.png'), fullPage: true });

    // Stop turns the camera off and stops sending; Start is offered again.
    await page.click('#stop-camera');
    assert.equal(await page.textContent('#cam-status'), 'Camera stopped.');
    assert.equal(await page.evaluate(() => (document.getElementById('camera') as HTMLVideoElement).srcObject), null);
    assert.equal(await page.isEnabled('#start-camera'), true);
    assert.equal(await page.isDisabled('#stop-camera'), true);
    assert.equal(await page.getAttribute('#stage', 'data-box'), null);
    const answered = await page.getAttribute('#stage', 'data-answers');
    await page.waitForTimeout(600);
    assert.equal(await page.getAttribute('#stage', 'data-answers'), answered, 'no frames sent after Stop');
    assert.deepEqual(errors, []);
  }, y4m);
  // The page is gone: its socket and tracker are freed.
  const deadline = Date.now() + 5000;
  while (srv.handle.camSessions() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(srv.handle.camSessions(), 0);
});

test('webcam, "run in this browser": the page tracks by itself (onnxruntime-web), sends no frame, box on the target', { skip, timeout: 120_000 }, async () => {
  await withBrowser(async (ctx) => {
    const { page, errors } = await openWebcamPage(ctx);
    assert.equal(await page.inputValue('#mode'), 'server', 'the server mode is the default');
    await page.waitForFunction(() => (document.getElementById('model') as HTMLSelectElement).options.length > 0);
    await page.selectOption('#mode', 'browser');
    await page.waitForFunction(() => /^Tracking in this browser: .* on onnxruntime-web \(wasm SIMD, \d threads?\)/.test(document.getElementById('mode-note')!.textContent ?? ''), undefined, { timeout: 60_000 });
    await startAndDrawBox(page);
    await page.waitForFunction(() => Number(document.getElementById('stage')!.dataset.answers ?? 0) >= 20, undefined, { timeout: 60_000 });
    assert.equal(await page.getAttribute('#stage', 'data-mode'), 'browser');
    assert.ok(Number(await page.textContent('#fps')) > 0);
    assert.match((await page.textContent('#latency-pct')) ?? '', /^\d+ \/ \d+ ms$/);
    assert.equal(await page.textContent('#tracker-time-label'), 'Tracker time (in the page)');
    await assertBoxOnSquare(page);
    assert.equal(srv.handle.camSessions(), 0, 'no camera session on the server: no frame was sent');
    console.log(`# webcam in the browser: fps ${await page.textContent('#fps')}, latency p50/p95 ${await page.textContent('#latency-pct')}, ${await page.textContent('#mode-note')}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'webcam-browser.png'), fullPage: true });
    assert.deepEqual(errors, []);
  }, y4m);
});
