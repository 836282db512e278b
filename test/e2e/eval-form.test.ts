/**
 * End to end in Debian's Chromium: the evaluation form preselects the server's default model (ien-siamfc, the
 * paper's tracker), not the first name alphabetically (cnn4-siamfc), with the repository's trained models copied in.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OTB_MINI, sharedDataSkip } from '../helpers/shared-data.js';
import { startServer, type TestServer } from '../server/helpers.js';
import { browserSkip, withBrowser } from './browser.js';

const MODELS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tracker/models');
const skip = browserSkip() ?? sharedDataSkip();
let srv: TestServer;

before(async () => {
  if (skip) return;
  srv = await startServer({ datasetRoot: OTB_MINI });
  for (const name of ['cnn4-siamfc', 'ien-siamfc']) await cp(path.join(MODELS, name), path.join(srv.dir, 'models', name), { recursive: true });
});
after(async () => {
  await srv?.close();
});

test('evaluation form: the default model is the one ticked', { skip, timeout: 60_000 }, async () => {
  const info = (await (await fetch(`${srv.url}/api/eval`)).json()).data;
  assert.deepEqual([info.models, info.defaultModel], [['cnn4-siamfc', 'ien-siamfc', 'template-matching'], 'ien-siamfc']);
  await withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    await page.goto(srv.url + '/eval');
    await page.waitForSelector('input[name="tracker"]');
    const ticked = await page.locator('input[name="tracker"]:checked').evaluateAll((cs) => cs.map((c) => (c as HTMLInputElement).value));
    assert.deepEqual(ticked, ['ien-siamfc']);
  });
});
