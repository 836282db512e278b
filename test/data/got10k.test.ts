import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Got10kDataset, formatMetaInfo, got10kSequenceName, parseMetaInfo, writeGot10kList, writeGot10kSequence,
} from '../../data/got10k.js';
import { planSequence, renderSequence } from '../../data/synthetic.js';
import { DatasetError } from '../../data/gt-parse.js';
import { readFrame } from '../../data/frames.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'got10k-test-'));
}

const SMALL = { width: 64, height: 48, frames: 6, occlusionProb: 1, format: 'png' as const };

test('GOT-10k round trip of a synthetic sequence: boxes (1e-3), labels, meta and pixels unchanged', async () => {
  const root = tmp();
  try {
    const plan = planSequence({ ...SMALL, seed: 3 }, 0);
    const name = got10kSequenceName('train', 1);
    assert.equal(name, 'GOT-10k_Train_000001');
    const frames = [];
    for await (const f of renderSequence(plan)) frames.push(f);
    await writeGot10kSequence(
      path.join(root, 'train', name),
      { groundTruth: plan.groundTruth, absence: plan.absence, cover: plan.cover, cutByImage: plan.cutByImage, meta: plan.meta },
      frames,
      { ext: 'png' },
    );
    await writeGot10kList(root, 'train', [name]);
    const ds = new Got10kDataset(root, 'train');
    assert.equal(ds.name, 'GOT-10k-train');
    assert.deepEqual(ds.names(), [name]);
    const s = await ds.sequence(name);
    assert.equal(s.frames.length, 6);
    assert.equal(path.basename(s.frames[0]), '00000001.png');
    s.groundTruth.forEach((b, i) => {
      for (const k of ['x', 'y', 'width', 'height'] as const) {
        assert.ok(Math.abs(b[k] - plan.groundTruth[i][k]) < 1e-3, `frame ${i} ${k}: ${b[k]} vs ${plan.groundTruth[i][k]}`);
      }
    });
    assert.deepEqual(s.cover, plan.cover);
    assert.deepEqual(s.absence, plan.absence);
    assert.deepEqual(s.cutByImage, plan.cutByImage);
    assert.deepEqual(s.meta, plan.meta);
    for (let i = 0; i < 6; i++) assert.deepEqual((await readFrame(s.frames[i])).data, frames[i].data, `frame ${i} pixels`);
    const lines = fs.readFileSync(path.join(root, 'train', name, 'groundtruth.txt'), 'utf8').trim().split('\n');
    assert.match(lines[0], /^-?\d+\.\d{4},-?\d+\.\d{4},\d+\.\d{4},\d+\.\d{4}$/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('GOT-10k test split: only the first box is written and read; no labels', async () => {
  const root = tmp();
  try {
    const frame = { data: new Uint8Array(4 * 4 * 3), width: 4, height: 4 };
    const gt = [{ x: 1, y: 1, width: 2, height: 2 }, { x: 0, y: 0, width: 3, height: 3 }];
    const name = got10kSequenceName('test', 7);
    await writeGot10kSequence(path.join(root, 'test', name), { groundTruth: gt, cover: [8, 8], meta: { object_class: 'box' } }, [frame, frame], { split: 'test' });
    await writeGot10kList(root, 'test', [name]);
    assert.equal(fs.readFileSync(path.join(root, 'test', name, 'groundtruth.txt'), 'utf8'), '1.0000,1.0000,2.0000,2.0000\n');
    assert.ok(!fs.existsSync(path.join(root, 'test', name, 'cover.label')));
    const s = await new Got10kDataset(root, 'test').sequence(name);
    assert.equal(s.frames.length, 2);
    assert.deepEqual(s.groundTruth, [gt[0]]);
    assert.equal(s.cover, undefined);
    assert.deepEqual(s.meta, { object_class: 'box' });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('meta_info.ini: [METAINFO] header skipped, "key: value" lines with colons in values', () => {
  const text = '[METAINFO]\r\nurl: https://youtu.be/abc\r\nbegin: 00:00:12\r\nobject_class: ant\r\n\r\n';
  assert.deepEqual(parseMetaInfo(text, 'm.ini'), { url: 'https://youtu.be/abc', begin: '00:00:12', object_class: 'ant' });
  assert.throws(() => parseMetaInfo('[METAINFO]\nno colon here\n', '/s/meta_info.ini'), /\/s\/meta_info\.ini:2: expected "key: value"/);
  assert.equal(parseMetaInfo(formatMetaInfo({ a: 'b: c', d: '' }), 'x').a, 'b: c');
  assert.throws(() => formatMetaInfo({ 'a:b': 'x' }), /cannot be written/);
  assert.throws(() => formatMetaInfo({ a: 'x\ny' }), /newline/);
});

async function goodSeq(dir: string, n: number): Promise<void> {
  const frame = { data: new Uint8Array(4 * 4 * 3), width: 4, height: 4 };
  await writeGot10kSequence(
    dir,
    { groundTruth: Array.from({ length: n }, () => ({ x: 0, y: 0, width: 2, height: 2 })), absence: Array(n).fill(false), cover: Array(n).fill(8), cutByImage: Array(n).fill(false), meta: { k: 'v' } },
    Array(n).fill(frame),
  );
}

test('bad GOT-10k input: errors name the file and the 1-based line', async () => {
  const root = tmp();
  try {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    for (const n of names) await goodSeq(path.join(root, 'val', n), 3);
    await writeGot10kList(root, 'val', names);
    const d = (n: string, f: string) => path.join(root, 'val', n, f);
    fs.writeFileSync(d('a', 'groundtruth.txt'), '0,0,2,2\n0,0,2\n0,0,2,2\n');
    fs.writeFileSync(d('b', 'cover.label'), '8\n9\n8\n');
    fs.writeFileSync(d('c', 'absence.label'), '0\n0\n');
    fs.rmSync(d('d', '00000002.jpg'));
    fs.writeFileSync(d('e', 'groundtruth.txt'), '0,0,2,2\n0,0,2,2\n0,0,2,2\n0,0,2,2\n');
    fs.writeFileSync(d('f', 'groundtruth.txt'), '\n\n');
    fs.writeFileSync(d('g', 'meta_info.ini'), '[METAINFO]\nk v\n');
    const ds = new Got10kDataset(root, 'val');
    const cases: [string, string][] = [
      ['a', `${d('a', 'groundtruth.txt')}:2: expected 4 numbers per box, got 3`],
      ['b', `${d('b', 'cover.label')}:2: label must be an integer in [0, 8], got 9`],
      ['c', `${d('c', 'absence.label')}: has 2 labels but the folder has 3 frames`],
      ['d', `${d('d', '00000002.jpg')}: missing frame file`],
      ['e', `${d('e', '00000004.jpg')}: missing frame file: groundtruth.txt has 4 boxes`],
      ['f', `${d('f', 'groundtruth.txt')}: the file is empty`],
      ['g', `${d('g', 'meta_info.ini')}:2: expected "key: value"`],
    ];
    for (const [n, msg] of cases) {
      await assert.rejects(ds.sequence(n), (e: unknown) => {
        assert.ok(e instanceof DatasetError, n);
        assert.ok(e.message.startsWith(msg), `${n}: got "${e.message}", expected "${msg}…"`);
        return true;
      });
    }
    assert.throws(() => new Got10kDataset(root, 'train'), /train\/list\.txt: file not found/);
    fs.writeFileSync(path.join(root, 'val', 'list.txt'), 'a\n../x\n');
    assert.throws(() => new Got10kDataset(root, 'val'), /list\.txt:2: bad sequence name/);
    await assert.rejects(
      writeGot10kSequence(path.join(root, 'x'), { groundTruth: [{ x: 0, y: 0, width: 1, height: 1 }], cover: [9] }, []),
      /cover labels must be integers 0–8/,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
