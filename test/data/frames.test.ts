import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import type { RawFrame } from '../../tracker/tracker.js';
import {
  FrameFileError, FrameStream, LruCache, decodeImage, drawBox, encodeJpeg, encodePng, meanColour, openSequenceFrames, readFrame,
} from '../../data/frames.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'frames-test-'));
}

function pattern(w: number, h: number, k = 0): RawFrame {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13 + k * 29) % 256;
  return { data, width: w, height: h };
}

test('PNG encode/decode is exact; JPEG is close; sizes and RGB order kept', async () => {
  const dir = tmp();
  try {
    const f = pattern(7, 5);
    await encodePng(f, path.join(dir, 'a.png'));
    const back = await readFrame(path.join(dir, 'a.png'));
    assert.equal(back.width, 7);
    assert.equal(back.height, 5);
    assert.deepEqual(back.data, f.data);
    // A flat red JPEG decodes to red (R first), within JPEG error.
    const red: RawFrame = { data: new Uint8Array(16 * 16 * 3).map((_, i) => (i % 3 === 0 ? 250 : 10)), width: 16, height: 16 };
    await encodeJpeg(red, path.join(dir, 'sub', 'r.jpg'));
    const r = await readFrame(path.join(dir, 'sub', 'r.jpg'));
    assert.ok(Math.abs(r.data[0] - 250) < 6 && Math.abs(r.data[1] - 10) < 6 && Math.abs(r.data[2] - 10) < 6, `${r.data.slice(0, 3)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('grey and RGBA images become 3 channels', async () => {
  const grey = await sharp(Buffer.from([0, 100, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
  const g = await decodeImage(grey);
  assert.equal(g.data.length, 12);
  assert.deepEqual([...g.data], [0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
  const rgba = await sharp(Buffer.from([1, 2, 3, 255, 4, 5, 6, 0]), { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
  assert.deepEqual([...(await decodeImage(rgba)).data], [1, 2, 3, 4, 5, 6]);
});

test('a corrupt or truncated JPEG and a missing file give errors naming the file', async () => {
  const dir = tmp();
  try {
    const good = await sharp(Buffer.from(pattern(64, 64).data), { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
    const trunc = path.join(dir, '0007.jpg');
    fs.writeFileSync(trunc, good.subarray(0, Math.floor(good.length / 2)));
    await assert.rejects(readFrame(trunc), (e: unknown) => {
      assert.ok(e instanceof FrameFileError);
      assert.equal(e.file, trunc);
      assert.ok(e.message.startsWith(`${trunc}: cannot decode image`), e.message);
      return true;
    });
    const junk = path.join(dir, 'junk.jpg');
    fs.writeFileSync(junk, 'not a jpeg at all');
    await assert.rejects(readFrame(junk), new RegExp(`^FrameFileError: ${junk.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot decode`));
    await assert.rejects(readFrame(path.join(dir, 'nope.jpg')), /nope\.jpg: frame file not found/);
    await assert.rejects(readFrame('/a/0001.jpg#virtual:rot=1'), /openSequenceFrames/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('drawBox outlines the covering pixels and clips at the border; meanColour', () => {
  const f: RawFrame = { data: new Uint8Array(10 * 8 * 3), width: 10, height: 8 };
  drawBox(f, { x: 2, y: 1, width: 4, height: 3 }, [255, 0, 0], 1);
  const red = (x: number, y: number) => f.data[(y * 10 + x) * 3] === 255;
  const lit: string[] = [];
  for (let y = 0; y < 8; y++) for (let x = 0; x < 10; x++) if (red(x, y)) lit.push(`${x},${y}`);
  // Pixels 2..5 × 1..3: the outline is the 4×3 ring (10 pixels), the inside pixels (3,2),(4,2) stay black.
  assert.equal(lit.length, 10);
  assert.ok(red(2, 1) && red(5, 1) && red(2, 3) && red(5, 3) && !red(3, 2) && !red(4, 2) && !red(6, 1));
  drawBox(f, { x: -5, y: -5, width: 100, height: 100 }, [0, 255, 0], 2); // must not throw
  assert.deepEqual(meanColour({ data: new Uint8Array([0, 10, 20, 2, 30, 40]), width: 2, height: 1 }), [1, 20, 30]);
});

test('LruCache evicts the least recently used entry', () => {
  const c = new LruCache<number, string>(2);
  c.set(1, 'a'); c.set(2, 'b');
  assert.equal(c.get(1), 'a'); // 1 is now the most recent
  c.set(3, 'c');
  assert.equal(c.get(2), undefined);
  assert.equal(c.get(1), 'a');
  assert.equal(c.get(3), 'c');
  assert.equal(c.size, 2);
});

test('FrameStream reads ahead at most `prefetch` frames and never holds the whole sequence', async () => {
  const n = 30, prefetch = 3;
  const started: number[] = [];
  let delivered = -1;
  let maxAhead = 0;
  const stream = new FrameStream(Array.from({ length: n }, (_, i) => `f${i}`), {
    prefetch,
    load: async (i) => {
      started.push(i);
      maxAhead = Math.max(maxAhead, i - delivered);
      await new Promise((r) => setTimeout(r, 1));
      return pattern(2, 2, i);
    },
  });
  let k = 0;
  for await (const f of stream) {
    delivered = k;
    assert.deepEqual(f.data, pattern(2, 2, k).data, `frame ${k} in order`);
    assert.ok(Math.max(...started) <= k + prefetch, `at frame ${k} the stream started ${Math.max(...started)}`);
    k++;
  }
  assert.equal(k, n);
  assert.deepEqual(started, Array.from({ length: n }, (_, i) => i), 'each frame decoded exactly once, in order');
  assert.ok(maxAhead <= prefetch + 1, `max read-ahead ${maxAhead}`);
  // Breaking early stops the decoding.
  started.length = 0;
  delivered = -1;
  for await (const _ of stream) { void _; break; }
  await new Promise((r) => setTimeout(r, 10));
  assert.ok(started.length <= prefetch + 1, `after break: ${started.length} loads`);
});

test('FrameStream: an error surfaces at its frame (no unhandled rejection), get() uses the LRU cache', async () => {
  let loads = 0;
  const stream = new FrameStream(['a', 'b', 'c', 'd'], {
    prefetch: 3,
    cacheSize: 2,
    load: async (i) => {
      loads++;
      if (i === 2) throw new FrameFileError('c', 'cannot decode image: boom');
      return pattern(2, 2, i);
    },
  });
  const got: number[] = [];
  await assert.rejects(async () => {
    let i = 0;
    for await (const _ of stream) { void _; got.push(i++); }
  }, /^FrameFileError: c: cannot decode image: boom$/);
  assert.deepEqual(got, [0, 1]);
  loads = 0;
  await stream.get(0); await stream.get(1); await stream.get(0);
  assert.equal(loads, 2, 'second get(0) served from the cache');
  await stream.get(3); // evicts 1 (least recently used)
  await stream.get(1);
  assert.equal(loads, 4);
  await assert.rejects(stream.get(4), RangeError);
});

test('openSequenceFrames decodes a sequence from its paths', async () => {
  const dir = tmp();
  try {
    const paths = [0, 1, 2].map((k) => path.join(dir, `${k}.png`));
    for (let k = 0; k < 3; k++) await encodePng(pattern(4, 3, k), paths[k]);
    const frames: RawFrame[] = [];
    for await (const f of openSequenceFrames({ name: 's', frames: paths, groundTruth: [], meta: {} })) frames.push(f);
    assert.equal(frames.length, 3);
    assert.deepEqual(frames[2].data, pattern(4, 3, 2).data);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
