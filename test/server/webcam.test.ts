/**
 * Live webcam tracking over socket.io against a real server: JPEG and raw RGB frames → boxes following a moving
 * square, one frame in flight per client, a flood from one client, oversized and malformed payloads, and the
 * per-socket tracker freed on disconnect (tensors back to the baseline).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { ask, connect, startServer, tensors, waitFor, type TestServer } from './helpers.js';

const W = 160;
const H = 120;
let srv: TestServer;
let baseline = 0;

before(async () => {
  srv = await startServer({ maxCamFrameBytes: 64 * 1024, maxMessageBytes: 256 * 1024, socketBurst: 40, socketRatePerSec: 40 });
  baseline = tensors();
});
after(async () => {
  await srv?.close();
});

/** Raw RGB frame: a red 24×24 square at (x, 40) on grey. */
function rgbFrame(x: number): Buffer {
  const buf = Buffer.alloc(W * H * 3, 80);
  for (let y = 40; y < 64; y++) {
    for (let i = x; i < x + 24; i++) {
      const o = (y * W + i) * 3;
      buf[o] = 230;
      buf[o + 1] = 20;
      buf[o + 2] = 20;
    }
  }
  return buf;
}
const jpegFrame = (x: number) => sharp(rgbFrame(x), { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();

test('JPEG webcam frames: init on a box, then boxes follow the moving square; latency reported', async () => {
  const s = await connect(srv.url);
  try {
    const start = await ask(s, 'cam:start', {});
    assert.deepEqual(start, { ok: true, data: { model: 'template-matching' } });
    const init = await ask(s, 'cam:frame', { seq: 0, format: 'jpeg', width: W, height: H, image: await jpegFrame(20), init: { x: 20, y: 40, width: 24, height: 24 } });
    assert.equal(init.ok, true, JSON.stringify(init));
    assert.equal(init.data.initialised, true);
    let x = 20;
    let last: any;
    for (let i = 1; i <= 15; i++) {
      x += 4;
      const r = await ask(s, 'cam:frame', { seq: i, format: 'jpeg', width: W, height: H, image: await jpegFrame(x) });
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.data.seq, i);
      assert.ok(r.data.latencyMs > 0 && r.data.latencyMs < 5000);
      last = r.data.box;
    }
    assert.ok(Math.abs(last.x - x) < 5, `box x ${last.x} should follow the square at ${x}`);
    assert.ok(Math.abs(last.y - 40) < 5, `box y ${last.y}`);
  } finally {
    s.disconnect();
  }
});

test('raw RGB frames (ArrayBuffer) work too; a wrong byte count is a bad_frame', async () => {
  const s = await connect(srv.url);
  try {
    const ab = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    let r = await ask(s, 'cam:frame', { seq: 0, format: 'rgb', width: W, height: H, image: ab(rgbFrame(60)), init: { x: 60, y: 40, width: 24, height: 24 } });
    assert.equal(r.ok, true, JSON.stringify(r));
    r = await ask(s, 'cam:frame', { seq: 1, format: 'rgb', width: W, height: H, image: ab(rgbFrame(52)) });
    assert.equal(r.ok, true);
    assert.ok(Math.abs(r.data.box.x - 52) < 4, `box x ${r.data.box.x}`);
    r = await ask(s, 'cam:frame', { seq: 2, format: 'rgb', width: W, height: H, image: Buffer.alloc(100) });
    assert.equal(r.error.code, 'bad_frame');
    assert.match(r.error.message, /needs 57600 bytes, got 100/);
  } finally {
    s.disconnect();
  }
});

test('at most one frame in flight: a second frame sent before the first is answered is refused as busy', async () => {
  const s = await connect(srv.url);
  try {
    const img = await jpegFrame(30);
    const first = ask(s, 'cam:frame', { seq: 0, format: 'jpeg', width: W, height: H, image: img, init: { x: 30, y: 40, width: 24, height: 24 } });
    const second = ask(s, 'cam:frame', { seq: 1, format: 'jpeg', width: W, height: H, image: img });
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.ok, true, JSON.stringify(a));
    assert.equal(b.ok, false);
    assert.equal(b.error.code, 'busy');
    const c = await ask(s, 'cam:frame', { seq: 2, format: 'jpeg', width: W, height: H, image: img });
    assert.equal(c.ok, true, 'once answered, the next frame is accepted');
  } finally {
    s.disconnect();
  }
});

test('a flood of frames from one client is refused (busy / rate limited) without hurting another client', async () => {
  const flooder = await connect(srv.url);
  const other = await connect(srv.url);
  try {
    const img = await jpegFrame(30);
    await ask(flooder, 'cam:frame', { seq: 0, format: 'jpeg', width: W, height: H, image: img, init: { x: 30, y: 40, width: 24, height: 24 } });
    const answers = await Promise.all(Array.from({ length: 150 }, (_, i) => ask(flooder, 'cam:frame', { seq: i + 1, format: 'jpeg', width: W, height: H, image: img })));
    const codes = new Map<string, number>();
    for (const a of answers) {
      const k = a.ok ? 'ok' : a.error.code;
      codes.set(k, (codes.get(k) ?? 0) + 1);
    }
    assert.ok((codes.get('ok') ?? 0) <= 3, `few frames processed: ${JSON.stringify([...codes])}`);
    assert.ok((codes.get('rate_limited') ?? 0) >= 100, `most rate limited: ${JSON.stringify([...codes])}`);
    assert.ok((codes.get('busy') ?? 0) >= 1, `some busy: ${JSON.stringify([...codes])}`);
    const r = await ask(other, 'cam:frame', { seq: 0, format: 'jpeg', width: W, height: H, image: img, init: { x: 30, y: 40, width: 24, height: 24 } });
    assert.equal(r.ok, true, 'another client is served during the flood');
    assert.equal(flooder.connected, true);
  } finally {
    flooder.disconnect();
    other.disconnect();
  }
});

test('malformed and oversized frames get clear error acks; over the message limit the socket is dropped, others unaffected', async () => {
  const s = await connect(srv.url);
  try {
    const img = await jpegFrame(30);
    const base = { seq: 0, format: 'jpeg', width: W, height: H, image: img };
    const cases: [unknown, string, RegExp?][] = [
      [{ ...base, width: 10.5 }, 'invalid_payload', /width/],
      [{ ...base, format: 'gif' }, 'invalid_payload', /format/],
      [{ ...base, image: 'aGVsbG8=' }, 'invalid_payload', /binary/],
      [{ ...base, width: 5000 }, 'invalid_payload', /width/],
      [{ ...base, init: { x: 0, y: 0, width: 0, height: 5 } }, 'invalid_payload', /init\.width/],
      [null, 'invalid_payload'],
      [base, 'not_ready', /draw a box first/],
      [{ ...base, init: { x: 400, y: 400, width: 10, height: 10 } }, 'bad_box', /outside/],
      [{ ...base, image: Buffer.from('not a jpeg at all'), init: { x: 1, y: 1, width: 9, height: 9 } }, 'bad_frame', /JPEG\/PNG/],
      [{ ...base, width: 100, init: { x: 1, y: 1, width: 9, height: 9 } }, 'bad_frame', /160×120/],
      [{ ...base, image: Buffer.alloc(100 * 1024, 1) }, 'too_large', /65536 bytes/],
    ];
    for (const [payload, code, re] of cases) {
      const r = await ask(s, 'cam:frame', payload);
      assert.equal(r.ok, false, JSON.stringify(payload)?.slice(0, 100));
      assert.equal(r.error.code, code, `${JSON.stringify(r.error)}`);
      if (re) assert.match(r.error.message, re);
    }
    // Over maxHttpBufferSize socket.io closes the connection; the server stays up for everyone else.
    const closed = new Promise<string>((resolve) => s.once('disconnect', (reason) => resolve(reason)));
    s.emit('cam:frame', { ...base, image: Buffer.alloc(400 * 1024, 1) }, () => undefined);
    assert.match(await closed, /transport/);
    const other = await connect(srv.url);
    const r = await ask(other, 'cam:frame', { ...base, init: { x: 30, y: 40, width: 24, height: 24 } });
    assert.equal(r.ok, true);
    other.disconnect();
  } finally {
    s.disconnect();
  }
});

test('the per-socket tracker holds tensors while alive (tfjs engine; none at all on the onnx engine) and frees them on disconnect', async () => {
  await waitFor(() => srv.handle.camSessions() === 0, 5000, 'earlier sessions to close');
  assert.equal(tensors(), baseline);
  const s = await connect(srv.url);
  const img = await jpegFrame(30);
  const r = await ask(s, 'cam:frame', { seq: 0, format: 'jpeg', width: W, height: H, image: img, init: { x: 30, y: 40, width: 24, height: 24 } });
  assert.equal(r.ok, true);
  // the onnx engine path uses no tfjs at all (JS average colour and crops, tracker/siamfc/core.ts)
  if (srv.handle.models.engine.engine === 'onnx') assert.equal(tensors(), baseline, 'the onnx engine path holds no tfjs tensor');
  else assert.ok(tensors() > baseline, 'the exemplar kernel lives while the socket does');
  assert.equal(srv.handle.camSessions(), 1);
  s.disconnect();
  await waitFor(() => srv.handle.camSessions() === 0, 5000, 'session to close');
  assert.equal(tensors(), baseline);
});
