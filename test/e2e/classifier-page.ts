/**
 * Shared by the classifier-page browser tests: a server with the repository's trained CNN and IEN classifiers copied
 * into its model folder, and drawing a "7" on the pad with the mouse.
 */
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startServer, type TestServer } from '../server/helpers.js';

const CLASSIFIERS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tracker/models/classifiers');

/** A test server whose models are the shipped `cnn` and `ien-b1-6ep` classifiers. */
export async function serverWithClassifiers(): Promise<TestServer> {
  const srv = await startServer();
  for (const name of ['cnn', 'ien-b1-6ep']) await cp(path.join(CLASSIFIERS, name), path.join(srv.dir, 'models', name), { recursive: true });
  return srv;
}

/** Page coordinates of a point of the pad given as fractions of its size. */
export async function padPoint(page: Page): Promise<(fx: number, fy: number) => readonly [number, number]> {
  const r = (await page.locator('#pad').boundingBox())!;
  return (fx, fy) => [r.x + r.width * fx, r.y + r.height * fy] as const;
}

/** Draw a "7" on the pad: a top bar and a slanted stroke. */
export async function drawSeven(page: Page): Promise<void> {
  const at = await padPoint(page);
  await page.mouse.move(...at(0.25, 0.25));
  await page.mouse.down();
  await page.mouse.move(...at(0.72, 0.25), { steps: 8 });
  await page.mouse.move(...at(0.45, 0.8), { steps: 10 });
  await page.mouse.up();
}
