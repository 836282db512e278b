/**
 * The server's box rule (server/box-check.ts): finite, at least 2 px, no larger than the frame, overlapping it;
 * every refusal is `bad_box` (400) naming the field. The same rule guards the webcam's `init` box.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { checkBox } from '../../server/box-check.js';
import { AppError } from '../../server/errors.js';
import { ask, connect, startServer, type TestServer } from './helpers.js';

const refused = (b: Record<string, number>, field: RegExp) =>
  assert.throws(() => checkBox(b as never, 160, 120, 'box'), (e: unknown) => e instanceof AppError && e.code === 'bad_box' && e.status === 400 && field.test(e.message));

test('checkBox accepts a box in the frame and refuses the rest, naming the field', () => {
  checkBox({ x: 10, y: 10, width: 2, height: 2 }, 160, 120, 'box');
  checkBox({ x: -10, y: -10, width: 30, height: 30 }, 160, 120, 'box');
  refused({ x: Number.NEGATIVE_INFINITY, y: 0, width: 10, height: 10 }, /^box\.x must be a finite number, got -Infinity/);
  refused({ x: 0, y: Number.NaN, width: 10, height: 10 }, /^box\.y must be a finite/);
  refused({ x: 0, y: 0, width: 0.001, height: 10 }, /^box\.width must be at least 2 px/);
  refused({ x: 0, y: 0, width: 10, height: 1.5 }, /^box\.height must be at least 2 px/);
  refused({ x: 0, y: 0, width: 2e9, height: 10 }, /^box\.width is 2000000000 px, larger than the frame \(160×120\)/);
  refused({ x: Number.MAX_VALUE, y: 0, width: 10, height: 10 }, /^box \[.*\] lies outside the 160×120 frame/);
  refused({ x: 159, y: 0, width: 10, height: 10 }, /lies outside/);
});

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.close();
});

test('the webcam init box follows the same rule', async () => {
  const s = await connect(srv.url);
  try {
    const image = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 90, b: 90 } } }).jpeg().toBuffer();
    const r = await ask(s, 'cam:frame', { seq: 0, format: 'jpeg', width: 64, height: 48, image, init: { x: 63, y: 40, width: 40, height: 8 } });
    assert.equal(r.error.code, 'bad_box', JSON.stringify(r));
    assert.match(r.error.message, /^init \[63, 40, 40, 8\] lies outside the 64×48 frame/);
    const tiny = await ask(s, 'cam:frame', { seq: 1, format: 'jpeg', width: 64, height: 48, image, init: { x: 6, y: 4, width: 0.5, height: 8 } });
    assert.equal(tiny.error.code, 'invalid_payload');
    assert.match(tiny.error.message, /field "init\.width": must be at least 2 px/);
  } finally {
    s.disconnect();
  }
});
