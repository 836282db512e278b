/**
 * Origins, the access token and ownership against a real server: cross-origin HTTP and socket.io refused unless
 * allowed by --allowed-origins; --token required by API and sockets (header, `?token=` link → cookie); a job is
 * seen and cancelled only by its session, others need its share key; evaluation runs reach and obey only their
 * starter.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { OTB_MINI, sharedDataSkip } from '../helpers/shared-data.js';
import { ask, connect, makeVideo, startServer, uploadFile, upload, type TestServer } from './helpers.js';

let srv: TestServer;
let videoFile = '';
let uploadId = '';

before(async () => {
  srv = await startServer({ allowedOrigins: 'http://friend.example, https://other.example/', datasetRoot: OTB_MINI, jobGraceSeconds: 30 });
  videoFile = path.join(srv.dir, 'v.mp4');
  await makeVideo(videoFile, { frames: 200, fps: 25, speed: 5 });
  uploadId = (await uploadFile(srv.url, videoFile)).body.data.id;
});
after(async () => {
  await srv?.close();
});

test('HTTP: a foreign Origin gets 403; the own origin and allowed ones pass', async () => {
  const host = new URL(srv.url).host;
  for (const [origin, status] of [['http://evil.example', 403], [`http://${host}`, 200], ['http://friend.example', 200], ['https://other.example', 200]] as const) {
    const res = await fetch(`${srv.url}/api/health`, { headers: { origin } });
    assert.equal(res.status, status, origin);
    if (status === 403) assert.equal((await res.json()).error.code, 'forbidden');
  }
  const { status, body } = await upload(srv.url, Buffer.from('x'), 'x.mp4', 'video', { headers: { origin: 'http://evil.example' } });
  assert.equal(status, 403, JSON.stringify(body));
});

test('socket.io: a foreign Origin cannot connect; an allowed one can', async () => {
  // The handshake is refused before the upgrade (the websocket client only sees "websocket error"); the log says why.
  await assert.rejects(connect(srv.url, { headers: { origin: 'http://evil.example' } }));
  assert.ok(srv.logs.some((l) => /socket\.refused.*"reason":"forbidden".*evil\.example/.test(l)), 'refusal logged');
  const s = await connect(srv.url, { headers: { origin: 'http://friend.example' } });
  s.disconnect();
});

test('--token: API and sockets need it; a ?token= link leaves a cookie that works afterwards', async () => {
  const locked = await startServer({ token: 'sesame-0123456789' });
  try {
    assert.equal((await fetch(`${locked.url}/api/health`)).status, 401);
    assert.equal((await fetch(`${locked.url}/api/health`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(`${locked.url}/api/health`, { headers: { authorization: 'Bearer sesame-0123456789' } })).status, 200);
    const page = await fetch(`${locked.url}/?token=sesame-0123456789`);
    assert.equal(page.status, 200);
    const cookies = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    assert.match(cookies, /rt_token=sesame-0123456789/);
    assert.match(page.headers.getSetCookie().join('\n'), /HttpOnly; SameSite=Strict/);
    assert.equal((await fetch(`${locked.url}/api/models`, { headers: { cookie: cookies } })).status, 200);
    await assert.rejects(connect(locked.url));
    assert.ok(locked.logs.some((l) => /socket\.refused.*"reason":"unauthorized"/.test(l)), 'refusal logged');
    (await connect(locked.url, { query: { token: 'sesame-0123456789' } })).disconnect();
    (await connect(locked.url, { headers: { cookie: cookies } })).disconnect();
  } finally {
    await locked.close();
  }
});

test('a job belongs to its session: others can neither cancel nor follow it without its share key', async () => {
  const owner = await connect(srv.url, { auth: { session: 'owner-session-000001' } });
  const other = await connect(srv.url);
  try {
    const ack = await ask(owner, 'job:start', { uploadId, box: { x: 20, y: 40, width: 24, height: 24 } });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    const { jobId, key } = ack.data;
    assert.match(key, /^[A-Za-z0-9_-]{20,}$/);
    const cancel = await ask(other, 'job:cancel', { jobId });
    assert.equal(cancel.error.code, 'forbidden');
    assert.equal((await ask(other, 'job:cancel', { jobId, key })).error.code, 'forbidden', 'the share key lets others see, not cancel');
    assert.equal((await ask(other, 'job:subscribe', { jobId })).error.code, 'forbidden');
    assert.equal((await ask(other, 'job:subscribe', { jobId, key: 'A'.repeat(key.length) })).error.code, 'forbidden');
    const sub = await ask(other, 'job:subscribe', { jobId, key });
    assert.equal(sub.ok, true, JSON.stringify(sub));
    assert.equal((await fetch(`${srv.url}/api/jobs/${jobId}`)).status, 403);
    assert.equal((await fetch(`${srv.url}/api/jobs/${jobId}?key=${key}`)).status, 200);
    // The same session on a new socket (a reconnect) is still the owner.
    const again = await connect(srv.url, { auth: { session: 'owner-session-000001' } });
    const mine = await ask(again, 'job:cancel', { jobId });
    again.disconnect();
    assert.equal(mine.ok, true, JSON.stringify(mine));
  } finally {
    owner.disconnect();
    other.disconnect();
  }
});

test('an evaluation run streams to and is cancelled by its starter only', { skip: sharedDataSkip(), timeout: 60_000 }, async () => {
  const a = await connect(srv.url);
  const b = await connect(srv.url);
  const seenByB: string[] = [];
  b.on('eval:progress', () => seenByB.push('progress'));
  b.on('eval:end', () => seenByB.push('end'));
  try {
    const ended = new Promise<any>((resolve) => a.once('eval:end', resolve));
    const start = await ask(a, 'eval:start', { trackers: ['template-matching'], sequences: ['Crossing'] });
    assert.equal(start.ok, true, JSON.stringify(start));
    const r = await ask(b, 'eval:cancel', { runId: start.data.runId });
    assert.equal(r.error.code, 'forbidden');
    assert.equal((await ask(a, 'eval:cancel', { runId: start.data.runId })).ok, true);
    assert.equal((await ended).state, 'cancelled');
    assert.deepEqual(seenByB, []);
  } finally {
    a.disconnect();
    b.disconnect();
  }
});
