/**
 * State that survives a crash, with the real `npm start` entry as a child process: a finished job, a job killed
 * with SIGKILL while running, and stray files; after a restart on the same folder the finished job is listed and
 * downloadable (by its owner's session and by its share link), the killed one is `interrupted`, the uploads are
 * still there, and every file on disk belongs to a stored upload or job.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ask, connect, makeVideo, uploadFile, waitFor } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SESSION = 'restart-test-session-01';
const children: ChildProcess[] = [];
let dir = '';

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Start `server/index.ts` on a free port over `uploads`; resolves with its URL. */
async function serve(uploads: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts', '--port', '0', '--upload-dir', uploads, '--backend', 'wasm',
    '--eval-dir', path.join(dir, 'eval'), '--model-dir', path.join(dir, 'models'), '--job-grace-seconds', '60'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 45 s: ${err}`)), 45_000);
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /"event":"server.listening","url":"([^"]+)"/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ''));
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
  return { url, child };
}

test('kill -9 during a job, restart: finished job downloadable, running one interrupted, no unowned file', { timeout: 150_000 }, async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'rot-track-restart-'));
  const uploads = path.join(dir, 'uploads');
  const short = path.join(dir, 'short.mp4');
  const long = path.join(dir, 'long.mp4');
  await makeVideo(short, { frames: 30, fps: 10 });
  await makeVideo(long, { frames: 600, fps: 25, speed: 5 });

  const a = await serve(uploads);
  const shortId = (await uploadFile(a.url, short)).body.data.id;
  const longId = (await uploadFile(a.url, long)).body.data.id;
  const s = await connect(a.url, { auth: { session: SESSION } });
  const box = { x: 20, y: 40, width: 24, height: 24 };
  const done = await new Promise<any>((resolve, reject) => {
    s.on('job:end', resolve);
    ask(s, 'job:start', { uploadId: shortId, box }).then((r) => !r.ok && reject(new Error(JSON.stringify(r))), reject);
  });
  assert.equal(done.state, 'done');
  let frames = 0;
  s.on('job:frame', () => frames++);
  const running = (await ask(s, 'job:start', { uploadId: longId, box })).data;
  await waitFor(() => frames >= 5, 30_000, 'the long job to run');
  a.child.kill('SIGKILL');
  await new Promise((r) => a.child.once('exit', r));
  s.disconnect();
  // Leftovers a crash can leave, and strays nobody owns.
  await writeFile(path.join(uploads, 'incoming', 'half-an-upload'), 'x');
  await mkdir(path.join(uploads, 'NoSuchUpload0000000001'), { recursive: true });
  await mkdir(path.join(uploads, 'jobs', 'NoSuchJob000000000001'), { recursive: true });

  const b = await serve(uploads);
  const cookie = { cookie: `rt_session=${SESSION}` };
  const list = (await (await fetch(`${b.url}/api/jobs`, { headers: cookie })).json()).data.jobs;
  assert.deepEqual(list.map((j: any) => [j.jobId, j.state]), [[running.jobId, 'interrupted'], [done.jobId, 'done']]);
  assert.match(list[0].end.error.message, /server stopped while this job was running/);
  const otb = await fetch(b.url + done.results.otb);
  assert.equal(otb.status, 200, 'the share link still works');
  assert.equal((await otb.text()).trim().split('\n').length, 30);
  assert.equal((await fetch(`${b.url}/api/jobs/${done.jobId}/annotated.mp4`, { headers: cookie })).status, 200, 'the owner downloads by session');
  assert.equal((await fetch(`${b.url}/api/jobs/${done.jobId}/boxes.txt`)).status, 403, 'nobody else without the link');
  const again = await connect(b.url, { auth: { session: SESSION } });
  const sub = await ask(again, 'job:subscribe', { jobId: running.jobId });
  assert.equal(sub.ok, true);
  assert.equal(sub.data.state, 'interrupted');
  assert.equal((await fetch(`${b.url}/api/uploads/${longId}`)).status, 200, 'uploads survive');
  again.disconnect();

  // Every entry on disk is owned: the database, the upload folders, the finished job's folder; nothing incoming.
  const top = (await readdir(uploads)).filter((n) => !n.startsWith('state.sqlite')).sort();
  assert.deepEqual(top, ['incoming', 'jobs', longId, shortId].sort());
  assert.deepEqual((await readdir(path.join(uploads, 'jobs'))).sort(), ['.parts', done.jobId].sort());
  assert.deepEqual(await readdir(path.join(uploads, 'jobs', '.parts')), [], 'the killed job\'s half-written files were swept');
  assert.deepEqual(await readdir(path.join(uploads, 'incoming')), []);
  b.child.kill('SIGTERM');
  await new Promise((r) => b.child.once('exit', r));
});
