/**
 * 50 socket clients over two server processes in the Redis mode (a redis-server of the test's own, two servers, two
 * workers as real processes): 10 tracking jobs, started half on each server, each followed by 5 clients spread over
 * both servers. Every client receives every box of its job, in order, once, and the job's end; the boxes carry the
 * time they were made, so the test also checks that none arrived before it was made (one clock, one machine).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Socket } from 'socket.io-client';
import { connectRedis, TRACK_QUEUE } from '../../server/redis.js';
import { ask, connect, makeVideo, uploadFile, waitFor } from './helpers.js';
import { killChildren, redisMissing, serveRedis, startRedis, startWorker } from './redis-helpers.js';
import { wallClockMs } from '../../server/clock.js';

const skip = redisMissing();
const SESSION = 'redis-fanout-session-01';
const CLIENTS = 50;
const JOBS = 10;
const FRAMES = 40;
let dir = '';
let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
const sockets: Socket[] = [];
let servers: { url: string }[] = [];

before(async () => {
  if (skip) return;
  dir = await mkdtemp(path.join(tmpdir(), 'rot-track-redis-fanout-'));
  redis = await startRedis();
});

after(async () => {
  for (const s of sockets) s.disconnect();
  killChildren();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test(`${CLIENTS} clients over two servers: each gets every box of its job in order, and its end`, { skip, timeout: 240_000 }, async () => {
  // a grace period of 1 s: the sweep must not cancel jobs that are watched (all of these are)
  const extra = ['--max-sockets-per-ip', '200', '--max-queued-jobs', '50', '--socket-rate-per-sec', '1000', '--socket-burst', '1000', '--job-grace-seconds', '1'];
  servers = await Promise.all([serveRedis(dir, redis!.url, extra), serveRedis(dir, redis!.url, extra)]);
  const conn = await connectRedis(redis!.url);
  const queue = new Queue(TRACK_QUEUE, { connection: conn });
  try {
    // Workers wait until every client has joined its job's room (a room only gets what is sent after joining).
    await queue.pause();
    const video = path.join(dir, 'fan.mp4');
    await makeVideo(video, { frames: FRAMES, fps: 25, speed: 4 });
    const up = await uploadFile(servers[0].url, video);
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const seenOnB = await fetch(`${servers[1].url}/api/uploads/${up.body.data.id}`);
    assert.equal(seenOnB.status, 200, 'an upload accepted by A is known to B (its record is in Redis)');
    assert.equal((await fetch(`${servers[1].url}/api/uploads/${up.body.data.id}/preview.jpg`)).headers.get('content-type'), 'image/jpeg');
    const starters = await Promise.all(servers.map((s) => connect(s.url, { auth: { session: SESSION } })));
    sockets.push(...starters);
    const ids: string[] = [];
    for (let j = 0; j < JOBS; j++) {
      const r = await ask(starters[j % 2], 'job:start', { uploadId: up.body.data.id, box: { x: 20, y: 40, width: 24, height: 24 } });
      assert.equal(r.ok, true, JSON.stringify(r));
      ids.push(r.data.jobId);
    }
    const clients = await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
      const s = await connect(servers[i % 2].url, { auth: { session: SESSION } });
      sockets.push(s);
      const job = ids[Math.floor(i / 2) % JOBS];
      const frames: number[] = [];
      const early: number[] = [];
      let end: any;
      s.on('job:frame', (f: any) => {
        if (f.jobId !== job) return;
        frames.push(f.frame);
        if (typeof f.t !== 'number' || wallClockMs() < f.t) early.push(f.frame);
      });
      s.on('job:end', (e: any) => {
        if (e.jobId === job) end = e;
      });
      const sub = await ask(s, 'job:subscribe', { jobId: job });
      assert.equal(sub.ok, true, JSON.stringify(sub));
      return { server: i % 2, job, frames, early, end: () => end };
    }));
    // every job is followed from both servers
    for (const id of ids) assert.deepEqual(new Set(clients.filter((c) => c.job === id).map((c) => c.server)), new Set([0, 1]));
    await Promise.all([startWorker(dir, redis!.url), startWorker(dir, redis!.url)]);
    await queue.resume();
    await waitFor(() => clients.every((c) => c.end() !== undefined), 200_000, 'every client to get its job\'s end');
    const want = Array.from({ length: FRAMES }, (_, i) => i);
    for (const [i, c] of clients.entries()) {
      assert.equal(c.end().state, 'done', `client ${i}: ${JSON.stringify(c.end())}`);
      assert.deepEqual(c.frames, want, `client ${i} (server ${c.server}, job ${c.job}): every box, in order, once`);
      assert.deepEqual(c.early, [], `client ${i}: every box carries the time it was made`);
    }
  } finally {
    await queue.close();
    conn.disconnect();
  }
});

test('a job nobody follows on any server is cancelled after the grace period; its owner sees it from the other server', { skip, timeout: 120_000 }, async () => {
  assert.equal(servers.length, 2, 'the servers of the first test');
  const video = path.join(dir, 'long.mp4');
  await makeVideo(video, { frames: 1500, fps: 25, speed: 1 });
  const up = await uploadFile(servers[0].url, video);
  const s = await connect(servers[0].url, { auth: { session: SESSION } });
  let frames = 0;
  s.on('job:frame', () => frames++);
  const r = await ask(s, 'job:start', { uploadId: up.body.data.id, box: { x: 20, y: 40, width: 24, height: 24 } });
  assert.equal(r.ok, true, JSON.stringify(r));
  await waitFor(() => frames >= 5, 60_000, 'the job to run');
  s.disconnect();
  const cookie = { cookie: `rt_session=${SESSION}` };
  const state = async () => {
    await new Promise((res) => setTimeout(res, 250)); // the HTTP API allows 20 requests/s
    const body = await (await fetch(`${servers[1].url}/api/jobs/${r.data.jobId}`, { headers: cookie })).json();
    assert.ok(body.ok, JSON.stringify(body));
    return body.data;
  };
  await waitFor(async () => (await state()).state === 'cancelled', 30_000, 'the unwatched job to be cancelled');
  assert.ok((await state()).done < 1500, 'stopped before the end');
});
