/**
 * End to end in Debian's Chromium: the evaluation and classifier pages and the navigation. The evaluation page first
 * says there is nothing to show; then a real report is made — the server tracks a video (the moving square, whose
 * ground truth is known exactly), eval/ scores the boxes and writes report.md + plots — and the page shows its table
 * and plots. The classifier page says plainly that no classifier exists; once a
 * classifier model folder is there (a small untrained CNN saved by the test), it shows its class scores.
 * Screenshots: artifacts/e2e/eval-empty.png, eval.png, classifier-missing.png, classifier.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { evaluateTracker } from '../../eval/metrics.js';
import { writeReport } from '../../eval/report.js';
import { createClassifier } from '../../tracker/classifier.js';
import { saveClassifier } from '../../tracker/node/classifier-files.js';
import { ask, connect, makeVideo, startServer, uploadFile, type TestServer } from '../server/helpers.js';
import { ARTIFACTS, browserSkip, withBrowser } from './browser.js';

const skip = browserSkip();
let srv: TestServer;

before(async () => {
  if (skip) return;
  srv = await startServer();
});
after(async () => {
  await srv?.close();
});

/** Track the square video through the server and write a real evaluation report into the server's eval folder. */
async function makeReport(): Promise<void> {
  const video = path.join(srv.dir, 'square.mp4');
  await makeVideo(video, { frames: 40, fps: 10, speed: 30 });
  const up = (await uploadFile(srv.url, video)).body.data;
  const s = await connect(srv.url);
  try {
    const end = new Promise<any>((resolve) => s.on('job:end', resolve));
    const ack = await ask(s, 'job:start', { uploadId: up.id, box: { x: 20, y: 40, width: 24, height: 24 } });
    assert.equal(ack.ok, true);
    const e = await end;
    assert.equal(e.state, 'done');
    const json = await (await fetch(srv.url + e.results.json)).json();
    const boxes = json.frames.map((f: any) => f.box);
    const times = json.frames.map((f: any) => f.seconds);
    const groundTruth = boxes.map((_: unknown, i: number) => ({ x: 20 + 3 * i, y: 40, width: 24, height: 24 }));
    const evaluation = evaluateTracker('template-matching', [{ name: 'moving-square', boxes, groundTruth, times }]);
    await writeReport({ benchmark: 'moving-square', evaluations: [evaluation] }, path.join(srv.dir, 'eval', 'square-run'));
  } finally {
    s.disconnect();
  }
}

test('evaluation page: empty state, then a real report with its table and plots; classifier page explains what is missing', { skip, timeout: 120_000 }, async () => {
  await withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(srv.url + '/eval');
    await page.waitForFunction(() => /No evaluation reports yet/.test(document.getElementById('eval-status')!.textContent ?? ''));
    await page.screenshot({ path: path.join(ARTIFACTS, 'eval-empty.png'), fullPage: true });

    await makeReport();
    await page.reload();
    await page.waitForSelector('#report table');
    assert.match((await page.textContent('#reports')) ?? '', /square-run/);
    const rows = await page.locator('#report table tr').allTextContents();
    assert.ok(rows.some((r) => /template-matching/.test(r)), `table rows: ${rows.join(' | ')}`);
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('#report img')] as HTMLImageElement[];
      return imgs.length >= 2 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    }, undefined, { timeout: 20_000 });
    const alts = await page.locator('#report img').evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).alt));
    assert.ok(alts.some((a) => /success/i.test(a)) && alts.some((a) => /precision/i.test(a)), `plots: ${alts.join(', ')}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'eval.png'), fullPage: true });

    await page.click('nav a[href="/classifier"]');
    await page.waitForURL(/\/classifier$/);
    await page.waitForFunction(() => document.getElementById('cls-status')!.dataset.kind === 'error');
    assert.match((await page.textContent('#cls-status')) ?? '', /not available.*no trained classifier found/);
    assert.equal(await page.isDisabled('#classify'), true);
    // Drawing still works on the pad (a stroke turns pixels white).
    const r = (await page.locator('#pad').boundingBox())!;
    await page.mouse.move(r.x + r.width * 0.5, r.y + r.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(r.x + r.width * 0.5, r.y + r.height * 0.8, { steps: 8 });
    await page.mouse.up();
    const lit = await page.evaluate(() => {
      const c = document.getElementById('pad') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(c.width / 2 - 2, c.height / 2 - 2, 4, 4).data;
      return d[0];
    });
    assert.ok(lit > 200, `stroke drawn (${lit})`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'classifier-missing.png'), fullPage: true });

    // With a classifier model folder on disk (a small untrained CNN saved by the test), the page shows its scores.
    const model = createClassifier({ variant: 'cnn', widthMultiplier: 0.0625, seed: 5 });
    await saveClassifier(path.join(srv.dir, 'models', 'tiny-cnn'), model, { name: 'tiny-cnn' });
    model.dispose();
    await page.reload();
    await page.waitForFunction(() => /Classifiers: tiny-cnn \(cnn\)/.test(document.getElementById('cls-status')!.textContent ?? ''));
    await page.mouse.move(r.x + r.width * 0.5, r.y + r.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(r.x + r.width * 0.5, r.y + r.height * 0.8, { steps: 8 });
    await page.mouse.up();
    await page.fill('#angle', '45');
    await page.click('#classify');
    await page.waitForSelector('.score-col');
    assert.equal(await page.locator('.score-col .bar').count(), 10);
    assert.match((await page.textContent('.score-col h3')) ?? '', /^tiny-cnn \(cnn\) → \d$/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'classifier.png'), fullPage: true });
    assert.deepEqual(errors, []);
  });
});
