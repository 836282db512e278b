/**
 * The text of result files, browser-safe (no Node): boxes as the got10k toolkit writes them (`%.3f`, 1-based for OTB)
 * — used by eval/results.ts and by the upload page when it tracks in the browser.
 */
import { type Box, toOtb } from '../tracker/geometry.js';

/**
 * `x` with 3 (or `digits`) decimals exactly as C printf / numpy `%.3f` writes it: round half to even on the exact
 * binary value (JS `toFixed` rounds exact ties away from zero), `nan`/`inf` for non-finite values.
 */
export function formatFixed(x: number, digits = 3): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const s = x.toFixed(digits);
  if (Math.abs(x) >= 1e21) return s;
  // toFixed(100) is the exact decimal expansion of a double of this magnitude: a tail of exactly "5000…" is a tie.
  const exact = Math.abs(x).toFixed(100);
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + digits);
  if (!/^50*$/.test(tail)) return s;
  const kept = digits === 0 ? exact.slice(0, dot) : exact.slice(0, dot + 1 + digits);
  const lastDigit = Number(kept[kept.length - 1]);
  if (lastDigit % 2 === 0) return (x < 0 ? '-' : '') + kept;
  return s; // odd last digit: rounding up (away from zero) is also the even choice, which toFixed already did
}

/** Boxes (0-based) → result-file text: one `%.3f` comma-separated line per box, 1-based unless `oneBased` is false. */
export function formatBoxes(boxes: Box[], oneBased = true): string {
  return boxes
    .map((b) => (oneBased ? toOtb(b) : [b.x, b.y, b.width, b.height]).map((v) => formatFixed(v, 3)).join(','))
    .map((l) => l + '\n')
    .join('');
}
