/**
 * End to end in Debian's Chromium: the upload page after a lost connection. (1) The transport drops while a job
 * runs: the page reconnects by itself, follows the job again, says so, and can still cancel it (same session
 * cookie). (2) The server shuts down mid-job and a new one starts on the same port and folder: the page reconnects
 * (having shown "retrying…" meanwhile) and, from its re-subscribe, says the job was interrupted instead of hanging.
 * Screenshots: artifacts/e2e/reconnect-following.png, reconnect-interrupted.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { createApp, type AppHandle } from '../../server/app.js';
import { parseConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { makeVideo, startServer, type TestServer } from '../server/helpers.js';
import { ARTIFACTS, browserSkip, dragBox, withBrowser } from './browser.js';

const skip = browserSkip();
let srv: TestServer;
let second: AppHandle | undefined;
let video = '';

before(async () => {
  if (skip) return;
  srv = await startServer({ jobGraceSeconds: 60 });
  video = path.join(srv.dir, 'long.mp4');
  await makeVideo(video, { frames: 1500, fps: 25, w: 160, h: 120, speed: 2 });
});
after(async () => {
  await second?.close();
  await srv?.close();
});

const statusText = (page: Page) => page.textContent('#job-status').then((t) => t ?? '');

/** Upload the long video, draw a box, start tracking; resolves once frames stream. */
async function startJob(page: Page): Promise<void> {
  await page.goto(srv.url + '/');
  await page.setInputFiles('#file', video);
  await page.click('form button[type=submit]');
  await page.waitForSelector('#setup:not([hidden])');
  await dragBox(page, 160, 18, 38, 46, 66);
  await page.click('#start');
  await page.waitForFunction(() => Number((document.getElementById('progress') as HTMLProgressElement).value) >= 3, undefined, { timeout: 30_000 });
}

test('a dropped connection: the page reconnects, follows its job again and can still cancel it', { skip, timeout: 120_000 }, async () => {
  await withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await startJob(page);
    for (const s of srv.handle.io.sockets.sockets.values()) s.conn.close();
    await page.waitForFunction(() => /Reconnected: the job is still running; following it again\./.test(document.getElementById('job-status')!.textContent ?? ''), undefined, { timeout: 20_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'reconnect-following.png'), fullPage: true });
    await page.click('#cancel');
    await page.waitForFunction(() => /^Cancelled after \d+ frames\.$/.test(document.getElementById('job-status')!.textContent ?? ''), undefined, { timeout: 20_000 });
    assert.deepEqual(errors, []);
  });
});

test('a server restart mid-job: the page reconnects and says the job was interrupted', { skip, timeout: 120_000 }, async () => {
  await withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    await startJob(page);
    const { port } = srv.handle.server.address() as AddressInfo;
    // Like a crash: the port stops answering and the connection drops before the server can tell the page anything.
    const closed = new Promise<void>((r) => srv.handle.server.close(() => r()));
    for (const s of srv.handle.io.sockets.sockets.values()) s.conn.close();
    await page.waitForFunction(() => /Lost the connection to the server; retrying…/.test(document.getElementById('job-status')!.textContent ?? ''), undefined, { timeout: 20_000 });
    await srv.handle.close();
    await closed;
    const config = parseConfig({
      port, host: '127.0.0.1', uploadDir: path.join(srv.dir, 'uploads'), modelDir: path.join(srv.dir, 'models'),
      evalDir: path.join(srv.dir, 'eval'), logLevel: 'warn',
    });
    second = await createApp({ config, log: createLogger('warn', () => undefined) });
    await new Promise<void>((resolve) => second!.server.listen(port, '127.0.0.1', () => resolve()));
    await page.waitForFunction(() => /^Interrupted: the server shut down while this job was running; start it again\.$/.test(document.getElementById('job-status')!.textContent ?? ''), undefined, { timeout: 30_000 });
    assert.equal(await page.isDisabled('#cancel'), true);
    assert.equal(await page.isEnabled('#start'), true);
    assert.doesNotMatch(await statusText(page), /retrying/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'reconnect-interrupted.png'), fullPage: true });
  });
});
