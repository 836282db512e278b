// Decoding a sequence once for all its trackers: the cache holds one sequence's frames (equal to the streamed ones),
// refuses a sequence over its byte bound, and the scheduler keeps a worker on its sequence; with two trackers on two
// workers the result files equal a streamed (in-process, one tracker at a time) run's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../../tracker/tf.js';
import { writeSyntheticDataset } from '../../data/synthetic.js';
import { openDataset } from '../../eval/datasets.js';
import { openSequenceFrames } from '../../data/frames.js';
import { SequenceFrameCache } from '../../eval/sequence-cache.js';
import { pickJob, runOpe } from '../../eval/ope.js';

let dir = '';
let root = '';
before(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(path.join(os.tmpdir(), 'seqcache-'));
  root = path.join(dir, 'otb');
  await writeSyntheticDataset(root, { seed: 4, count: 2, frames: 12, width: 80, height: 64, distractors: 0, occlusionProb: 0 }, 'otb');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the cache holds one sequence, equal to the streamed frames, and refuses one over its bound', async () => {
  const ds = openDataset({ layout: 'otb', root, split: 'val', delta: 1 });
  const [a, b] = ds.names();
  const seqA = await ds.sequence(a);
  const cache = new SequenceFrameCache();
  const framesA = await cache.frames(ds.name, seqA);
  assert.ok(framesA);
  assert.equal(framesA.length, seqA.frames.length);
  let i = 0;
  for await (const f of openSequenceFrames(seqA)) assert.deepEqual(framesA[i++].data, f.data);
  assert.equal(await cache.frames(ds.name, seqA), framesA, 'the same sequence again comes from the cache');
  const framesB = await cache.frames(ds.name, await ds.sequence(b));
  assert.notEqual(framesB, framesA);
  const small = new SequenceFrameCache(80 * 64 * 3 * 5);
  assert.equal(await small.frames(ds.name, seqA), null, 'a sequence over the bound is streamed, not held');
});

test('the scheduler keeps a worker on its sequence, then moves to one no other worker is on', () => {
  const q = [{ seq: 'a', t: 1 }, { seq: 'a', t: 2 }, { seq: 'b', t: 1 }, { seq: 'b', t: 2 }, { seq: 'c', t: 1 }];
  assert.deepEqual(pickJob(q, undefined, new Set()), { seq: 'a', t: 1 });
  assert.deepEqual(pickJob(q, undefined, new Set(['a'])), { seq: 'b', t: 1 });
  assert.deepEqual(pickJob(q, 'a', new Set(['b'])), { seq: 'a', t: 2 });
  assert.deepEqual(pickJob(q, 'a', new Set(['b'])), { seq: 'c', t: 1 }, 'a is done: the next sequence nobody is on');
  assert.deepEqual(pickJob(q, 'c', new Set(['b'])), { seq: 'b', t: 2 }, 'only b is left: share it');
  assert.equal(pickJob(q, 'b', new Set()), undefined);
});

test('two trackers over two workers with decoded sequences write the files a streamed run writes', async () => {
  const trackers = ['template-matching', 'template-matching+rot4'];
  const dataset = { layout: 'otb' as const, root, split: 'val' as const, delta: 1 };
  const a = path.join(dir, 'workers');
  const b = path.join(dir, 'inproc');
  const ra = await runOpe({ trackers, dataset, resultsRoot: a, workers: 2, backend: 'cpu' });
  assert.equal(ra.failed.length, 0, JSON.stringify(ra.failed));
  for (const t of trackers) await runOpe({ trackers: [t], dataset, resultsRoot: b, workers: 0 });
  for (const t of trackers) {
    for (const s of ra.sequences) {
      const f = (r: string) => readFileSync(path.join(r, ra.benchmark, t, `${s}.txt`), 'utf8');
      assert.equal(f(a), f(b), `${t} ${s}`);
    }
  }
});
