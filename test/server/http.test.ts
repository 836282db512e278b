/**
 * HTTP side of the server against a real instance on an ephemeral port: health, models, pages and headers, uploads
 * (good, non-video, truncated, too large, malformed requests), path-traversal attempts, rate limits, evaluation
 * report serving, the classifier's 503, JSON errors and structured logs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { createClassifier, digitsToTensor } from '../../tracker/classifier.js';
import { saveClassifier } from '../../tracker/node/classifier-files.js';
import { tf } from '../../tracker/tf.js';
import { makeVideo, startServer, upload, uploadFile, type TestServer } from './helpers.js';

let srv: TestServer;
let video = '';
let videoBytes: Buffer;

before(async () => {
  srv = await startServer({ maxUploadMb: 0.5 });
  video = path.join(srv.dir, 'moving.mp4');
  await makeVideo(video, { frames: 30, fps: 10 });
  videoBytes = await readFile(video);
});
after(async () => {
  await srv?.close();
});

const get = async (p: string, init?: RequestInit) => {
  const res = await fetch(srv.url + p, init);
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { res, body };
};

test('health answers ok with the backend and counters', async () => {
  const { res, body } = await get('/api/health');
  assert.equal(res.status, 200);
  assert.equal(body.ok, true);
  assert.equal(body.data.status, 'ok');
  assert.equal(body.data.backend, 'wasm');
  assert.equal(typeof body.data.tensors, 'number');
});

test('model list: the template-matching fallback is the default; a broken model folder is reported, not fatal', async () => {
  let { body } = await get('/api/models');
  assert.equal(body.ok, true);
  assert.equal(body.data.default, 'template-matching');
  assert.deepEqual(body.data.models.map((m: any) => [m.name, m.trained]), [['template-matching', false]]);
  const bad = path.join(srv.dir, 'models', 'broken-model');
  await mkdir(bad, { recursive: true });
  await writeFile(path.join(bad, 'model.json'), '{"format": "nope"}');
  ({ body } = await get('/api/models'));
  assert.equal(body.data.default, 'template-matching');
  assert.equal(body.data.broken.length, 1);
  assert.equal(body.data.broken[0].name, 'broken-model');
  assert.match(body.data.broken[0].reason, /model\.json/);
});

test('pages are served with a CSP that allows only the page\'s own scripts; bundles are JavaScript', async () => {
  for (const p of ['/', '/webcam', '/eval', '/classifier']) {
    const { res, body } = await get(p);
    assert.equal(res.status, 200, p);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(body, /<nav>/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /img-src 'self' blob: data:/);
    assert.match(csp, /media-src 'self'/);
    assert.equal(res.headers.get('x-powered-by'), null);
  }
  for (const js of ['upload', 'webcam', 'eval', 'classifier']) {
    const { res, body } = await get(`/js/${js}.js`);
    assert.equal(res.status, 200, js);
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    assert.ok(body.length > 1000, `${js}.js is a real bundle`);
    assert.doesNotMatch(body, /from "zod"|ZodError/, 'zod stays out of the browser bundle');
  }
  const { res, body } = await get('/js/nope.js');
  assert.equal(res.status, 404);
  assert.equal(body.error.code, 'not_found');
});

test('a real video upload is probed and gets a first-frame JPEG preview; the original is served with ranges', async () => {
  const { status, body } = await uploadFile(srv.url, video);
  assert.equal(status, 201, JSON.stringify(body));
  const u = body.data;
  assert.deepEqual([u.width, u.height, u.frames, u.fps, u.codec, u.playable], [160, 120, 30, 10, 'h264', true]);
  const prev = await fetch(srv.url + u.previewUrl);
  assert.equal(prev.headers.get('content-type'), 'image/jpeg');
  const jpeg = Buffer.from(await prev.arrayBuffer());
  const meta = await sharp(jpeg).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 160, 120]);
  // The preview is the first frame: the red square sits at x 20–44, y 40–64 on grey.
  const { data } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const px = (x: number, y: number) => [...data.subarray((y * 160 + x) * 3, (y * 160 + x) * 3 + 3)];
  assert.ok(px(32, 52)[0] > 180 && px(32, 52)[1] < 80, `square centre is red: ${px(32, 52)}`);
  assert.ok(Math.abs(px(100, 100)[0] - 80) < 20, `background is grey: ${px(100, 100)}`);
  const v = await fetch(srv.url + u.videoUrl);
  assert.equal(v.headers.get('content-type'), 'video/mp4');
  assert.deepEqual(Buffer.from(await v.arrayBuffer()), videoBytes);
  const part = await fetch(srv.url + u.videoUrl, { headers: { range: 'bytes=0-99' } });
  assert.equal(part.status, 206);
  assert.equal((await part.arrayBuffer()).byteLength, 100);
  const again = await get(`/api/uploads/${u.id}`);
  assert.equal(again.body.data.id, u.id);
});

test('a non-video file named .mp4 is refused with 415 not_video and leaves no file behind', async () => {
  const { status, body } = await upload(srv.url, Buffer.from('this is a text file, not a video\n'.repeat(50)), 'evil.mp4');
  assert.equal(status, 415);
  assert.equal(body.ok, false);
  assert.equal(body.error.code, 'not_video');
  assert.match(body.error.message, /evil\.mp4.*not a video/);
  assert.deepEqual(await readdir(path.join(srv.dir, 'uploads', 'incoming')), []);
});

test('a truncated mp4 is refused with 415 not_video', async () => {
  const { status, body } = await upload(srv.url, videoBytes.subarray(0, Math.floor(videoBytes.length / 3)), 'cut.mp4');
  assert.equal(status, 415, JSON.stringify(body));
  assert.equal(body.error.code, 'not_video');
});

test('an upload over the size limit is refused with 413 too_large', async () => {
  const { status, body } = await upload(srv.url, Buffer.alloc(700 * 1024, 7), 'big.mp4');
  assert.equal(status, 413);
  assert.equal(body.error.code, 'too_large');
  assert.match(body.error.message, /0\.5 MB/);
  assert.deepEqual(await readdir(path.join(srv.dir, 'uploads', 'incoming')), []);
});

test('malformed upload requests get 400 JSON errors', async () => {
  let { res, body } = await get('/api/uploads', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
  assert.equal(res.status, 400);
  assert.match(body.error.message, /multipart/);
  const r = await upload(srv.url, videoBytes, 'moving.mp4', 'file');
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'bad_request');
  ({ res, body } = await get('/api/classify', { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } }));
  assert.equal(res.status, 400);
  assert.equal(body.error.code, 'invalid_payload');
  assert.doesNotMatch(JSON.stringify(body), /at .*\.ts:\d+/, 'no stack trace');
});

test('path-traversal attempts on every path parameter are refused', async () => {
  const attempts: [string, number][] = [
    ['/api/uploads/..%2F..%2F..%2Fetc%2Fpasswd', 400],
    ['/api/uploads/..%2F..%2Fpackage.json/video', 400],
    ['/api/uploads/AAAAAAAAAAAAAAAAAAAAAA/preview.jpg', 404],
    ['/api/jobs/..%2F..%2Fpackage.json', 400],
    ['/api/jobs/AAAAAAAAAAAAAAAAAAAAAA/..%2F..%2Fpackage.json', 404],
    ['/api/eval/reports/..%2F..%2F/package.json', 400],
    ['/api/eval/reports/run/..%2F..%2F..%2Fpackage.json', 400],
    ['/static/..%2F..%2Fpackage.json', 404],
    ['/js/..%2F..%2Fserver%2Fapp.js', 404],
  ];
  for (const [p, want] of attempts) {
    const { res, body } = await get(p);
    assert.equal(res.status, want, `${p} → ${res.status} ${JSON.stringify(body)}`);
    assert.equal(body.ok, false, p);
    assert.doesNotMatch(JSON.stringify(body), /"name":\s*"rot-track"/, `${p} leaked package.json`);
  }
});

test('evaluation reports: none yet says so; a report folder is listed and its files served, others refused', async () => {
  let { body } = await get('/api/eval/reports');
  assert.deepEqual(body.data.reports, []);
  const run = path.join(srv.dir, 'eval', 'otb-mini-2026');
  await mkdir(run, { recursive: true });
  await writeFile(path.join(run, 'report.md'), '# Report\n\n| tracker | AUC |\n|---|---|\n| a | 0.5 |\n\n![Success plot](success.png)\n');
  await writeFile(path.join(run, 'success.png'), await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } }).png().toBuffer());
  await writeFile(path.join(run, 'notes.sh'), 'echo no');
  ({ body } = await get('/api/eval/reports'));
  assert.equal(body.data.reports.length, 1);
  assert.equal(body.data.reports[0].name, 'otb-mini-2026');
  assert.deepEqual(body.data.reports[0].files, ['report.md', 'success.png']);
  const md = await fetch(`${srv.url}/api/eval/reports/otb-mini-2026/report.md`);
  assert.match(md.headers.get('content-type') ?? '', /text\/markdown/);
  assert.match(await md.text(), /# Report/);
  const png = await fetch(`${srv.url}/api/eval/reports/otb-mini-2026/success.png`);
  assert.equal(png.headers.get('content-type'), 'image/png');
  const sh = await get('/api/eval/reports/otb-mini-2026/notes.sh');
  assert.equal(sh.res.status, 400);
  const missing = await get('/api/eval/reports/otb-mini-2026/precision.png');
  assert.equal(missing.res.status, 404);
});

test('the classifier answers 503 naming what is missing, and validates its body first', async () => {
  let { res, body } = await get('/api/classify', { method: 'POST', body: JSON.stringify({ pixels: [1, 2] }), headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 400);
  assert.equal(body.error.code, 'invalid_payload');
  ({ res, body } = await get('/api/classify', {
    method: 'POST', body: JSON.stringify({ pixels: new Array(784).fill(0) }), headers: { 'content-type': 'application/json' },
  }));
  assert.equal(res.status, 503);
  assert.equal(body.error.code, 'unavailable');
  assert.match(body.error.message, /no trained classifier found.*rot-track\/classifier@1/);
  ({ body } = await get('/api/classify'));
  assert.equal(body.data.available, false);
});

test('with a classifier model folder on disk, /api/classify runs it and answers its probabilities', async () => {
  const model = createClassifier({ variant: 'cnn', widthMultiplier: 0.0625, seed: 3 });
  const dir = path.join(srv.dir, 'models', 'tiny-cnn');
  await saveClassifier(dir, model, { name: 'tiny-cnn' });
  try {
    const digit = new Array(784).fill(0).map((_, i) => ((i % 28) > 10 && (i % 28) < 16 ? 255 : 0));
    const { res, body } = await get('/api/classify', {
      method: 'POST', body: JSON.stringify({ pixels: digit }), headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200, JSON.stringify(body));
    const [r] = body.data.results;
    assert.equal(r.model, 'tiny-cnn');
    assert.equal(r.variant, 'cnn');
    assert.equal(r.scores.length, 10);
    assert.ok(Math.abs(r.scores.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-4);
    const want = tf.tidy(() => Array.from(model.predict(digitsToTensor(Uint8Array.from(digit), 28)).dataSync()));
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(r.scores[i] - want[i]) < 1e-5, `class ${i}: ${r.scores[i]} vs ${want[i]}`);
    assert.equal(r.label, want.indexOf(Math.max(...want)));
    // The classifier folder is not mistaken for a broken tracker model.
    const models = (await get('/api/models')).body.data;
    assert.ok(!models.broken.some((b: any) => b.name === 'tiny-cnn'));
    // No tensors leak per request once the model is loaded.
    const before = tf.memory().numTensors;
    await get('/api/classify', { method: 'POST', body: JSON.stringify({ pixels: digit }), headers: { 'content-type': 'application/json' } });
    assert.equal(tf.memory().numTensors, before);
  } finally {
    model.dispose();
  }
});

test('unknown API routes are JSON 404s', async () => {
  const { res, body } = await get('/api/nothing/here');
  assert.equal(res.status, 404);
  assert.deepEqual(Object.keys(body), ['ok', 'error']);
  assert.match(body.error.message, /no route GET \/api\/nothing\/here/);
});

test('logs are one JSON object per line with time, level and event', () => {
  assert.ok(srv.logs.length > 10);
  for (const line of srv.logs) {
    const o = JSON.parse(line);
    assert.equal(typeof o.time, 'string');
    assert.match(o.level, /^(debug|info|warn|error)$/);
    assert.equal(typeof o.event, 'string');
  }
  assert.ok(srv.logs.some((l) => JSON.parse(l).event === 'upload.accepted'));
  assert.ok(srv.logs.some((l) => JSON.parse(l).event === 'http' && JSON.parse(l).status === 415));
});

test('per-client HTTP rate limit: a burst over the limit gets 429, the server keeps serving afterwards', async () => {
  const limited = await startServer({ httpBurst: 5, httpRatePerSec: 2 });
  try {
    const codes = [];
    for (let i = 0; i < 12; i++) codes.push((await fetch(`${limited.url}/api/health`)).status);
    assert.deepEqual(codes.slice(0, 5), [200, 200, 200, 200, 200]);
    assert.ok(codes.slice(5).filter((c) => c === 429).length >= 6, codes.join(','));
    const r = await fetch(`${limited.url}/api/health`);
    const body = await r.json();
    if (r.status === 429) assert.equal(body.error.code, 'rate_limited');
    // Pages are not rate limited; tokens refill.
    assert.equal((await fetch(`${limited.url}/`)).status, 200);
    await new Promise((res) => setTimeout(res, 1100));
    assert.equal((await fetch(`${limited.url}/api/health`)).status, 200);
  } finally {
    await limited.close();
  }
});
