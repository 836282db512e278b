/**
 * Limits read before decoding, against a real server: a decompression bomb (a ~250 KB PNG that decodes to
 * 16000×16000, made by test/helpers/png-bomb.ts and checked with sharp) sent 50 times over 20 sockets as a webcam
 * frame and as an upload — every request gets the limit error and RSS stays bounded; video pixel and duration
 * limits; still images refused as videos unless mode=image; sockets and uploads per IP; upload errors without paths.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { pngBomb } from '../helpers/png-bomb.js';
import { ask, connect, makeVideo, startServer, upload, type TestServer } from './helpers.js';

let srv: TestServer;
let bomb: Buffer;
let video: Buffer;

before(async () => {
  srv = await startServer({ maxSocketsPerIp: 24, socketBurst: 200, httpBurst: 500, uploadsPerMinute: 1000, maxUploadsPerIp: 8 });
  bomb = await pngBomb(16000);
  const file = path.join(srv.dir, 'clip.mp4');
  await makeVideo(file, { frames: 20, fps: 10 });
  video = await readFile(file);
});
after(async () => {
  await srv?.close();
});

test('the bomb really is one: a small file whose header says 16000×16000', async () => {
  assert.ok(bomb.length < 400_000, `${bomb.length} bytes`);
  const m = await sharp(bomb).metadata();
  assert.deepEqual([m.width, m.height, m.format], [16000, 16000, 'png']);
});

test('the bomb as a webcam frame, 50 times over 20 sockets: every answer is too_large, RSS grows < 200 MB', async () => {
  const sockets = await Promise.all(Array.from({ length: 20 }, () => connect(srv.url)));
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    const answers = await Promise.all(sockets.map(async (s, i) => {
      const out: any[] = [];
      for (let k = i; k < 50; k += sockets.length) {
        out.push(await ask(s, 'cam:frame', { seq: k, format: 'jpeg', width: 640, height: 480, image: bomb, init: { x: 10, y: 10, width: 20, height: 20 } }));
      }
      return out;
    }));
    const all = answers.flat();
    assert.equal(all.length, 50);
    for (const r of all) {
      assert.equal(r.ok, false);
      assert.equal(r.error.code, 'too_large', JSON.stringify(r));
      assert.match(r.error.message, /16000×16000 .* over the limit of 1638400 pixels \(--max-frame-pixels\)/);
    }
  } finally {
    clearInterval(sampler);
    for (const s of sockets) s.disconnect();
  }
  assert.ok(peak - rss0 < 200e6, `RSS grew by ${((peak - rss0) / 1e6).toFixed(0)} MB`);
});

test('the bomb as an upload is refused with 413 naming --max-video-pixels, and leaves no file', async () => {
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < 5; i++) {
    const { status, body } = await upload(srv.url, bomb, 'bomb.png', 'video', { fields: { mode: 'image' } });
    assert.equal(status, 413, JSON.stringify(body));
    assert.equal(body.error.code, 'too_large');
    assert.match(body.error.message, /16000×16000.*--max-video-pixels/);
  }
  assert.ok(process.memoryUsage().rss - rss0 < 200e6);
  assert.deepEqual(await readdir(path.join(srv.dir, 'uploads', 'incoming')), []);
});

test('a still image is refused as a video (415) unless mode=image is asked for', async () => {
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toBuffer();
  let { status, body } = await upload(srv.url, png, 'still.png');
  assert.equal(status, 415, JSON.stringify(body));
  assert.equal(body.error.code, 'not_video');
  assert.match(body.error.message, /still image .*mode=image/);
  ({ status, body } = await upload(srv.url, png, 'still.png', 'video', { fields: { mode: 'image' } }));
  assert.equal(status, 201, JSON.stringify(body));
  assert.deepEqual([body.data.width, body.data.height, body.data.frames], [64, 48, 1]);
  ({ status, body } = await upload(srv.url, video, 'clip.mp4', 'video', { fields: { mode: 'image' } }));
  assert.equal(status, 415);
});

test('video pixel and duration limits answer 413 naming the setting', async () => {
  const small = await startServer({ maxVideoPixels: 10_000, maxVideoSeconds: 100 });
  const short = await startServer({ maxVideoSeconds: 0.5 });
  try {
    let { status, body } = await upload(small.url, video, 'clip.mp4');
    assert.equal(status, 413, JSON.stringify(body));
    assert.match(body.error.message, /160×120 = 19200 pixels, over the limit of 10000 pixels \(--max-video-pixels\)/);
    ({ status, body } = await upload(short.url, video, 'clip.mp4'));
    assert.equal(status, 413, JSON.stringify(body));
    assert.match(body.error.message, /lasts 2\.0 s, over the limit of 0\.5 s \(--max-video-seconds\)/);
  } finally {
    await small.close();
    await short.close();
  }
});

test('upload errors quote ffmpeg without the temporary path or the "| file:" prefix', async () => {
  const { status, body } = await upload(srv.url, Buffer.from('definitely not a video '.repeat(50)), 'junk.mp4');
  assert.equal(status, 415);
  assert.doesNotMatch(body.error.message, /\| |file:|<upload>|incoming/);
  assert.match(body.error.message, /^"junk\.mp4" is not a video ffmpeg can read: \S/);
});

test('per-IP limits: sockets beyond --max-sockets-per-ip and uploads beyond --uploads-per-minute are refused', async () => {
  const tight = await startServer({ maxSocketsPerIp: 2, uploadsPerMinute: 2 });
  const open: Awaited<ReturnType<typeof connect>>[] = [];
  try {
    open.push(await connect(tight.url), await connect(tight.url));
    await assert.rejects(connect(tight.url), /too many connections from .* at most 2 \(--max-sockets-per-ip\)/);
    open.pop()!.disconnect();
    await new Promise((r) => setTimeout(r, 100));
    open.push(await connect(tight.url));
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await upload(tight.url, video, 'clip.mp4')).status);
    assert.deepEqual(codes, [201, 201, 429]);
    const { body } = await upload(tight.url, video, 'clip.mp4');
    assert.match(body.error.message, /--uploads-per-minute/);
  } finally {
    for (const s of open) s.disconnect();
    await tight.close();
  }
});
