import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapMean, pairedAgainst, pairedBootstrap } from '../../eval/bootstrap.js';
import { renderMarkdown } from '../../eval/report.js';
import type { SequenceScores, TrackerEvaluation } from '../../eval/metrics.js';

function evaluation(tracker: string, aucs: number[]): TrackerEvaluation {
  const sequences = aucs.map((a, i) => ({ name: `S${i}`, frames: 10, successAuc: a, precision: a, successCurve: [], precisionCurve: [], normPrecisionCurve: [],
    successRate: a, precisionAuc: a, normPrecision: a, normPrecisionAuc: a, fps: null } as SequenceScores));
  const mean = aucs.reduce((s, v) => s + v, 0) / aucs.length;
  return { tracker, sequences, warnings: [], overall: { ...sequences[0], successAuc: mean, precisionCurve: new Array(51).fill(mean) } };
}

test('bootstrap of the mean: a constant has a point interval; the interval holds the mean and widens with spread; seeded', () => {
  const c = bootstrapMean([0.25, 0.25, 0.25]);
  assert.deepEqual(c, { mean: 0.25, lo: 0.25, hi: 0.25 });
  const narrow = bootstrapMean([0.50, 0.52, 0.48, 0.51, 0.49, 0.50]);
  const wide = bootstrapMean([0.1, 0.9, 0.2, 0.8, 0.3, 0.7]);
  assert.ok(narrow.lo <= narrow.mean && narrow.mean <= narrow.hi);
  assert.ok(wide.hi - wide.lo > 5 * (narrow.hi - narrow.lo));
  assert.deepEqual(bootstrapMean([0.1, 0.9, 0.2]), bootstrapMean([0.1, 0.9, 0.2]));
  assert.ok(Number.isNaN(bootstrapMean([]).mean));
});

test('paired bootstrap sees a consistent small gain that separate intervals hide', () => {
  const base = [0.2, 0.8, 0.4, 0.6, 0.3, 0.7, 0.5, 0.45];
  const better = base.map((v) => v + 0.02);
  const sep = [bootstrapMean(base), bootstrapMean(better)];
  assert.ok(sep[1].lo < sep[0].hi, 'separate intervals overlap');
  const d = pairedBootstrap(better, base);
  assert.ok(Math.abs(d.mean - 0.02) < 1e-12 && d.lo > 0.019 && d.hi < 0.021);
  assert.throws(() => pairedBootstrap([1], [1, 2]), /1 against 2 sequences/);
});

test('the report shows intervals and the paired difference against template-matching', () => {
  const tm = evaluation('template-matching', [0.3, 0.4, 0.35, 0.5]);
  const good = evaluation('ien-siamfc', [0.5, 0.6, 0.55, 0.7]);
  const same = evaluation('siamfc', [0.35, 0.35, 0.4, 0.45]);
  const p = pairedAgainst([tm, good, same], 'template-matching');
  assert.equal(p.find((x) => x.tracker === 'ien-siamfc')!.diff.lo > 0, true);
  const md = renderMarkdown({ benchmark: 'B', evaluations: [tm, good, same] });
  assert.match(md, /AUC 95% CI/);
  assert.match(md, /\| ien-siamfc \| \+0\.200 \| \[\+0\.200, \+0\.200\] \| 4 \| better \|/);
  assert.match(md, /\| siamfc \| \+0\.000 \| \[-0\.050, \+0\.050\] \| 4 \| no \|/);
});
