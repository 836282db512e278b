/**
 * End to end in Debian's Chromium: once Classify was pressed, the class scores follow the drawing — turning the
 * rotation slider refreshes them (as it refreshes the feature maps), and Clear stops that.
 * Screenshots: artifacts/e2e/classifier-scores-0.png, classifier-scores-120.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type TestServer } from '../server/helpers.js';
import { ARTIFACTS, browserSkip, withBrowser } from './browser.js';

const CLASSIFIERS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tracker/models/classifiers');
const skip = browserSkip();
let srv: TestServer;

before(async () => {
  if (skip) return;
  srv = await startServer();
  for (const name of ['cnn', 'ien-b1-6ep']) await cp(path.join(CLASSIFIERS, name), path.join(srv.dir, 'models', name), { recursive: true });
});
after(async () => {
  await srv?.close();
});

test('classifier page: the scores refresh when the digit is rotated', { skip, timeout: 120_000 }, async () => {
  await withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(srv.url + '/classifier');
    await page.waitForFunction(() => /Classifiers: /.test(document.getElementById('cls-status')!.textContent ?? ''));
    const r = (await page.locator('#pad').boundingBox())!;
    const at = (fx: number, fy: number) => [r.x + r.width * fx, r.y + r.height * fy] as const;
    await page.mouse.move(...at(0.25, 0.25));
    await page.mouse.down();
    await page.mouse.move(...at(0.72, 0.25), { steps: 8 });
    await page.mouse.move(...at(0.45, 0.8), { steps: 10 });
    await page.mouse.up();
    await page.click('#classify');
    await page.waitForFunction(() => document.getElementById('scores')!.dataset.angle === '0', undefined, { timeout: 20_000 });
    const scoresAt = () => page.locator('.score-col .bar > span:last-child').allTextContents();
    const at0 = await scoresAt();
    assert.equal(at0.length, 20, 'ten scores for each of the two classifiers');
    await page.screenshot({ path: path.join(ARTIFACTS, 'classifier-scores-0.png'), fullPage: true });

    await page.fill('#angle', '120');
    await page.waitForFunction(() => document.getElementById('scores')!.dataset.angle === '120', undefined, { timeout: 20_000 });
    const at120 = await scoresAt();
    assert.notDeepEqual(at120, at0, 'the scores changed with the rotation');
    assert.match((await page.textContent('#cls-status')) ?? '', /\(at 120°\)$/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'classifier-scores-120.png'), fullPage: true });

    // After Clear, rotating a new drawing does not classify until Classify is pressed again.
    await page.click('#clear');
    assert.equal(await page.locator('.score-col').count(), 0);
    await page.mouse.move(...at(0.5, 0.2));
    await page.mouse.down();
    await page.mouse.move(...at(0.5, 0.8), { steps: 8 });
    await page.mouse.up();
    await page.fill('#angle', '30');
    await page.waitForTimeout(800);
    assert.equal(await page.locator('.score-col').count(), 0);
    assert.deepEqual(errors, []);
  });
});
