/**
 * Evaluation runs in the Redis mode, with a redis-server of the test's own and the real entry points as processes
 * (two servers, workers started and killed by the test) on the real otb-mini data: a run started on server A waits
 * in Redis until a worker exists, streams its progress and end to the starter's sockets on both servers, and leaves
 * one report that either server lists; a queued run is cancelled from the other server; a worker SIGKILLed mid-run
 * has the run done again by another worker, with one report folder and nothing half-written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { sharedDataSkip } from '../helpers/shared-data.js';
import { ask, connect, waitFor } from './helpers.js';
import { redisMissing, redisPair, startWorker, type Child } from './redis-helpers.js';

const skip = redisMissing() ?? sharedDataSkip();
const SESSION = 'redis-eval-session-0001';
const pair = redisPair('rot-track-redis-eval-', skip);
const workers: Child[] = [];

/** A socket of `session` on `url` that records the eval events of each run. */
async function watcher(url: string, session = SESSION) {
  const s = await connect(url, { auth: { session } });
  pair.sockets.push(s);
  const progress = new Map<string, any[]>();
  const ends = new Map<string, any>();
  s.on('eval:progress', (p: any) => progress.set(p.runId, [...(progress.get(p.runId) ?? []), p]));
  s.on('eval:end', (e: any) => ends.set(e.runId, e));
  return { s, progress: (id: string) => progress.get(id) ?? [], end: (id: string) => ends.get(id) };
}

const reports = async (url: string) => (await (await fetch(`${url}/api/eval/reports`)).json()).data.reports.map((r: any) => r.name);

test('an evaluation queued on A waits for a worker, streams to the starter on A and B, and one report is listed by both; a queued run is cancelled from B', { skip, timeout: 240_000 }, async () => {
  const onA = await watcher(pair.a.url);
  const onB = await watcher(pair.b.url);
  const other = await watcher(pair.b.url, 'redis-eval-session-0002');
  const r = await ask(onA.s, 'eval:start', { trackers: ['template-matching'], sequences: ['Crossing'], delta: 1 });
  assert.equal(r.ok, true, JSON.stringify(r));
  const id = r.data.runId;
  assert.deepEqual(r.data.sequences, ['Crossing']);
  assert.equal(r.data.queued, true, 'the page is told the run waits for a worker');
  const info = (await (await fetch(`${pair.b.url}/api/eval`)).json()).data;
  assert.equal(info.running, id, 'B knows the run A queued');

  const queued = await ask(onA.s, 'eval:start', { trackers: ['template-matching'], sequences: ['Bag'] });
  assert.equal(queued.ok, true, JSON.stringify(queued));
  const denied = await ask(other.s, 'eval:cancel', { runId: queued.data.runId });
  assert.equal(denied.error?.code, 'forbidden', JSON.stringify(denied));
  const c = await ask(onB.s, 'eval:cancel', { runId: queued.data.runId });
  assert.equal(c.ok, true, JSON.stringify(c));
  await waitFor(() => onA.end(queued.data.runId) !== undefined && onB.end(queued.data.runId) !== undefined, 10_000, 'the cancel on A and B');
  assert.equal(onA.end(queued.data.runId).state, 'cancelled');

  workers.push(await startWorker(pair.dir, pair.redis));
  // The end reaches A and B through Redis pub/sub on their own schedules: wait for both, then compare.
  await waitFor(() => onB.end(id) !== undefined && onA.end(id) !== undefined, 120_000, 'the end on A and B');
  const end = onB.end(id);
  assert.equal(end.state, 'done', JSON.stringify(end));
  assert.equal(end.report, id);
  assert.equal(end.scores.length, 1);
  assert.ok(end.scores[0].successAuc > 0 && end.scores[0].successAuc <= 1, JSON.stringify(end.scores));
  assert.deepEqual(onA.end(id), end, 'the starter\'s socket on A got the same end');
  assert.ok(onB.progress(id).length > 0 && onB.progress(id).at(-1).sequencesDone === 1, JSON.stringify(onB.progress(id).at(-1)));
  assert.equal(other.end(id), undefined, 'another session hears nothing');
  assert.deepEqual(await reports(pair.a.url), [id]);
  assert.deepEqual(await reports(pair.b.url), [id]);
  const md = await fetch(`${pair.a.url}/api/eval/reports/${id}/report.md`);
  assert.equal(md.status, 200);
  assert.match(await md.text(), /template-matching/);
  assert.equal((await (await fetch(`${pair.a.url}/api/eval`)).json()).data.running, null);
});

test('a worker SIGKILLed mid-run: another worker runs the evaluation again; one report, nothing half-written', { skip, timeout: 300_000 }, async () => {
  // One worker only, so the test knows which one runs the evaluation.
  for (const w of workers.splice(0)) {
    w.proc.kill('SIGTERM');
    await w.exited;
  }
  const first = await startWorker(pair.dir, pair.redis, 2000);
  const onA = await watcher(pair.a.url);
  const r = await ask(onA.s, 'eval:start', { trackers: ['template-matching'], sequences: ['Surfer', 'Bag'] });
  assert.equal(r.ok, true, JSON.stringify(r));
  const id = r.data.runId;
  await waitFor(() => onA.progress(id).some((p) => p.frames > 0), 60_000, 'progress');
  assert.match(first.err(), new RegExp(`"event":"eval.run","run":"${id}"`));
  first.proc.kill('SIGKILL');
  await first.exited;
  const seenBefore = onA.progress(id).length;
  const second = await startWorker(pair.dir, pair.redis, 2000);
  await second.line(new RegExp(`"event":"eval.run","run":"${id}"`), 60_000);
  await waitFor(() => onA.end(id) !== undefined, 240_000, 'the end after the retry');
  assert.equal(onA.end(id).state, 'done', JSON.stringify(onA.end(id)));
  assert.deepEqual(onA.end(id).failed, []);
  const after = onA.progress(id).slice(seenBefore);
  assert.ok(after.length > 0 && after.at(-1).sequencesDone === 2, JSON.stringify(after.at(-1)));
  const evalDir = path.join(pair.dir, 'eval');
  assert.equal((await readdir(evalDir)).filter((n) => n === id).length, 1);
  assert.ok((await readdir(path.join(evalDir, id))).includes('report.md'));
  assert.deepEqual(await readdir(path.join(evalDir, '.parts')).catch(() => []), [], 'no half-written run left');
  const json = await (await fetch(`${pair.a.url}/api/eval/reports/${id}/report.json`)).json();
  assert.deepEqual(json.trackers[0].sequences.map((q: any) => q.name).sort(), ['Bag', 'Surfer']);
});
