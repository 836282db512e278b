import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { OtbDataset, writeOtbSequence } from '../../data/otb.js';
import { DatasetError, iterateSequences, type SkippedSequence } from '../../data/gt-parse.js';
import { readFrame } from '../../data/frames.js';
import { fromOtb, fromPolygon } from '../../tracker/geometry.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OTB_MINI = path.resolve(REPO, '../shared/data/otb-mini');
const HAVE_MINI = fs.existsSync(path.join(OTB_MINI, 'OTB2015.json'));

/** Skip loudly when the shared data is absent, but fail under CI. */
function needMini(t: TestContext): boolean {
  if (HAVE_MINI) return true;
  const why = `${OTB_MINI} is absent (shared test data): this test cannot run`;
  if (process.env.CI === 'true') assert.fail(`${why} — required under CI=true`);
  console.warn(`SKIPPED: ${why}`);
  t.skip(why);
  return false;
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'otb-test-'));
}

function fileRows(file: string): number[][] {
  return fs.readFileSync(file, 'utf8').trim().split(/\r?\n/).map((l) => l.split(/[\s,]+/).map(Number));
}

interface JsonSeq { name: string; image_files: string[]; gt_rect: number[][] }
const otbJson = (): Record<string, JsonSeq> => JSON.parse(fs.readFileSync(path.join(OTB_MINI, 'OTB2015.json'), 'utf8'));

test('otb-mini: Crossing, Bag, Surfer frame counts and first/last boxes match the files', async (t) => {
  if (!needMini(t)) return;
  const ds = new OtbDataset(OTB_MINI);
  assert.deepEqual(ds.names(), ['Bag', 'Crossing', 'Surfer']);
  for (const [name, n, w, h] of [['Crossing', 120, 360, 240], ['Bag', 196, 480, 360], ['Surfer', 376, 480, 360]] as const) {
    const s = await ds.sequence(name);
    assert.equal(s.frames.length, n, name);
    assert.equal(s.groundTruth.length, n, name);
    assert.equal(path.basename(s.frames[0]), '0001.jpg');
    assert.equal(path.basename(s.frames[n - 1]), `${String(n).padStart(4, '0')}.jpg`);
    const rows = fileRows(path.join(OTB_MINI, name, 'groundtruth_rect.txt'));
    assert.deepEqual(s.groundTruth[0], fromOtb(rows[0]));
    assert.deepEqual(s.groundTruth[n - 1], fromOtb(rows[n - 1]));
    const meta = await sharp(s.frames[n - 1]).metadata();
    assert.equal(meta.width, w);
    assert.equal(meta.height, h);
  }
  // Hand-checked against Crossing/groundtruth_rect.txt line 1 "205,151,17,50" (1-based) → 0-based x 204, y 150.
  assert.deepEqual((await ds.sequence('Crossing')).groundTruth[0], { x: 204, y: 150, width: 17, height: 50 });
});

test('otb-mini: Crossing equals OTB2015.json, Bag ground truth is the hull of its VOT polygons', async (t) => {
  if (!needMini(t)) return;
  const ds = new OtbDataset(OTB_MINI);
  const crossing = await ds.sequence('Crossing');
  assert.deepEqual(crossing.groundTruth, otbJson().crossing.gt_rect.map((r) => fromOtb(r)));
  const bag = await ds.sequence('Bag');
  const polys = fileRows(path.join(OTB_MINI, 'Bag', 'groundtruth_original.txt'));
  assert.equal(polys.length, 196);
  assert.equal(polys[0].length, 8);
  polys.forEach((p, i) => {
    const hull = fromPolygon(p);
    const b = bag.groundTruth[i];
    // The rect file holds the hull numbers as they are ("no offset applied"), read as 1-based.
    for (const k of ['x', 'y', 'width', 'height'] as const) {
      assert.ok(Math.abs((k === 'x' || k === 'y' ? b[k] + 1 : b[k]) - hull[k]) < 0.011, `Bag frame ${i + 1} ${k}`);
    }
  });
});

test('otb-mini read as a single sequence folder', async (t) => {
  if (!needMini(t)) return;
  const ds = new OtbDataset(path.join(OTB_MINI, 'Surfer'));
  assert.deepEqual(ds.names(), ['Surfer']);
  assert.equal((await ds.sequence('Surfer')).frames.length, 376);
});

// ------------------------------------------------------------------------------------------------------------
// Quirk trees: the real OTB-2015 folder contents (frame files + ground-truth files), with tiny JPEGs.

interface QuirkSpec {
  dir: string;
  /** First and last frame number in img/ and the digit count. */
  first: number;
  last: number;
  digits?: number;
  /** Ground-truth files: name → [json key, separator, extra leading lines]. */
  gt: Record<string, { key: string | null; sep: string; crlf?: boolean; lead?: number; trailing?: string }>;
  /** Reader name → json key. */
  expect: Record<string, string>;
}

const QUIRKS: QuirkSpec[] = [
  { dir: 'David', first: 1, last: 770, gt: { 'groundtruth_rect.txt': { key: 'david', sep: '\t', crlf: true, trailing: '\r\n\r\n' } }, expect: { David: 'david' } },
  { dir: 'Football1', first: 1, last: 81, gt: { 'groundtruth_rect.txt': { key: 'football1', sep: ',' } }, expect: { Football1: 'football1' } },
  { dir: 'Freeman3', first: 1, last: 474, gt: { 'groundtruth_rect.txt': { key: 'freeman3', sep: ' ' } }, expect: { Freeman3: 'freeman3' } },
  { dir: 'Freeman4', first: 1, last: 297, gt: { 'groundtruth_rect.txt': { key: 'freeman4', sep: '\t' } }, expect: { Freeman4: 'freeman4' } },
  { dir: 'Diving', first: 1, last: 231, gt: { 'groundtruth_rect.txt': { key: 'diving', sep: ',' } }, expect: { Diving: 'diving' } },
  { dir: 'Tiger1', first: 1, last: 354, gt: { 'groundtruth_rect.txt': { key: 'tiger1', sep: ',', lead: 5 } }, expect: { Tiger1: 'tiger1' } },
  { dir: 'BlurCar1', first: 247, last: 988, gt: { 'groundtruth_rect.txt': { key: 'blurCar1', sep: 'blurcar1' } }, expect: { BlurCar1: 'blurCar1' } },
  { dir: 'BlurCar3', first: 3, last: 359, gt: { 'groundtruth_rect.txt': { key: 'blurCar3', sep: '\t' } }, expect: { BlurCar3: 'blurCar3' } },
  { dir: 'BlurCar4', first: 18, last: 397, gt: { 'groundtruth_rect.txt': { key: 'blurCar4', sep: '\t' } }, expect: { BlurCar4: 'blurCar4' } },
  { dir: 'Board', first: 1, last: 698, digits: 5, gt: { 'groundtruth_rect.txt': { key: 'board', sep: ',' } }, expect: { Board: 'board' } },
  {
    dir: 'Jogging', first: 1, last: 307,
    gt: { 'groundtruth_rect.1.txt': { key: 'jogging_1', sep: '\t' }, 'groundtruth_rect.2.txt': { key: 'jogging_2', sep: '\t' } },
    expect: { 'Jogging.1': 'jogging_1', 'Jogging.2': 'jogging_2' },
  },
  {
    dir: 'Skating2', first: 1, last: 473,
    gt: { 'groundtruth_rect.1.txt': { key: 'skating2_1', sep: ',' }, 'groundtruth_rect.2.txt': { key: 'skating2_2', sep: ',' } },
    expect: { 'Skating2.1': 'skating2_1', 'Skating2.2': 'skating2_2' },
  },
  {
    dir: 'Human4', first: 1, last: 667,
    gt: { 'groundtruth_rect.1.txt': { key: null, sep: ',' }, 'groundtruth_rect.2.txt': { key: 'human4_2', sep: ',' } },
    expect: { Human4: 'human4_2' },
  },
  { dir: 'Biker', first: 1, last: 142, gt: { 'groundtruth_rect.txt': { key: 'biker', sep: ',' } }, expect: { Biker: 'biker' } },
];

async function tinyJpeg(): Promise<Buffer> {
  return sharp(Buffer.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]), { raw: { width: 2, height: 2, channels: 3 } }).jpeg().toBuffer();
}

async function buildQuirkTree(root: string, json: Record<string, JsonSeq>, specs: QuirkSpec[]): Promise<void> {
  const jpg = await tinyJpeg();
  for (const q of specs) {
    const img = path.join(root, q.dir, 'img');
    fs.mkdirSync(img, { recursive: true });
    for (let k = q.first; k <= q.last; k++) fs.writeFileSync(path.join(img, `${String(k).padStart(q.digits ?? 4, '0')}.jpg`), jpg);
    for (const [file, g] of Object.entries(q.gt)) {
      if (g.key === null) { fs.writeFileSync(path.join(root, q.dir, file), ''); continue; }
      const rows = [...Array.from({ length: g.lead ?? 0 }, () => [1, 1, 10, 10]), ...json[g.key].gt_rect];
      // BlurCar1's file is tab-separated except its 496th line, which uses spaces.
      const lines = rows.map((r, i) => r.join(g.sep === 'blurcar1' ? (i === 495 ? ' ' : '\t') : g.sep));
      const nl = g.crlf ? '\r\n' : '\n';
      fs.writeFileSync(path.join(root, q.dir, file), lines.join(nl) + (g.trailing ?? nl));
    }
    // Unrelated files sitting in OTB folders must not be taken for ground truth or frames.
    fs.writeFileSync(path.join(root, q.dir, 'cfg.mat'), 'x');
    fs.writeFileSync(path.join(img, 'Thumbs.db'), 'x');
  }
}

test('quirk trees: frame lists and boxes equal OTB2015.json for every quirky sequence', async (t) => {
  if (!needMini(t)) return;
  const json = otbJson();
  const root = tmp();
  try {
    await buildQuirkTree(root, json, QUIRKS);
    const ds = new OtbDataset(root);
    const expected = Object.fromEntries(QUIRKS.flatMap((q) => Object.entries(q.expect)));
    assert.deepEqual(ds.names(), Object.keys(expected).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
    for (const [name, key] of Object.entries(expected)) {
      const s = await ds.sequence(name);
      assert.deepEqual(s.frames.map((f) => path.basename(f)), json[key].image_files, `${name}: frame list`);
      assert.equal(path.dirname(s.frames[0]), path.join(root, name.split('.')[0], 'img'));
      assert.deepEqual(s.groundTruth, json[key].gt_rect.map((r) => fromOtb(r)), `${name}: boxes`);
    }
    // Spot checks by hand from the OTB documentation.
    assert.equal(path.basename((await ds.sequence('David')).frames[0]), '0300.jpg');
    assert.equal((await ds.sequence('David')).frames.length, 471);
    assert.equal(path.basename((await ds.sequence('Tiger1')).frames[0]), '0006.jpg');
    assert.equal(path.basename((await ds.sequence('BlurCar1')).frames[0]), '0247.jpg');
    assert.equal(path.basename((await ds.sequence('Board')).frames[697]), '00698.jpg');
    assert.deepEqual((await ds.sequence('Board')).groundTruth[697], { x: -1, y: -1, width: 0, height: 0 });
    // Biker's 75th box (348, -10, 32, 35) leaves the 640×360 image at the top: kept as it is, not clipped.
    assert.deepEqual((await ds.sequence('Biker')).groundTruth[74], { x: 347, y: -11, width: 32, height: 35 });
    assert.equal((await ds.sequence('Human4')).meta.ignoredEmptyFiles, 'groundtruth_rect.1.txt');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('Tiger1 whose ground truth already starts at frame 6 (349 lines) reads the same', async (t) => {
  if (!needMini(t)) return;
  const json = otbJson();
  const root = tmp();
  try {
    await buildQuirkTree(root, json, [{ dir: 'Tiger1', first: 1, last: 354, gt: { 'groundtruth_rect.txt': { key: 'tiger1', sep: ',' } }, expect: {} }]);
    const s = await new OtbDataset(root).sequence('Tiger1');
    assert.deepEqual(s.frames.map((f) => path.basename(f)), json.tiger1.image_files);
    assert.deepEqual(s.groundTruth[0], fromOtb(json.tiger1.gt_rect[0]));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('renumbered copies (Rot-OTB output) of David and Tiger1 are read plainly: the ranges apply only to the originals', async () => {
  const root = tmp();
  try {
    await seqDir(root, 'David', 5, '1,1,4,4\n2,2,4,4\n3,3,4,4\n4,4,4,4\n5,5,4,4\n');
    await seqDir(root, 'Tiger1', 4, '1,1,4,4\n2,2,4,4\n3,3,4,4\n4,4,4,4\n');
    const ds = new OtbDataset(root);
    const david = await ds.sequence('David');
    assert.deepEqual(david.frames.map((f) => path.basename(f)), ['0001.jpg', '0002.jpg', '0003.jpg', '0004.jpg', '0005.jpg']);
    assert.deepEqual(david.groundTruth[4], { x: 4, y: 4, width: 4, height: 4 });
    assert.equal((await ds.sequence('Tiger1')).frames.length, 4);
    // With the quirks off, a real David tree (770 frames, 471 boxes) is a count mismatch.
    await seqDir(root, 'Diving', 6, '1,1,4,4\n2,2,4,4\n');
    await assert.rejects(new OtbDataset(root, { quirks: false }).sequence('Diving'), /has 2 boxes but img\/ has 6 frames/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------------------------------------------------------
// Round trip and bad input.

test('OTB round trip: writeOtbSequence then OtbDataset gives the same boxes (1e-3) and pixels (PNG)', async () => {
  const root = tmp();
  try {
    const frames = [0, 1, 2].map((k) => ({ data: new Uint8Array(8 * 6 * 3).map((_, i) => (i * 7 + k * 31) % 256), width: 8, height: 6 }));
    const gt = [{ x: 0.12345, y: -3.5, width: 4.25, height: 2 }, { x: 1, y: 2, width: 3, height: 4 }, { x: 5.55555, y: 0, width: 1e-3, height: 7 }];
    const written = await writeOtbSequence(path.join(root, 'Toy'), { groundTruth: gt }, frames, { ext: 'png' });
    assert.deepEqual(written.frames.map((f) => path.basename(f)), ['0001.png', '0002.png', '0003.png']);
    assert.equal(fs.readFileSync(path.join(root, 'Toy', 'groundtruth_rect.txt'), 'utf8').split('\n')[1], '2,3,3,4');
    const s = await new OtbDataset(root).sequence('Toy');
    assert.equal(s.frames.length, 3);
    s.groundTruth.forEach((b, i) => {
      for (const k of ['x', 'y', 'width', 'height'] as const) assert.ok(Math.abs(b[k] - gt[i][k]) < 1e-3, `${i} ${k}`);
    });
    for (let i = 0; i < 3; i++) assert.deepEqual((await readFrame(s.frames[i])).data, frames[i].data);
    await assert.rejects(writeOtbSequence(path.join(root, 'Bad'), { groundTruth: gt }, frames.slice(0, 2)), /2 frames for 3 boxes/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

async function seqDir(root: string, name: string, nFrames: number, gtText: string | null, skip: number[] = []): Promise<string> {
  const jpg = await tinyJpeg();
  const d = path.join(root, name);
  fs.mkdirSync(path.join(d, 'img'), { recursive: true });
  for (let k = 1; k <= nFrames; k++) if (!skip.includes(k)) fs.writeFileSync(path.join(d, 'img', `${String(k).padStart(4, '0')}.jpg`), jpg);
  if (gtText !== null) fs.writeFileSync(path.join(d, 'groundtruth_rect.txt'), gtText);
  return d;
}

test('bad OTB input: each error names the file (and line)', async () => {
  const root = tmp();
  try {
    await seqDir(root, 'Three', 2, '1,2,3,4\n1,2,3\n');
    await seqDir(root, 'Text', 2, '1,2,3,4\nbox,2,3,4\n');
    await seqDir(root, 'NaNs', 2, '1,2,3,4\n1,NaN,3,4\n');
    await seqDir(root, 'Empty', 2, '');
    await seqDir(root, 'Gap', 3, '1,1,2,2\n1,1,2,2\n1,1,2,2\n', [2]);
    await seqDir(root, 'Short', 2, '1,1,2,2\n1,1,2,2\n1,1,2,2\n');
    await seqDir(root, 'Long', 3, '1,1,2,2\n');
    await seqDir(root, 'NoGt', 2, null);
    fs.writeFileSync(path.join(root, 'NoGt', 'groundtruth_rect.txt.bak'), '');
    const ds = new OtbDataset(root);
    const gt = (n: string) => path.join(root, n, 'groundtruth_rect.txt');
    const cases: [string, string][] = [
      ['Three', `${gt('Three')}:2: expected 4 or 8 numbers per box, got 3 in "1,2,3"`],
      ['Text', `${gt('Text')}:2: "box" is not a finite number`],
      ['NaNs', `${gt('NaNs')}:2: "NaN" is not a finite number`],
      ['Empty', `${gt('Empty')}: the file is empty`],
      ['Gap', `${path.join(root, 'Gap', 'img', '0002.jpg')}: missing frame file`],
      ['Short', `${path.join(root, 'Short', 'img', '0003.jpg')}: missing frame file: groundtruth_rect.txt has 3 boxes but img/ has 2 frames`],
      ['Long', `${gt('Long')}: has 1 boxes but img/ has 3 frames`],
    ];
    for (const [name, msg] of cases) {
      await assert.rejects(ds.sequence(name), (e: unknown) => {
        assert.ok(e instanceof DatasetError, `${name}: DatasetError`);
        assert.ok(e.message.startsWith(msg), `${name}: got "${e.message}", expected to start with "${msg}"`);
        return true;
      });
    }
    // A folder with img/ but no ground truth is listed so that its problem is reported, not silently dropped.
    await assert.rejects(ds.sequence('NoGt'), new RegExp(`${gt('NoGt').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: file not found`));
    // Iterating with skipBad: every bad sequence is reported and none stops the loop.
    await seqDir(root, 'Good', 2, '1,1,2,2\n3,3,2,2\n');
    const ds2 = new OtbDataset(root);
    const skipped: SkippedSequence[] = [];
    const got: string[] = [];
    for await (const s of iterateSequences(ds2, { skipBad: true, skipped })) got.push(s.name);
    assert.deepEqual(got, ['Good']);
    assert.deepEqual(skipped.map((s) => s.name).sort(), ['Empty', 'Gap', 'Long', 'NaNs', 'NoGt', 'Short', 'Text', 'Three']);
    await assert.rejects(async () => { for await (const _ of iterateSequences(ds2)) void _; }, DatasetError);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a missing OTB root or a root without sequences is a clear error', () => {
  assert.throws(() => new OtbDataset('/nonexistent/otb'), /\/nonexistent\/otb: OTB root folder not found/);
  const root = tmp();
  try {
    assert.throws(() => new OtbDataset(root), /no OTB sequence folders/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
