/**
 * Launching Debian's Chromium through playwright-core as testing.md prescribes: a fresh temporary profile, a fake
 * camera fed from a .y4m file, no network services. Tests skip loudly when /usr/bin/chromium is missing, and fail
 * under CI=true, where it must be installed.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where screenshots go: `<repo>/artifacts/e2e/`. */
export const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../artifacts/e2e');

/** A skip reason when Chromium is absent (throws under CI=true), else undefined. */
export function browserSkip(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const msg = `Chromium not found at ${CHROMIUM}: browser tests need \`apt-get install -y chromium\``;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`# SKIP: ${msg}`);
  return msg;
}

/** Run `fn` with a fresh Chromium context (fake camera from `y4m` when given); always closes and cleans up. */
export async function withBrowser<T>(fn: (ctx: BrowserContext) => Promise<T>, y4m?: string): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rot-track-e2e-'));
  await mkdir(ARTIFACTS, { recursive: true });
  const args = [
    '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
  ];
  if (y4m) args.push(`--use-file-for-fake-video-capture=${y4m}`);
  const oldTmp = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  let ctx: BrowserContext | undefined;
  try {
    ctx = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM, headless: true, args, viewport: { width: 1100, height: 900 },
    });
    return await fn(ctx);
  } finally {
    await ctx?.close().catch(() => undefined);
    if (oldTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = oldTmp;
    await rm(dir, { recursive: true, force: true });
  }
}

/** Drag a box on the page's `#overlay` from (x0, y0) to (x1, y1) in video pixels (`videoWidth` wide) with the mouse. */
export async function dragBox(page: Page, videoWidth: number, x0: number, y0: number, x1: number, y1: number): Promise<void> {
  const r = (await page.locator('#overlay').boundingBox())!;
  const k = r.width / videoWidth;
  await page.mouse.move(r.x + x0 * k, r.y + y0 * k);
  await page.mouse.down();
  await page.mouse.move(r.x + x1 * k, r.y + y1 * k, { steps: 6 });
  await page.mouse.up();
}
