/**
 * A real video from a Debian package (opencv-doc's tree.avi: 320×240, 68 frames, MPEG-4 part 2 in AVI, moving camera)
 * through the whole server path: upload (a format browsers cannot play, so `playable` is false), a tracking job with
 * every frame streamed, and an annotated H.264 mp4 the browser can play. Skips loudly when the file is absent; fails
 * under CI=true, where `apt-get install -y opencv-doc` must have put it there.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { probeVideo } from '../../data/video.js';
import { ask, connect, startServer, uploadFile, type TestServer } from './helpers.js';

const TREE = '/usr/share/doc/opencv-doc/examples/data/tree.avi';
function skipReason(): string | undefined {
  if (existsSync(TREE)) return undefined;
  const msg = `${TREE} not found (apt-get install -y opencv-doc)`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`# SKIP: ${msg}`);
  return msg;
}
const skip = skipReason();
let srv: TestServer;

before(async () => {
  if (!skip) srv = await startServer();
});
after(async () => {
  await srv?.close();
});

test('tree.avi: upload, track all 68 frames, download a playable annotated mp4', { skip, timeout: 120_000 }, async () => {
  const up = await uploadFile(srv.url, TREE);
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const u = up.body.data;
  assert.deepEqual([u.width, u.height, u.playable], [320, 240, false]);
  assert.ok(u.frames >= 60, `frames ${u.frames}`);
  const s = await connect(srv.url);
  try {
    const frames: number[] = [];
    s.on('job:frame', (f: any) => frames.push(f.frame));
    const end = new Promise<any>((resolve) => s.on('job:end', resolve));
    const ack = await ask(s, 'job:start', { uploadId: u.id, box: { x: 120, y: 80, width: 60, height: 60 } });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    const e = await end;
    assert.equal(e.state, 'done', JSON.stringify(e));
    assert.equal(frames.length, e.frames);
    assert.ok(e.frames >= 60);
    const mp4 = Buffer.from(await (await fetch(srv.url + e.results.video)).arrayBuffer());
    const file = path.join(srv.dir, 'tree-annotated.mp4');
    await writeFile(file, mp4);
    const info = await probeVideo(file);
    assert.deepEqual([info.codec, info.width, info.height, info.frames], ['h264', 320, 240, e.frames]);
  } finally {
    s.disconnect();
  }
});
