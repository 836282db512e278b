// report.md / report.json / plot files written by writeReport, and the report CLI end to end on temp folders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Box } from '../../tracker/geometry.js';
import { evaluateTracker } from '../../eval/metrics.js';
import { formatParams, renderMarkdown, writeReport } from '../../eval/report.js';
import { ResultStore } from '../../eval/results.js';
import { loadGroundTruth, main, parseCli } from '../../eval/cli/report.js';

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rot-track-report-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const box = (x: number, y = 0): Box => ({ x, y, width: 10, height: 10 });
const rep = (b: Box, n: number): Box[] => Array.from({ length: n }, () => ({ ...b }));

// perfect: AUC 20/21 = 0.952, precision 1. shift5 (10 frames): AUC 8.3/21 = 0.395, precision@20 1,
// normalised precision@0.2 = 0.1, precision AUC 46.5/51 = 0.912.
const perfect = evaluateTracker('perfect', [{ name: 'S', boxes: rep(box(0), 10), groundTruth: rep(box(0), 10), times: [0.5, 0.5] }]);
const shift5 = evaluateTracker('shift5', [{ name: 'S', boxes: rep(box(5), 10), groundTruth: rep(box(0), 10) }]);

test('formatParams', () => {
  assert.equal(formatParams(2336736), '2.34 M');
  assert.equal(formatParams(45600), '45.6 k');
  assert.equal(formatParams(789), '789');
  assert.equal(formatParams(undefined), '–');
});

test('writeReport: markdown tables, JSON, plots of the requested size', async () => {
  await withTmp(async (dir) => {
    const files = await writeReport(
      {
        benchmark: 'RotOTB-d0.5',
        evaluations: [shift5, perfect],
        meta: {
          perfect: { channelsPercent: 69, params: 1611000, backend: 'wasm', equivarianceError: [0.31, 0.052], layerNames: ['conv1', 'conv2'] },
        },
        robustness: [{ tracker: 'perfect', points: [{ delta: 0, successAuc: 0.6 }, { delta: 1, successAuc: 0.4 }] }],
      },
      dir,
      { plotSize: { width: 640, height: 400 } },
    );
    const names = (await readdir(dir)).sort();
    assert.deepEqual(names, [
      'equivariance.png', 'equivariance.svg', 'norm_precision.png', 'norm_precision.svg', 'precision.png',
      'precision.svg', 'report.json', 'report.md', 'robustness.png', 'robustness.svg', 'success.png', 'success.svg',
    ]);
    assert.equal(files.length, 12);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    // ranked by success AUC; fps of perfect = mean(1/0.5, 1/0.5) = 2.0
    // one sequence: every bootstrap interval is the point itself
    assert.match(md, /\| perfect \| 0\.952 \| \[0\.952, 0\.952\] \| 1\.000 \| \[1\.000, 1\.000\] \| 1\.000 \| 1\.000 \| 2\.0 \| 69% \| 1\.61 M \| wasm \|\n\| shift5 \| 0\.395 \| \[0\.395, 0\.395\] \| 1\.000 \| \[1\.000, 1\.000\] \| 0\.100 \| 0\.912 \| – \| – \| – \| – \|/);
    assert.match(md, /\| S \| 10 \| 0\.952 \/ 1\.000 \| 0\.395 \/ 1\.000 \|/);
    assert.match(md, /\| perfect \| 3\.10e-1 \| 5\.20e-2 \|/);
    assert.match(md, /\| perfect \| 0\.600 \| 0\.400 \|/);
    assert.match(md, /!\[Success plot\]\(success\.png\)/);
    const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'));
    assert.equal(json.trackers[0].tracker, 'perfect');
    assert.ok(Math.abs(json.trackers[1].overall.successAuc - 8.3 / 21) < 1e-12);
    assert.equal(json.trackers[1].overall.fps, null);
    assert.equal(json.trackers[0].overall.successCurve.length, 21);
    assert.equal(json.trackers[0].meta.backend, 'wasm');
    const meta = await sharp(join(dir, 'success.png')).metadata();
    assert.deepEqual([meta.width, meta.height], [640, 400]);
  });
});

test('renderMarkdown lists warnings and embeds SVG when asked', () => {
  const short = evaluateTracker('t', [{ name: 'Q', boxes: rep(box(0), 3), groundTruth: rep(box(0), 4) }]);
  const md = renderMarkdown({ benchmark: 'B', evaluations: [short] }, [{ base: 'success', title: 'Success plot' }], 'svg');
  assert.match(md, /## Warnings\n\n- t\/Q: result has 3 boxes but the ground truth has 4; scoring the first 3/);
  assert.match(md, /\(success\.svg\)/);
  assert.ok(!/Equivariance/.test(md));
});

/** An OTB-layout ground-truth folder and result files for two trackers. */
async function fixture(dir: string): Promise<{ gt: string; results: string }> {
  const gt = join(dir, 'otb');
  // SeqA: comma-separated, 1-based (1,1,10,10) = 0-based (0,0,10,10), 10 frames; SeqB: tab-separated, 4 frames.
  await mkdir(join(gt, 'SeqA'), { recursive: true });
  await writeFile(join(gt, 'SeqA', 'groundtruth_rect.txt'), '1,1,10,10\n'.repeat(10));
  await mkdir(join(gt, 'SeqB'), { recursive: true });
  await writeFile(join(gt, 'SeqB', 'groundtruth_rect.txt'), '21\t11\t10\t10\n'.repeat(4));
  const results = join(dir, 'results');
  const perfectStore = new ResultStore(results, 'OTB2015', 'perfect');
  await perfectStore.write('SeqA', { boxes: rep(box(0), 10), times: Array(10).fill(0.1) });
  await perfectStore.write('SeqB', { boxes: rep(box(20, 10), 4), times: Array(4).fill(0.05) });
  const shiftStore = new ResultStore(results, 'OTB2015', 'shift');
  await shiftStore.write('SeqA', { boxes: rep(box(5), 10) });
  await shiftStore.write('SeqB', { boxes: rep(box(25, 10), 4) });
  return { gt, results };
}

test('loadGroundTruth: OTB folder names as the toolkit (empty files dropped, several targets numbered)', async () => {
  await withTmp(async (dir) => {
    await mkdir(join(dir, 'Jogging'));
    await writeFile(join(dir, 'Jogging', 'groundtruth_rect.1.txt'), '1,1,5,5\n');
    await writeFile(join(dir, 'Jogging', 'groundtruth_rect.2.txt'), '2 2 6 6\n');
    await mkdir(join(dir, 'Human4'));
    await writeFile(join(dir, 'Human4', 'groundtruth_rect.1.txt'), '\n');
    await writeFile(join(dir, 'Human4', 'groundtruth_rect.2.txt'), '3,3,7,7\n');
    await writeFile(join(dir, 'Human4', 'groundtruth_original.txt'), 'ignored\n');
    const gt = await loadGroundTruth(dir);
    assert.deepEqual([...gt.keys()], ['Human4', 'Jogging.1', 'Jogging.2']);
    assert.deepEqual(gt.get('Jogging.2'), [{ x: 1, y: 1, width: 6, height: 6 }]);
    assert.deepEqual(gt.get('Human4'), [{ x: 2, y: 2, width: 7, height: 7 }]);
    await writeFile(join(dir, 'Jogging', 'groundtruth_rect.1.txt'), '1,1,5,5\n1,1,5\n');
    await assert.rejects(loadGroundTruth(dir), /groundtruth_rect\.1\.txt:2: expected 4 numbers, got 3/);
  });
});

test('CLI: --help, usage errors', async () => {
  const out: string[] = [];
  const err: string[] = [];
  assert.equal(await main(['--help'], (s) => out.push(s), (s) => err.push(s)), 0);
  assert.match(out.join(''), /Usage: .*--results <dir> --gt <path> --benchmark <name> --out <dir>/);
  assert.equal(await main(['--results', 'r', '--benchmark', 'B', '--out', 'o'], () => {}, (s) => err.push(s)), 2);
  assert.match(err.join(''), /gt: --gt is required/);
  assert.equal(await main(['--bogus'], () => {}, (s) => err.push(s)), 2);
  assert.match(err.join(''), /Unknown option '--bogus'/);
  assert.throws(() => parseCli(['--results', 'r', '--gt', 'g', '--benchmark', 'a/b', '--out', 'o']), /folder name/);
  assert.deepEqual(parseCli(['--results', 'r', '--gt', 'g', '--benchmark', 'B', '--out', 'o', '--trackers', 'a, b,'])?.trackers, ['a', 'b']);
});

test('CLI: scores result files against an OTB folder and a JSON file alike', async () => {
  await withTmp(async (dir) => {
    const { gt, results } = await fixture(dir);
    const log: string[] = [];
    const err: string[] = [];
    const out = join(dir, 'report');
    const code = await main(['--results', results, '--gt', gt, '--benchmark', 'OTB2015', '--out', out, '--no-png'], (s) => log.push(s), (s) => err.push(s));
    assert.equal(code, 0, err.join('\n'));
    // perfect: 20/21 on both; shift: SeqA 8.3/21 (see metrics tests), SeqB (4 frames, shift 5 → IoU 1/3):
    // 7 thresholds all frames, 13 only frame 0 (1/4) → (7 + 3.25)/21 = 10.25/21; mean = (8.3 + 10.25)/42 = 18.55/42.
    // fps: perfect SeqA 10, SeqB 20 → 15; shift has no times → null.
    const json = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    const byName = Object.fromEntries(json.trackers.map((t: { tracker: string }) => [t.tracker, t]));
    assert.ok(Math.abs(byName.perfect.overall.successAuc - 20 / 21) < 1e-12);
    assert.ok(Math.abs(byName.shift.overall.successAuc - 18.55 / 42) < 1e-12);
    assert.ok(Math.abs(byName.perfect.overall.fps - 15) < 1e-9);
    assert.equal(byName.shift.overall.fps, null);
    assert.ok(!(await readdir(out)).some((f) => f.endsWith('.png')));
    assert.match(log.join('\n'), /perfect: success AUC 0\.952, precision@20 1\.000, fps 15\.0 \(2 sequences\)/);

    // the same ground truth as JSON (1-based) gives the same numbers
    const gtJson = join(dir, 'gt.json');
    await writeFile(gtJson, JSON.stringify({ SeqA: Array(10).fill([1, 1, 10, 10]), SeqB: Array(4).fill([21, 11, 10, 10]) }));
    const out2 = join(dir, 'report2');
    assert.equal(await main(['--results', results, '--gt', gtJson, '--benchmark', 'OTB2015', '--out', out2, '--trackers', 'shift', '--no-png'], () => {}, () => {}), 0);
    const json2 = JSON.parse(await readFile(join(out2, 'report.json'), 'utf8'));
    assert.equal(json2.trackers.length, 1);
    assert.equal(json2.trackers[0].overall.successAuc, byName.shift.overall.successAuc);
  });
});

test('CLI: a missing result file fails naming it; --skip-missing scores the common sequences', async () => {
  await withTmp(async (dir) => {
    const { gt, results } = await fixture(dir);
    await rm(join(results, 'OTB2015', 'shift', 'SeqB.txt'));
    const err: string[] = [];
    const args = ['--results', results, '--gt', gt, '--benchmark', 'OTB2015', '--out', join(dir, 'r'), '--no-png'];
    assert.equal(await main(args, () => {}, (s) => err.push(s)), 1);
    assert.match(err.join('\n'), /shift[/\\]SeqB\.txt: cannot read result file/);
    err.length = 0;
    assert.equal(await main([...args, '--skip-missing'], () => {}, (s) => err.push(s)), 0);
    assert.match(err.join('\n'), /warning: SeqB: skipped, no result file for shift/);
    const json = JSON.parse(await readFile(join(dir, 'r', 'report.json'), 'utf8'));
    assert.deepEqual(json.trackers.map((t: { sequences: { name: string }[] }) => t.sequences.map((s) => s.name)), [['SeqA'], ['SeqA']]);
  });
});

test('CLI: bad --meta is rejected naming the field', async () => {
  await withTmp(async (dir) => {
    const { gt, results } = await fixture(dir);
    const meta = join(dir, 'meta.json');
    await writeFile(meta, JSON.stringify({ perfect: { params: 'many' } }));
    const err: string[] = [];
    const code = await main(['--results', results, '--gt', gt, '--benchmark', 'OTB2015', '--out', join(dir, 'r'), '--meta', meta], () => {}, (s) => err.push(s));
    assert.equal(code, 1);
    assert.match(err.join('\n'), /--meta .*meta\.json: perfect\.params: Expected number, received string/);
  });
});
