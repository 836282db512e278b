/**
 * The Redis mode end to end, with a redis-server of the test's own and the real entry points as processes: two
 * server processes and two workers over one shared folder. A client on server A gets every box, in order, of a job
 * started on server B, while B is killed and restarted (the job survives it); a worker SIGKILLed mid-job has the job
 * retried by the other worker, which completes it with one set of result files; a malformed queued job is failed
 * with its reason and the worker goes on; a job started on B is cancelled from A; and a URL that does not answer
 * stops the server with one line and a non-zero exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { connectRedis, TRACK_QUEUE } from '../../server/redis.js';
import { ask, connect, makeVideo, uploadFile, waitFor } from './helpers.js';
import { freePort, redisMissing, redisPair, serveRedis, spawnNode, startWorker, type Child } from './redis-helpers.js';

const skip = redisMissing();
const SESSION = 'redis-test-session-0001';
const BOX = { x: 20, y: 40, width: 24, height: 24 };
const pair = redisPair('rot-track-redis-', skip);
const workers: Child[] = [];

/** A socket of the test session on `url` that records every frame index and the end of each job. */
async function watcher(url: string) {
  const s = await connect(url, { auth: { session: SESSION } });
  pair.sockets.push(s);
  const frames = new Map<string, number[]>();
  const ends = new Map<string, any>();
  s.on('job:frame', (f: any) => frames.set(f.jobId, [...(frames.get(f.jobId) ?? []), f.frame]));
  s.on('job:end', (e: any) => ends.set(e.jobId, e));
  return { s, frames: (id: string) => frames.get(id) ?? [], end: (id: string) => ends.get(id) };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('a URL that does not answer: one line, non-zero exit, no fallback', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const c = spawnNode('server/index.ts', ['--port', '0', '--backend', 'wasm', '--upload-dir', path.join(tmpdir(), `rot-track-unreachable-${port}`),
    '--redis', `redis://127.0.0.1:${port}`]);
  const code = await c.exited;
  assert.notEqual(code, 0);
  const lines = c.err().trim().split('\n').filter((l) => !l.startsWith('{'));
  assert.equal(lines.length, 1, c.err());
  assert.match(lines[0], new RegExp(`Redis at redis://127\\.0\\.0\\.1:${port} does not answer`));
  assert.doesNotMatch(c.err(), /server.listening/);
});

test('two servers, two workers: a client on A gets every box in order of a job started on B, across a restart of B', { skip, timeout: 180_000 }, async () => {
  const video = path.join(pair.dir, 'cross.mp4');
  await makeVideo(video, { frames: 150, fps: 25, speed: 10 });
  const up = await uploadFile(pair.b.url, video);
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const onB = await watcher(pair.b.url);
  const started = await ask(onB.s, 'job:start', { uploadId: up.body.data.id, box: BOX });
  assert.equal(started.ok, true, JSON.stringify(started));
  const id = started.data.jobId;
  assert.equal(started.data.state, 'queued', 'no worker yet: the job waits in Redis');
  const onA = await watcher(pair.a.url);
  const sub = await ask(onA.s, 'job:subscribe', { jobId: id });
  assert.equal(sub.ok, true, JSON.stringify(sub));
  workers.push(...(await Promise.all([startWorker(pair.dir, pair.redis), startWorker(pair.dir, pair.redis)])));
  await waitFor(() => onA.frames(id).length >= 10, 60_000, 'frames on A');
  // The server that accepted the job dies; the job goes on (it lives in Redis and on a worker).
  pair.b.child.proc.kill('SIGKILL');
  await pair.b.child.exited;
  await waitFor(() => onA.end(id) !== undefined, 90_000, 'the end on A');
  assert.equal(onA.end(id).state, 'done', JSON.stringify(onA.end(id)));
  assert.deepEqual(onA.frames(id), range(150), 'every box, in order, once');
  pair.b = await serveRedis(pair.dir, pair.redis);
  const cookie = { cookie: `rt_session=${SESSION}` };
  const info = await (await fetch(`${pair.b.url}/api/jobs/${id}`, { headers: cookie })).json();
  assert.equal(info.data.state, 'done');
  const otb = await fetch(`${pair.b.url}/api/jobs/${id}/boxes.txt`, { headers: cookie });
  assert.equal(otb.status, 200);
  assert.equal((await otb.text()).trim().split('\n').length, 150);
});

test('a worker SIGKILLed mid-job: the other worker runs it again and it ends with one set of result files', { skip, timeout: 180_000 }, async () => {
  const video = path.join(pair.dir, 'kill.mp4');
  await makeVideo(video, { frames: 300, fps: 25, speed: 5 });
  const up = await uploadFile(pair.a.url, video);
  const onA = await watcher(pair.a.url);
  const started = await ask(onA.s, 'job:start', { uploadId: up.body.data.id, box: BOX });
  assert.equal(started.ok, true, JSON.stringify(started));
  const id = started.data.jobId;
  await waitFor(() => onA.frames(id).length >= 10, 60_000, 'frames');
  const runner = workers.find((w) => w.err().includes(`"event":"job.start","job":"${id}"`));
  assert.ok(runner, 'one worker logged the start');
  runner.proc.kill('SIGKILL');
  await runner.exited;
  const other = workers.find((w) => w !== runner)!;
  await other.line(new RegExp(`"event":"job.start","job":"${id}"`), 60_000);
  await waitFor(() => onA.end(id) !== undefined, 120_000, 'the end after the retry');
  assert.equal(onA.end(id).state, 'done', JSON.stringify(onA.end(id)));
  const seen = onA.frames(id);
  const retry = seen.lastIndexOf(0);
  assert.ok(retry > 0, 'the retry streamed again from frame 0');
  assert.deepEqual(seen.slice(retry), range(300), 'the retry streamed every box in order');
  const jobs = path.join(pair.dir, 'uploads', 'jobs');
  assert.deepEqual((await readdir(path.join(jobs, id))).sort(), ['annotated.mp4', 'boxes.txt', 'result.json']);
  assert.equal((await readFile(path.join(jobs, id, 'boxes.txt'), 'utf8')).trim().split('\n').length, 300);
  assert.equal(JSON.parse(await readFile(path.join(jobs, id, 'result.json'), 'utf8')).frames.length, 300);
  assert.deepEqual((await readdir(path.join(jobs, '.parts')).catch(() => [])).filter((n) => n.startsWith(id)), [], 'no half-written folder left');
  workers.splice(workers.indexOf(runner), 1);
});

test('a malformed job is failed with its reason and the worker goes on; a job started on B is cancelled from A', { skip, timeout: 120_000 }, async () => {
  const conn = await connectRedis(pair.redis);
  const queue = new Queue(TRACK_QUEUE, { connection: conn });
  const bad = await queue.add('track', { jobId: 'x', surprise: true });
  await waitFor(async () => (await bad.getState()) === 'failed', 30_000, 'the malformed job to fail');
  const failed = await queue.getJob(bad.id!);
  assert.match(failed!.failedReason, /malformed job/);
  await queue.close();
  conn.disconnect();

  const video = path.join(pair.dir, 'cancel.mp4');
  await makeVideo(video, { frames: 600, fps: 25, speed: 5 });
  const up = await uploadFile(pair.b.url, video);
  const onB = await watcher(pair.b.url);
  const onA = await watcher(pair.a.url);
  const started = await ask(onB.s, 'job:start', { uploadId: up.body.data.id, box: BOX });
  const id = started.data.jobId;
  await waitFor(() => onB.frames(id).length >= 5, 60_000, 'the job to run after the malformed one');
  const c = await ask(onA.s, 'job:cancel', { jobId: id });
  assert.equal(c.ok, true, JSON.stringify(c));
  await waitFor(() => onB.end(id) !== undefined, 30_000, 'the end on B');
  assert.equal(onB.end(id).state, 'cancelled');
  assert.ok(onB.frames(id).length < 600);
});
