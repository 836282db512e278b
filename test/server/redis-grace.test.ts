/**
 * The grace-period sweep of the Redis mode (server/redis-grace.ts) with fake clocks and rooms: a job nobody follows is
 * cancelled once the grace period has passed since it was first seen unwatched (never before its starter could
 * join), a watcher coming back resets the period, and a failing cluster-wide count skips the pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnwatchedJobs } from '../../server/redis-grace.js';
import { createLogger } from '../../server/log.js';
import type { JobRecord } from '../../server/store/types.js';

const job = (id: string, createdAt: number): JobRecord => ({
  id, uploadId: 'u'.repeat(22), uploadName: 'v.mp4', model: 'm', box: { x: 0, y: 0, width: 1, height: 1 }, state: 'running', owner: 'o', key: 'k',
  total: 10, done: 0, fps: 0, createdAt,
});

function sweeper(jobs: JobRecord[], rooms: Map<string, number>, graceMs: number, fail = { on: false }) {
  const cancelled: string[] = [];
  const s = new UnwatchedJobs({
    active: async () => jobs.filter((j) => !cancelled.includes(j.id)),
    watchers: async (id) => {
      if (fail.on) throw new Error('timeout reached while waiting for fetchSockets response');
      return rooms.get(id) ?? 0;
    },
    cancel: async (rec) => void cancelled.push(rec.id),
    graceMs, log: createLogger('silent'), minAgeMs: 2000,
  });
  return { s, cancelled };
}

test('an unwatched job is cancelled after the grace period, counted from when it was first seen unwatched', async () => {
  const rooms = new Map([['watched', 2]]);
  const { s, cancelled } = sweeper([job('alone', 0), job('watched', 0)], rooms, 10_000);
  assert.deepEqual(await s.sweep(5_000), []);
  assert.deepEqual(await s.sweep(14_999), [], 'not before 10 s after it was first seen unwatched');
  assert.deepEqual(await s.sweep(15_000), ['alone']);
  assert.deepEqual(cancelled, ['alone']);
  assert.deepEqual(await s.sweep(60_000), [], 'a watched job stays');
});

test('a watcher coming back resets the period; a new job is given time for its starter to join', async () => {
  const rooms = new Map<string, number>();
  const { s } = sweeper([job('back', 0), job('new', 100_000)], rooms, 0);
  assert.deepEqual(await s.sweep(1_000), [], 'no job is counted unwatched before createdAt + 2 s');
  rooms.set('back', 1);
  assert.deepEqual(await s.sweep(1_500), []);
  rooms.delete('back');
  assert.deepEqual(await s.sweep(3_000), ['back'], 'grace 0: cancelled on the first pass that sees it unwatched');
  assert.deepEqual(await s.sweep(101_000), []);
  assert.deepEqual(await s.sweep(102_000), ['new']);
});

test('a failing cluster-wide count skips the pass instead of cancelling', async () => {
  const fail = { on: true };
  const { s, cancelled } = sweeper([job('j', 0)], new Map(), 1_000, fail);
  assert.deepEqual(await s.sweep(10_000), []);
  assert.deepEqual(await s.sweep(20_000), []);
  fail.on = false;
  assert.deepEqual(await s.sweep(30_000), [], 'first seen unwatched now');
  assert.deepEqual(await s.sweep(31_000), ['j']);
  assert.deepEqual(cancelled, ['j']);
});
