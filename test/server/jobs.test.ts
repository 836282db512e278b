/**
 * Tracking jobs through a real socket.io client: upload → job → one streamed frame event per video frame with boxes
 * that follow the moving square → downloadable OTB/JSON/mp4; invalid payloads; cancel; a disconnected client's job
 * cancelled after the grace period; the bounded queue; tensors back to the baseline.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readdir, writeFile } from 'node:fs/promises';
import type { Socket } from 'socket.io-client';
import { probeVideo } from '../../data/video.js';
import { ask, connect, makeVideo, startServer, tensors, uploadFile, waitFor, type TestServer } from './helpers.js';

let srv: TestServer;
let shortId = '';
let longId = '';
let baseline = 0;

before(async () => {
  srv = await startServer({ jobConcurrency: 1, maxQueuedJobs: 1, jobGraceSeconds: 0.3 });
  const short = path.join(srv.dir, 'short.mp4');
  const long = path.join(srv.dir, 'long.mp4');
  await makeVideo(short, { frames: 30, fps: 10, speed: 30 });
  await makeVideo(long, { frames: 400, fps: 25, speed: 5 });
  shortId = (await uploadFile(srv.url, short)).body.data.id;
  longId = (await uploadFile(srv.url, long)).body.data.id;
  baseline = tensors();
});
after(async () => {
  await srv?.close();
});

/** Collect a job's events until job:end. */
function collect(s: Socket, jobId: () => string) {
  const frames: any[] = [];
  const progress: any[] = [];
  const end = new Promise<any>((resolve) => {
    s.on('job:end', (e: any) => e.jobId === jobId() && resolve(e));
  });
  s.on('job:frame', (f: any) => f.jobId === jobId() && frames.push(f));
  s.on('job:progress', (p: any) => p.jobId === jobId() && progress.push(p));
  return { frames, progress, end };
}

test('a full job streams one box per frame following the target and ends with downloadable results', async () => {
  const s = await connect(srv.url);
  try {
    let id = '';
    const c = collect(s, () => id);
    const ack = await ask(s, 'job:start', { uploadId: shortId, box: { x: 20, y: 40, width: 24, height: 24 } });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    id = ack.data.jobId;
    assert.equal(ack.data.model, 'template-matching');
    assert.equal(ack.data.frames, 30);
    const end = await c.end;
    assert.equal(end.state, 'done', JSON.stringify(end));
    assert.equal(end.frames, 30);
    assert.ok(end.fps > 0);
    assert.deepEqual(c.frames.map((f) => f.frame), Array.from({ length: 30 }, (_, i) => i));
    assert.deepEqual(c.frames[0].box, { x: 20, y: 40, width: 24, height: 24 });
    // The square moves 3 px per frame: at frame 29 its left edge is at 20 + 2.9 · 30 = 107.
    const last = c.frames[29].box;
    assert.ok(Math.abs(last.x - 107) < 6, `last box x ${last.x} should be near 107`);
    assert.ok(Math.abs(last.y - 40) < 6, `last box y ${last.y} should be near 40`);
    for (const f of c.frames) assert.ok(f.fps >= 0 && Number.isFinite(f.score));
    const lastProgress = c.progress[c.progress.length - 1];
    assert.deepEqual([lastProgress.done, lastProgress.total], [30, 30]);

    const otb = await (await fetch(srv.url + end.results.otb)).text();
    const lines = otb.trim().split('\n');
    assert.equal(lines.length, 30);
    assert.equal(lines[0], '21.000,41.000,24.000,24.000', 'OTB file is 1-based and comma separated');
    const json = await (await fetch(srv.url + end.results.json)).json();
    assert.equal(json.frames.length, 30);
    assert.deepEqual(json.frames[29].box, last);
    const mp4 = await fetch(srv.url + end.results.video);
    assert.equal(mp4.status, 200);
    assert.match(mp4.headers.get('content-disposition') ?? '', /attachment/);
    const file = path.join(srv.dir, 'annotated.mp4');
    await writeFile(file, Buffer.from(await mp4.arrayBuffer()));
    const info = await probeVideo(file);
    assert.deepEqual([info.width, info.height, info.frames, info.codec], [160, 120, 30, 'h264']);
    const state = await (await fetch(`${srv.url}/api/jobs/${id}?key=${ack.data.key}`)).json();
    assert.equal(state.data.state, 'done');
  } finally {
    s.disconnect();
  }
});

test('invalid job requests get {ok:false, error} acks and the server keeps serving', async () => {
  const s = await connect(srv.url);
  try {
    const cases: [unknown, string][] = [
      [{ uploadId: shortId }, 'invalid_payload'],
      ['not an object', 'invalid_payload'],
      [{ uploadId: shortId, box: { x: 1, y: 1, width: -5, height: 10 } }, 'invalid_payload'],
      [{ uploadId: shortId, box: { x: 1, y: 1, width: 5, height: 5 }, extra: true }, 'invalid_payload'],
      [{ uploadId: '../../etc/passwd', box: { x: 1, y: 1, width: 5, height: 5 } }, 'invalid_payload'],
      [{ uploadId: shortId, box: { x: 500, y: 500, width: 20, height: 20 } }, 'bad_box'],
      [{ uploadId: shortId, box: { x: 1, y: 1, width: 0.001, height: 10 } }, 'invalid_payload'],
      [{ uploadId: shortId, box: { x: 1, y: 1, width: 2e9, height: 10 } }, 'bad_box'],
      [{ uploadId: shortId, box: { x: Number.MAX_VALUE, y: 1, width: 10, height: 10 } }, 'bad_box'],
      [{ uploadId: shortId, box: { x: 159, y: 1, width: 10, height: 10 } }, 'bad_box'],
      [{ uploadId: 'AAAAAAAAAAAAAAAAAAAAAA', box: { x: 1, y: 1, width: 5, height: 5 } }, 'not_found'],
      [{ uploadId: shortId, box: { x: 1, y: 1, width: 5, height: 5 }, model: 'no-such-model' }, 'unknown_model'],
    ];
    for (const [payload, code] of cases) {
      const r = await ask(s, 'job:start', payload);
      assert.equal(r.ok, false, JSON.stringify(payload));
      assert.equal(r.error.code, code, `${JSON.stringify(payload)} → ${JSON.stringify(r.error)}`);
      assert.ok(r.error.message.length > 10);
    }
    const bad = await ask(s, 'job:start', { uploadId: shortId, box: { x: 500, y: 500, width: 20, height: 20 } });
    assert.match(bad.error.message, /outside the 160×120 frame/);
    const cancel = await ask(s, 'job:cancel', { jobId: 5 });
    assert.equal(cancel.error.code, 'invalid_payload');
    // An event without an ack function is ignored without breaking the connection.
    s.emit('job:start', { uploadId: shortId });
    const health = await (await fetch(`${srv.url}/api/health`)).json();
    assert.equal(health.data.status, 'ok');
    assert.equal(s.connected, true);
  } finally {
    s.disconnect();
  }
});

test('cancel stops a running job early; its results are not downloadable', async () => {
  const s = await connect(srv.url);
  try {
    let id = '';
    const c = collect(s, () => id);
    const ack = await ask(s, 'job:start', { uploadId: longId, box: { x: 20, y: 40, width: 24, height: 24 } });
    id = ack.data.jobId;
    await waitFor(() => c.frames.length >= 5, 20_000, 'five frames');
    const r = await ask(s, 'job:cancel', { jobId: id });
    assert.equal(r.ok, true);
    const end = await c.end;
    assert.equal(end.state, 'cancelled');
    assert.ok(end.frames < 400, `stopped early at ${end.frames}`);
    const dl = await fetch(`${srv.url}/api/jobs/${id}/boxes.txt?key=${ack.data.key}`);
    assert.equal(dl.status, 409);
    assert.equal((await dl.json()).error.code, 'not_ready');
  } finally {
    s.disconnect();
  }
});

test('the queue is bounded, and a job whose client went away is cancelled after the grace period', async () => {
  const a = await connect(srv.url);
  const b = await connect(srv.url);
  try {
    const box = { x: 20, y: 40, width: 24, height: 24 };
    const first = await ask(a, 'job:start', { uploadId: longId, box });
    assert.equal(first.ok, true);
    const second = await ask(a, 'job:start', { uploadId: shortId, box });
    assert.equal(second.ok, true);
    assert.equal(second.data.state, 'queued');
    const third = await ask(b, 'job:start', { uploadId: shortId, box });
    assert.equal(third.ok, false);
    assert.equal(third.error.code, 'queue_full');
    a.disconnect();
    const state = async (j: { jobId: string; key: string }) => (await (await fetch(`${srv.url}/api/jobs/${j.jobId}?key=${j.key}`)).json()).data.state;
    await waitFor(async () => (await state(first.data)) === 'cancelled' && (await state(second.data)) === 'cancelled', 10_000, 'grace cancel');
    // b is still served.
    const fourth = await ask(b, 'job:start', { uploadId: shortId, box });
    assert.equal(fourth.ok, true, JSON.stringify(fourth));
    await ask(b, 'job:cancel', { jobId: fourth.data.jobId });
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

test('retention: idle uploads and finished jobs are deleted, an upload in use by a job is kept', async () => {
  const s = await connect(srv.url);
  try {
    let id = '';
    const c = collect(s, () => id);
    const ack = await ask(s, 'job:start', { uploadId: longId, box: { x: 20, y: 40, width: 24, height: 24 } });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    id = ack.data.jobId;
    await waitFor(() => c.frames.length >= 2, 20_000, 'job running');
    const removed = await srv.handle.uploads.expire(Date.now() + 10 * 3600_000);
    assert.equal(removed, 1, 'the idle upload expired');
    assert.equal((await fetch(`${srv.url}/api/uploads/${shortId}`)).status, 404);
    assert.deepEqual((await readdir(path.join(srv.dir, 'uploads'))).filter((d) => d === shortId), []);
    assert.equal((await fetch(`${srv.url}/api/uploads/${longId}`)).status, 200, 'the busy upload stays');
    await ask(s, 'job:cancel', { jobId: id });
    await c.end;
    const jobsGone = await srv.handle.jobs.expire(60_000, Date.now() + 10 * 3600_000);
    assert.ok(jobsGone >= 5, `finished jobs expired: ${jobsGone}`);
    assert.equal((await fetch(`${srv.url}/api/jobs/${id}?key=${ack.data.key}`)).status, 404);
    assert.deepEqual((await readdir(path.join(srv.dir, 'uploads', 'jobs'))).filter((n) => n !== '.parts'), []);
    assert.deepEqual(await readdir(path.join(srv.dir, 'uploads', 'jobs', '.parts')).catch(() => []), []);
  } finally {
    s.disconnect();
  }
});

test('tensors return to the baseline once jobs are over and clients gone', async () => {
  await waitFor(() => srv.handle.jobs.active === 0, 10_000, 'jobs to finish');
  assert.equal(tensors(), baseline);
});
