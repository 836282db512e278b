/**
 * The server's rule for a box a client sends (job start, webcam init): finite numbers, at least MIN_BOX_SIDE px on
 * each side, no larger than the frame, and at least MIN_BOX_SIDE × MIN_BOX_SIDE px of it inside the frame. Anything
 * else is `bad_box` (400) naming the field, so no huge, tiny or infinite box reaches a tracker or `boxes.txt`.
 */
import type { Box } from '../tracker/geometry.js';
import { AppError } from './errors.js';

/** Smallest box side accepted, pixels. */
export const MIN_BOX_SIDE = 2;

/** Throw `bad_box` unless `b` is a usable box in a `width × height` frame; `field` names it in the message. */
export function checkBox(b: Box, width: number, height: number, field: string): void {
  for (const k of ['x', 'y', 'width', 'height'] as const) {
    if (typeof b[k] !== 'number' || !Number.isFinite(b[k])) throw new AppError('bad_box', `${field}.${k} must be a finite number, got ${String(b[k])}`, 400);
  }
  for (const [k, limit] of [['width', width], ['height', height]] as const) {
    if (b[k] < MIN_BOX_SIDE) throw new AppError('bad_box', `${field}.${k} must be at least ${MIN_BOX_SIDE} px, got ${b[k]}`, 400);
    if (b[k] > limit) throw new AppError('bad_box', `${field}.${k} is ${b[k]} px, larger than the frame (${width}×${height})`, 400);
  }
  const iw = Math.min(b.x + b.width, width) - Math.max(b.x, 0);
  const ih = Math.min(b.y + b.height, height) - Math.max(b.y, 0);
  if (iw < MIN_BOX_SIDE || ih < MIN_BOX_SIDE) {
    throw new AppError('bad_box', `${field} [${b.x}, ${b.y}, ${b.width}, ${b.height}] lies outside the ${width}×${height} frame (at least ${MIN_BOX_SIDE}×${MIN_BOX_SIDE} px of it must be inside)`, 400);
  }
}
