/**
 * End to end in Debian's Chromium: the classifier page's feature-map grid. With the repository's trained CNN and IEN
 * copied into the server's model folder, drawing a digit makes the page show the group-pooled maps of layer 2 of both
 * (8 CNN maps, 6 IEN maps, 24×24 shown enlarged); turning the rotation slider and changing the layer refresh them.
 * Once Classify was pressed the class scores follow the drawing too: turning the slider refreshes them; Clear stops it.
 * Screenshots: artifacts/e2e/classifier-maps-0.png (0°), classifier-maps.png (90°), classifier-maps-layer4.png,
 * classifier-scores-0.png, classifier-scores-120.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { TestServer } from '../server/helpers.js';
import { ARTIFACTS, browserSkip, withBrowser } from './browser.js';
import { drawSeven, padPoint, serverWithClassifiers } from './classifier-page.js';

const skip = browserSkip();
let srv: TestServer;

before(async () => {
  if (skip) return;
  srv = await serverWithClassifiers();
});
after(async () => {
  await srv?.close();
});

/** Wait until the grid shows layer `layer` at `angle`° with every image decoded. */
async function gridShows(page: Page, layer: number, angle: number): Promise<void> {
  await page.waitForFunction(([l, a]) => {
    const m = document.getElementById('maps')!;
    const imgs = [...m.querySelectorAll('img')] as HTMLImageElement[];
    return m.dataset.layer === String(l) && m.dataset.angle === String(a) && imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, [layer, angle] as const, { timeout: 20_000 });
}

test('classifier page: drawing a digit shows the CNN and IEN feature-map grid; rotation and layer refresh it', { skip, timeout: 120_000 }, async () => {
  await withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(srv.url + '/classifier');
    await page.waitForFunction(() => /Classifiers: cnn \(cnn\), ien-b1-6ep \(ien\)/.test(document.getElementById('cls-status')!.textContent ?? ''));
    assert.equal(await page.locator('#maps img').count(), 0);

    await drawSeven(page);

    await gridShows(page, 2, 0);
    const cols = await page.locator('.map-col').evaluateAll((cs) => cs.map((c) => ({
      model: (c as HTMLElement).dataset.model,
      maps: c.querySelectorAll('img').length,
      sizes: [...c.querySelectorAll('img')].map((i) => `${(i as HTMLImageElement).naturalWidth}x${(i as HTMLImageElement).naturalHeight}`),
    })));
    assert.deepEqual(cols.map((c) => [c.model, c.maps]), [['cnn', 8], ['ien-b1-6ep', 6]]);
    assert.ok(cols.every((c) => c.sizes.every((s) => s === '24x24')), JSON.stringify(cols));
    assert.match((await page.textContent('#maps-caption')) ?? '', /IEN.*turn with the digit.*CNN.*change shape/s);
    await page.screenshot({ path: path.join(ARTIFACTS, 'classifier-maps-0.png'), fullPage: true });
    const before0 = await page.locator('#maps img').first().getAttribute('src');

    // Rotating the digit refreshes the maps (debounced).
    await page.fill('#angle', '90');
    await gridShows(page, 2, 90);
    assert.notEqual(await page.locator('#maps img').first().getAttribute('src'), before0);
    await page.click('#classify');
    await page.waitForSelector('.score-col');
    await page.screenshot({ path: path.join(ARTIFACTS, 'classifier-maps.png'), fullPage: true });

    // Another layer: 12×12 maps.
    await page.selectOption('#layer', '4');
    await gridShows(page, 4, 90);
    const sizes = await page.locator('#maps img').evaluateAll((is) => is.map((i) => (i as HTMLImageElement).naturalWidth));
    assert.ok(sizes.length === 16 && sizes.every((s) => s === 12), `layer 4 sizes ${sizes}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'classifier-maps-layer4.png'), fullPage: true });

    // Clear empties the grid.
    await page.click('#clear');
    assert.equal(await page.locator('#maps img').count(), 0);
    assert.deepEqual(errors, []);
  });
});

test('classifier page: the scores refresh when the digit is rotated', { skip, timeout: 120_000 }, async () => {
  await withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(srv.url + '/classifier');
    await page.waitForFunction(() => /Classifiers: /.test(document.getElementById('cls-status')!.textContent ?? ''));
    await drawSeven(page);
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
    const at = await padPoint(page);
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
