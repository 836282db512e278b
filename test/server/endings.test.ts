/**
 * Honest endings: a video that ends before the frames its header announces (an mp4 with its index first, cut short)
 * finishes `done` with a warning naming both counts, in the end event, the job state and result.json.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ask, connect, ffmpeg, startServer, upload, type TestServer } from './helpers.js';

let srv: TestServer;
let cut: Buffer;

before(async () => {
  srv = await startServer();
  const full = path.join(srv.dir, 'full.mp4');
  // faststart puts the index (with its 120-frame count) before the data, so a cut file still probes.
  const graph = 'color=c=0x505050:s=160x120:r=10[bg];color=c=red:s=24x24:r=10[fg];[bg][fg]overlay=x=\'20+t*10\':y=40';
  await ffmpeg(['-f', 'lavfi', '-i', graph, '-frames:v', '120', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '10', '-movflags', '+faststart', full]);
  const bytes = await readFile(full);
  cut = bytes.subarray(0, Math.floor(bytes.length * 0.4));
});
after(async () => {
  await srv?.close();
});

test('a video cut short ends done with a warning naming the frames announced and decoded', { timeout: 60_000 }, async () => {
  const up = await upload(srv.url, cut, 'cut.mp4');
  assert.equal(up.status, 201, JSON.stringify(up.body));
  assert.equal(up.body.data.frames, 120);
  const s = await connect(srv.url);
  try {
    const end = new Promise<any>((resolve) => s.on('job:end', resolve));
    const ack = await ask(s, 'job:start', { uploadId: up.body.data.id, box: { x: 20, y: 40, width: 24, height: 24 } });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    const e = await end;
    assert.equal(e.state, 'done', JSON.stringify(e));
    assert.ok(e.frames > 0 && e.frames < 120, `${e.frames} frames`);
    assert.equal(e.warning, `the video announced 120 frames but only ${e.frames} could be decoded (the file may be truncated); the results cover the ${e.frames} decoded frames`);
    const json = await (await fetch(srv.url + e.results.json)).json();
    assert.equal(json.warning, e.warning);
    assert.equal(json.frames.length, e.frames);
    const state = (await (await fetch(`${srv.url}/api/jobs/${ack.data.jobId}?key=${ack.data.key}`)).json()).data;
    assert.equal(state.warning, e.warning);
    for (const f of json.frames) for (const v of Object.values(f.box)) assert.ok(Number.isFinite(v));
  } finally {
    s.disconnect();
  }
});
