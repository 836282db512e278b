/**
 * End to end in Debian's Chromium: upload a real H.264 video (a red square moving right, made by ffmpeg), draw the
 * initial box with the mouse on the first frame, start tracking, and check what a person sees: the overlay box drawn
 * on the frame the video shows and moving with the square, progress reaching 100 %, downloads offered.
 * Screenshots: artifacts/e2e/upload-box.png (box drawn), upload-playing.png, upload-done.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { makeVideo, startServer, type TestServer } from '../server/helpers.js';
import { ARTIFACTS, browserSkip, dragBox, withBrowser } from './browser.js';

const skip = browserSkip();
let srv: TestServer;
let video = '';
// Video: 320×240, 25 fps, 100 frames; the 32×32 square's left edge is at 20 + 40·t px (t in seconds), its top at y = 40.
const FPS = 25;
const SPEED = 40;
const squareX = (frame: number) => 20 + (SPEED * frame) / FPS;

before(async () => {
  if (skip) return;
  srv = await startServer();
  video = path.join(srv.dir, 'square.mp4');
  await makeVideo(video, { frames: 100, fps: FPS, w: 320, h: 240, speed: SPEED, sq: 32 });
});
after(async () => {
  await srv?.close();
});

test('upload → draw a box by mouse → track: the box follows the square over the playing video', { skip, timeout: 90_000 }, async () => {
  await withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(srv.url + '/');
    await page.setInputFiles('#file', video);
    await page.click('form button[type=submit]');
    await page.waitForSelector('#setup:not([hidden])');
    await page.waitForFunction(() => (document.getElementById('preview') as HTMLImageElement).complete);
    assert.match(await page.textContent('#video-info') ?? '', /320×240 px · 25\.00 fps · 100 frames · h264/);

    // Drag from the square's top-left to its bottom-right (video pixels → page pixels).
    const r = (await page.locator('#overlay').boundingBox())!;
    const k = r.width / 320;
    const at = (x: number, y: number) => [r.x + x * k, r.y + y * k] as const;
    await page.mouse.move(...at(18, 38));
    await page.mouse.down();
    await page.mouse.move(...at(35, 55), { steps: 4 });
    await page.mouse.move(...at(53, 73), { steps: 4 });
    await page.mouse.up();
    const boxText = (await page.textContent('#box-text')) ?? '';
    assert.match(boxText, /Initial box: x 18, y 38, 35×35 px/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'upload-box.png'), fullPage: true });

    await page.click('#start');
    // While playing: the box drawn belongs to the frame on screen and sits on the square.
    const samples: { frame: number; x: number; y: number }[] = [];
    const t0 = Date.now();
    while (samples.length < 6 && Date.now() - t0 < 30_000) {
      const s = await page.evaluate(() => ({ frame: Number(document.getElementById('stage')!.dataset.frame), box: document.getElementById('stage')!.dataset.box }));
      if (s.box && s.frame > 0 && !samples.some((p) => p.frame === s.frame)) samples.push({ frame: s.frame, x: JSON.parse(s.box).x, y: JSON.parse(s.box).y });
      if (samples.length === 3) await page.screenshot({ path: path.join(ARTIFACTS, 'upload-playing.png'), fullPage: true });
      await page.waitForTimeout(150);
    }
    assert.ok(samples.length >= 4, `overlay updated during playback: ${JSON.stringify(samples)}`);
    for (const s of samples) {
      assert.ok(Math.abs(s.x - (squareX(s.frame) - 2)) < 8, `frame ${s.frame}: box x ${s.x.toFixed(1)} vs square at ${squareX(s.frame)}`);
      assert.ok(Math.abs(s.y - 38) < 6, `frame ${s.frame}: box y ${s.y.toFixed(1)} vs 38`);
    }
    assert.ok(samples[samples.length - 1].x - samples[0].x > 10, 'the box moved');
    console.log(`# overlay samples (frame, box x): ${samples.map((p) => `${p.frame}:${p.x.toFixed(1)}`).join(' ')}`);

    await page.waitForFunction(() => /\(100 %\)/.test(document.getElementById('progress-text')!.textContent ?? ''), undefined, { timeout: 60_000 });
    await page.waitForFunction(() => /Done: 100 frames/.test(document.getElementById('job-status')!.textContent ?? ''), undefined, { timeout: 60_000 });
    assert.equal(await page.locator('#downloads a').count(), 3);
    // Let playback reach the end, then check the last frame's box.
    await page.waitForFunction(() => (document.getElementById('video') as HTMLVideoElement).ended, undefined, { timeout: 20_000 });
    await page.waitForTimeout(300);
    const end = await page.evaluate(() => ({ frame: Number(document.getElementById('stage')!.dataset.frame), box: JSON.parse(document.getElementById('stage')!.dataset.box!) }));
    assert.ok(end.frame >= 97, `last frame shown: ${end.frame}`);
    assert.ok(Math.abs(end.box.x - (squareX(end.frame) - 2)) < 8, `end box x ${end.box.x} vs ${squareX(end.frame)}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'upload-done.png'), fullPage: true });
    assert.deepEqual(errors, []);
  });
});

test('a non-video upload shows the server\'s clear error on the page', { skip, timeout: 60_000 }, async () => {
  await withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    await page.goto(srv.url + '/');
    await page.setInputFiles('#file', { name: 'notes.mp4', mimeType: 'video/mp4', buffer: Buffer.from('hello, not a video') });
    await page.click('form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('upload-status')!.dataset.kind === 'error');
    assert.match((await page.textContent('#upload-status')) ?? '', /Upload refused: "notes\.mp4" is not a video/);
    assert.doesNotMatch((await page.textContent('#upload-status')) ?? '', /\| |file:|<upload>/, 'no ffmpeg quoting or temp path');
    assert.equal(await page.locator('#setup').isHidden(), true);
  });
});

test('track in this browser: nothing is uploaded, every frame is tracked in the page, the OTB and JSON files are made there', { skip, timeout: 150_000 }, async () => {
  await withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(srv.url + '/');
    const uploadsBefore = srv.handle.uploads.size;
    await page.setInputFiles('#file', video);
    await page.check('#local');
    await page.click('form button[type=submit]');
    await page.waitForSelector('#setup:not([hidden])', { timeout: 30_000 });
    assert.match(await page.textContent('#video-info') ?? '', /320×240 px · 25\.00 fps · 100 frames · decoded and tracked in this browser/);
    await dragBox(page, 320, 18, 38, 53, 73);
    await page.click('#start');
    await page.waitForFunction(() => /^Done: 100 frames tracked in this browser/.test(document.getElementById('job-status')!.textContent ?? ''), undefined, { timeout: 120_000 });
    // the files are saved as a person saves them: by clicking the links
    const files: { name: string; text: string }[] = [];
    assert.equal(await page.locator('#downloads a').count(), 2);
    for (const a of await page.locator('#downloads a').all()) {
      const [d] = await Promise.all([page.waitForEvent('download'), a.click()]);
      files.push({ name: d.suggestedFilename(), text: await readFile((await d.path())!, 'utf8') });
    }
    assert.deepEqual(files.map((f) => f.name), ['square-template-matching.txt', 'square-template-matching.json']);
    const otb = files[0].text.trim().split('\n');
    assert.equal(otb.length, 100, 'one OTB line per frame');
    assert.equal(otb[0], '19.000,39.000,35.000,35.000', 'the initial box, 1-based');
    const json = JSON.parse(files[1].text) as { frames: { frame: number; box: { x: number; width: number } }[]; video: { fps: number } };
    assert.equal(json.frames.length, 100);
    assert.ok(Math.abs(json.video.fps - FPS) < 0.5, `measured fps ${json.video.fps}`);
    const last = json.frames[99].box;
    assert.ok(Math.abs(last.x + last.width / 2 - (squareX(99.5) + 16)) < 8, `last box centre ${last.x + last.width / 2} vs square ${squareX(99.5) + 16}`);
    assert.equal(srv.handle.uploads.size, uploadsBefore, 'the video was not uploaded');
    await page.screenshot({ path: path.join(ARTIFACTS, 'upload-local.png'), fullPage: true });
    assert.deepEqual(errors, []);
  });
});
