/**
 * Evaluation runs through the socket API on the real otb-mini data (../shared/data): validation of the request
 * (trackers, sequences — never a path), one run at a time, progress events, and a report the page can list.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { OTB_MINI, sharedDataSkip } from '../helpers/shared-data.js';
import { ask, connect, startServer, type TestServer } from './helpers.js';

const skip = sharedDataSkip();
let srv: TestServer;

before(async () => {
  if (!skip) srv = await startServer({ datasetRoot: OTB_MINI, backend: 'wasm' });
});
after(async () => {
  await srv?.close();
});

test('a server without its dataset says so and refuses runs', async () => {
  const bare = await startServer({ datasetRoot: path.join('/nonexistent', 'otb') });
  try {
    const info = (await (await fetch(`${bare.url}/api/eval`)).json()).data;
    assert.equal(info.available, false);
    assert.match(info.reason, /does not exist/);
    const s = await connect(bare.url);
    const r = await ask(s, 'eval:start', { trackers: ['template-matching'] });
    s.disconnect();
    assert.equal(r.error.code, 'unavailable');
  } finally {
    await bare.close();
  }
});

test('evaluation: bad requests refused; a run streams progress and ends with a listed report', { skip, timeout: 180_000 }, async () => {
  const info = (await (await fetch(`${srv.url}/api/eval`)).json()).data;
  assert.equal(info.available, true);
  assert.deepEqual(info.sequences, ['Bag', 'Crossing', 'Surfer']);
  assert.deepEqual(info.models, ['template-matching']);
  const s = await connect(srv.url);
  try {
    const bad: [unknown, string][] = [
      [{ trackers: [] }, 'invalid_payload'],
      [{ trackers: ['template-matching'], sequences: ['../../etc'] }, 'invalid_payload'],
      [{ trackers: ['template-matching'], root: '/etc' }, 'invalid_payload'],
      [{ trackers: ['template-matching'], delta: 90 }, 'invalid_payload'],
      [{ trackers: ['nope'] }, 'unknown_model'],
      [{ trackers: ['template-matching'], sequences: ['Basketball'] }, 'bad_request'],
    ];
    for (const [p, code] of bad) {
      const r = await ask(s, 'eval:start', p);
      assert.equal(r.ok, false, JSON.stringify(p));
      assert.equal(r.error.code, code, `${JSON.stringify(p)} → ${JSON.stringify(r.error)}`);
    }
    const progress: any[] = [];
    s.on('eval:progress', (p: any) => progress.push(p));
    const end = new Promise<any>((resolve) => s.on('eval:end', resolve));
    const r = await ask(s, 'eval:start', { trackers: ['template-matching'], sequences: ['Crossing'], delta: 1 });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.match(r.data.benchmark, /Rot/i);
    assert.deepEqual(r.data.sequences, ['Crossing']);
    assert.equal(r.data.queued, false, 'the embedded runner starts at once');
    const again = await ask(s, 'eval:start', { trackers: ['template-matching'], sequences: ['Crossing'] });
    assert.equal(again.error.code, 'busy');
    const e = await end;
    assert.equal(e.state, 'done', JSON.stringify(e));
    assert.equal(e.report, r.data.runId);
    assert.equal(e.scores.length, 1);
    assert.ok(e.scores[0].successAuc > 0 && e.scores[0].successAuc <= 1);
    assert.ok(progress.length >= 2 && progress.every((p) => p.runId === r.data.runId));
    assert.ok(progress[progress.length - 1].frames >= 119, JSON.stringify(progress[progress.length - 1]));
    const reports = (await (await fetch(`${srv.url}/api/eval/reports`)).json()).data.reports;
    const mine = reports.find((x: any) => x.name === r.data.runId);
    assert.ok(mine, 'the run is listed');
    assert.ok(mine.files.includes('success.png') && mine.files.includes('report.md'));
    const md = await (await fetch(`${srv.url}/api/eval/reports/${mine.name}/report.md`)).text();
    assert.match(md, /template-matching/);
  } finally {
    s.disconnect();
  }
});
