import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatasetError, formatNumber, iterateSequences, parseIntLabels, parseNumberRows } from '../../data/gt-parse.js';
import type { Sequence, SequenceDataset } from '../../data/dataset.js';

const F = '/data/Seq/groundtruth_rect.txt';
const box = { counts: [4], what: 'box' } as const;

test('parses commas, tabs, spaces (mixed), CRLF and trailing blank lines', () => {
  const text = '1,2,3,4\r\n5\t6\t7\t8\r\n9 10  11\t12\r\n-1.5,2e1,0.25,.5\r\n\r\n  \n';
  assert.deepEqual(parseNumberRows(text, F, box), [
    [1, 2, 3, 4],
    [5, 6, 7, 8],
    [9, 10, 11, 12],
    [-1.5, 20, 0.25, 0.5],
  ]);
});

test('a byte-order mark and a final line without newline are fine', () => {
  assert.deepEqual(parseNumberRows('\uFEFF1,2,3,4\n5,6,7,8', F, box), [[1, 2, 3, 4], [5, 6, 7, 8]]);
});

function throwsAt(text: string, line: number | undefined, pattern: RegExp): void {
  assert.throws(
    () => parseNumberRows(text, F, box),
    (e: unknown) => {
      assert.ok(e instanceof DatasetError, 'DatasetError expected');
      assert.equal(e.file, F);
      assert.equal(e.line, line);
      assert.match(e.message, pattern);
      assert.ok(e.message.startsWith(line === undefined ? `${F}: ` : `${F}:${line}: `), e.message);
      return true;
    },
  );
}

test('a line with 3 numbers names the file and the 1-based line', () => {
  throwsAt('1,2,3,4\n5,6,7\n', 2, /expected 4 numbers per box, got 3 in "5,6,7"/);
});

test('text, NaN and Infinity are rejected with their line', () => {
  throwsAt('1,2,3,4\n1,2,3,4\nx,2,3,4\n', 3, /"x" is not a finite number/);
  throwsAt('NaN,2,3,4\n', 1, /"NaN" is not a finite number/);
  throwsAt('1,2,3,Infinity\n', 1, /"Infinity" is not a finite number/);
  throwsAt('1,2,3,0x10\n', 1, /"0x10" is not a finite number/);
});

test('an empty or whitespace-only file is an error naming the file', () => {
  throwsAt('', undefined, /the file is empty/);
  throwsAt('\r\n \n\t\n', undefined, /the file is empty/);
});

test('a blank line inside the ground truth is an error (it would shift every later box)', () => {
  throwsAt('1,2,3,4\n\n5,6,7,8\n', 2, /blank line inside/);
});

test('8-value polygons are accepted when asked for', () => {
  assert.deepEqual(parseNumberRows('1,2,3,4,5,6,7,8\n1,2,3,4\n', F, { counts: [4, 8] }), [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4]]);
});

test('integer labels: range and integrality checked per line', () => {
  assert.deepEqual(parseIntLabels('0\n8\n3\n', '/c/cover.label', 0, 8), [0, 8, 3]);
  assert.throws(() => parseIntLabels('0\n9\n', '/c/cover.label', 0, 8), /\/c\/cover\.label:2: label must be an integer in \[0, 8\], got 9/);
  assert.throws(() => parseIntLabels('0\n0.5\n', '/c/absence.label', 0, 1), /absence\.label:2: .*got 0\.5/);
});

test('formatNumber keeps 4 decimals and writes integers plainly', () => {
  assert.equal(formatNumber(205), '205');
  assert.equal(formatNumber(202.99934), '202.9993');
  assert.equal(formatNumber(-0.00001), '0');
  assert.throws(() => formatNumber(NaN), /non-finite/);
});

test('iterateSequences: skipBad reports the bad sequence and carries on; without it the error propagates', async () => {
  const ds: SequenceDataset = {
    name: 'fake',
    names: () => ['a', 'bad', 'c'],
    sequence: async (n: string): Promise<Sequence> => {
      if (n === 'bad') throw new DatasetError('/x/bad/groundtruth_rect.txt', 'expected 4 numbers', 7);
      return { name: n, frames: ['f'], groundTruth: [{ x: 0, y: 0, width: 1, height: 1 }], meta: {} };
    },
  };
  const skipped: { name: string; error: string }[] = [];
  const got: string[] = [];
  for await (const s of iterateSequences(ds, { skipBad: true, skipped })) got.push(s.name);
  assert.deepEqual(got, ['a', 'c']);
  assert.equal(skipped.length, 1);
  assert.equal(skipped[0].name, 'bad');
  assert.match(skipped[0].error, /groundtruth_rect\.txt:7: expected 4 numbers/);
  await assert.rejects(async () => {
    for await (const _ of iterateSequences(ds)) void _;
  }, /groundtruth_rect\.txt:7/);
});
