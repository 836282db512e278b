// Result files in the got10k toolkit layout: format, 1-based/0-based conversion, atomic writes, readable errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Box } from '../../tracker/geometry.js';
import {
  ResultFileError,
  ResultStore,
  evaluateResultFiles,
  formatBoxes,
  formatFixed,
  formatTimes,
  listTrackers,
  parseBoxes,
} from '../../eval/results.js';

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rot-track-eval-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('formatFixed writes like C printf %.3f (ties to even on the exact binary value)', () => {
  assert.equal(formatFixed(0.0625), '0.062'); // exact tie: printf → even 2; toFixed would give 0.063
  assert.equal(formatFixed(0.1875), '0.188'); // exact tie: even is 8
  assert.equal(formatFixed(-0.0625), '-0.062');
  assert.equal(formatFixed(1.0005), '1.000'); // 1.0005 is stored as 1.000499999… → not a tie
  assert.equal(formatFixed(2.5, 0), '2');
  assert.equal(formatFixed(12), '12.000');
  assert.equal(formatFixed(NaN), 'nan');
  assert.equal(formatFixed(0.001, 8), '0.00100000');
});

test('boxes are written 1-based (OTB convention) with %.3f and read back 0-based', async () => {
  // 0-based (9.5, 19.25) → 1-based (10.5, 20.25); sizes unchanged.
  const boxes: Box[] = [
    { x: 9.5, y: 19.25, width: 30.125, height: 40 },
    { x: -2, y: 0, width: 1.0625, height: 7.3333333 },
  ];
  assert.equal(formatBoxes(boxes), '10.500,20.250,30.125,40.000\n-1.000,1.000,1.062,7.333\n');
  await withTmp(async (dir) => {
    const store = new ResultStore(dir, 'OTB2015', 'siamfc');
    await store.write('Crossing', { boxes, times: [0.5, 0.125] });
    assert.equal(store.boxFile('Crossing'), join(dir, 'OTB2015', 'siamfc', 'Crossing.txt'));
    assert.equal(store.timeFile('Crossing'), join(dir, 'OTB2015', 'siamfc', 'times', 'Crossing_time.txt'));
    assert.equal(await readFile(store.timeFile('Crossing'), 'utf8'), '0.50000000\n0.12500000\n');
    const back = await store.read('Crossing');
    assert.deepEqual(back.boxes[0], boxes[0]);
    assert.deepEqual(back.boxes[1], { x: -2, y: 0, width: 1.062, height: 7.333 });
    assert.deepEqual(back.times, [0.5, 0.125]);
    // a 0-based store writes the numbers unchanged
    const zero = new ResultStore(dir, 'GOT10k', 'siamfc', { oneBased: false });
    await zero.write('a', { boxes: [boxes[0]] });
    assert.equal(await readFile(zero.boxFile('a'), 'utf8'), '9.500,19.250,30.125,40.000\n');
    assert.equal((await zero.read('a')).times, null);
    assert.deepEqual(await listTrackers(dir, 'OTB2015'), ['siamfc']);
    assert.deepEqual(await store.sequences(), ['Crossing']);
  });
});

test('a result file equal to the 1-based ground truth scores as a perfect tracker (convention check)', async () => {
  // The toolkit compares file rows with the raw 1-based ground truth. Our tracker's 0-based boxes equal to
  // fromOtb(gt) must therefore be written as the gt numbers: perfect → AUC 20/21. Writing them 0-based would shift
  // every box by 1 px and the AUC would drop.
  await withTmp(async (dir) => {
    const gt0: Box[] = [
      { x: 204, y: 150, width: 17, height: 50 },
      { x: 201, y: 149, width: 19, height: 49 },
      { x: 200, y: 149, width: 18, height: 49 },
    ];
    await new ResultStore(dir, 'OTB2015', 'ours').write('Crossing', { boxes: gt0, times: [1, 1, 1] });
    // a file as the Python toolkit would write it for the same boxes (1-based, %.3f)
    await mkdir(join(dir, 'OTB2015', 'python'), { recursive: true });
    await writeFile(
      join(dir, 'OTB2015', 'python', 'Crossing.txt'),
      '205.000,151.000,17.000,50.000\n202.000,150.000,19.000,49.000\n201.000,150.000,18.000,49.000\n',
    );
    const [ours, python] = await evaluateResultFiles(dir, 'OTB2015', ['ours', 'python'], new Map([['Crossing', gt0]]));
    assert.ok(Math.abs(ours.overall.successAuc - 20 / 21) < 1e-12);
    assert.ok(Math.abs(python.overall.successAuc - 20 / 21) < 1e-12);
    assert.equal(ours.overall.fps, 1);
    assert.equal(python.overall.fps, null);
    assert.equal(
      await readFile(join(dir, 'OTB2015', 'ours', 'Crossing.txt'), 'utf8'),
      await readFile(join(dir, 'OTB2015', 'python', 'Crossing.txt'), 'utf8'),
    );
  });
});

test('the reader tolerates commas, tabs, spaces, blank lines, comments and nan', () => {
  const b = parseBoxes('1\t2\t3\t4\n5 6  7 8\r\n9, 10 ,11,12\n\n# comment\nnan,1,1,1\n', 'x.txt');
  assert.equal(b.length, 4);
  assert.deepEqual(b[0], { x: 0, y: 1, width: 3, height: 4 });
  assert.deepEqual(b[1], { x: 4, y: 5, width: 7, height: 8 });
  assert.deepEqual(b[2], { x: 8, y: 9, width: 11, height: 12 });
  assert.ok(Number.isNaN(b[3].x));
});

test('an unparsable result file gives an error naming the file and line', async () => {
  await withTmp(async (dir) => {
    const store = new ResultStore(dir, 'OTB2015', 't');
    await mkdir(store.dir, { recursive: true });
    await writeFile(store.boxFile('Bad'), '1,2,3,4\n\n5,6,x7,8\n');
    await assert.rejects(store.read('Bad'), (err: unknown) => {
      assert.ok(err instanceof ResultFileError);
      assert.equal(err.file, store.boxFile('Bad'));
      assert.equal(err.line, 3); // the blank line 2 still counts
      assert.match(err.message, /Bad\.txt:3: not a number: "x7"/);
      return true;
    });
    await writeFile(store.boxFile('Short'), '1,2,3\n');
    await assert.rejects(store.read('Short'), /Short\.txt:1: expected 4 numbers, got 3/);
    await assert.rejects(store.read('Missing'), /Missing\.txt: cannot read result file \(ENOENT\)/);
    await writeFile(store.boxFile('Empty'), '\n');
    await assert.rejects(store.read('Empty'), /Empty\.txt: result file holds no boxes/);
    assert.equal(await store.isComplete('Bad', 2), false);
  });
});

test('atomic write: a write that throws leaves no file (and no temp file); an old file stays intact', async () => {
  await withTmp(async (dir) => {
    const store = new ResultStore(dir, 'OTB2015', 't');
    const good: Box = { x: 0, y: 0, width: 5, height: 5 };
    // formatting the second box throws (undefined) in the middle of producing the text
    const bad = [good, undefined as unknown as Box];
    await assert.rejects(store.write('Seq', { boxes: bad }));
    assert.deepEqual(await readdir(store.dir).catch(() => []), []);
    // an existing complete file is not replaced by a failed write
    await store.write('Seq', { boxes: [good] });
    await assert.rejects(store.write('Seq', { boxes: bad }));
    assert.equal(await readFile(store.boxFile('Seq'), 'utf8'), '1.000,1.000,5.000,5.000\n');
    assert.deepEqual(await readdir(store.dir), ['Seq.txt']);
  });
});

test('atomic write: when the rename fails the temp file is removed', async () => {
  await withTmp(async (dir) => {
    const store = new ResultStore(dir, 'OTB2015', 't');
    // a non-empty folder where the result file should go makes rename fail
    await mkdir(join(store.boxFile('Seq'), 'x'), { recursive: true });
    await assert.rejects(store.write('Seq', { boxes: [{ x: 0, y: 0, width: 1, height: 1 }] }));
    assert.deepEqual((await readdir(store.dir)).sort(), ['Seq.txt']); // only the folder we made
  });
});

test('isComplete: right number of boxes and times', async () => {
  await withTmp(async (dir) => {
    const store = new ResultStore(dir, 'OTB2015', 't');
    const boxes = Array.from({ length: 5 }, (_, i) => ({ x: i, y: 0, width: 4, height: 4 }));
    assert.equal(await store.isComplete('S', 5), false);
    await store.write('S', { boxes, times: [1, 1, 1, 1, 1] });
    assert.equal(await store.isComplete('S', 5), true);
    assert.equal(await store.isComplete('S', 6), false);
    // a times file of another length (e.g. left from an interrupted earlier run) → incomplete
    await writeFile(store.timeFile('S'), formatTimes([1, 1]));
    assert.equal(await store.isComplete('S', 5), false);
    assert.throws(() => store.boxFile('../evil'), /invalid sequence name/);
    await assert.rejects(store.write('T', { boxes, times: [1] }), /5 boxes but 1 times/);
  });
});

test('evaluateResultFiles: missing file is an error, skipMissing keeps the common sequences', async () => {
  await withTmp(async (dir) => {
    const gtBox: Box = { x: 0, y: 0, width: 10, height: 10 };
    const gt = new Map([
      ['A', [gtBox, gtBox]],
      ['B', [gtBox, gtBox]],
    ]);
    await new ResultStore(dir, 'B1', 'x').write('A', { boxes: [gtBox, gtBox] });
    await new ResultStore(dir, 'B1', 'x').write('B', { boxes: [gtBox, gtBox] });
    await new ResultStore(dir, 'B1', 'y').write('A', { boxes: [gtBox, gtBox] });
    await assert.rejects(evaluateResultFiles(dir, 'B1', ['x', 'y'], gt), /y[/\\]B\.txt: cannot read/);
    const warnings: string[] = [];
    const evals = await evaluateResultFiles(dir, 'B1', ['x', 'y'], gt, { skipMissing: true, warn: (m) => warnings.push(m) });
    assert.deepEqual(evals.map((e) => e.sequences.map((s) => s.name)), [['A'], ['A']]);
    assert.deepEqual(warnings, ['B: skipped, no result file for y']);
  });
});
