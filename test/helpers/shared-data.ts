/**
 * Locating `../shared/data` (real sequences that must never be copied into the repo). Tests that need it skip loudly
 * when it is absent on a user's machine, and fail under CI=true, where it must be present.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Absolute path of `../shared/data/otb-mini` relative to the repository root. */
export const OTB_MINI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/otb-mini');

/**
 * Returns a skip reason when the shared data is absent, or undefined when it is there. Throws under CI=true.
 */
export function sharedDataSkip(): string | undefined {
  if (existsSync(OTB_MINI)) return undefined;
  const msg = `shared data not found at ${OTB_MINI} (tests on real sequences need it)`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`# SKIP: ${msg}`);
  return msg;
}
