// OTB OPE metrics on hand-made cases; every expected number is worked out by hand in the comments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Box } from '../../tracker/geometry.js';
import {
  NORM_PRECISION_THRESHOLDS,
  SUCCESS_THRESHOLDS,
  evaluateSequence,
  evaluateTracker,
  sequenceFps,
  toolkitNormalizedCenterError,
} from '../../eval/metrics.js';

const box = (x: number, y: number, width = 10, height = 10): Box => ({ x, y, width, height });
const repeat = (b: Box, n: number): Box[] => Array.from({ length: n }, () => ({ ...b }));
const close = (a: number, b: number, msg?: string): void => assert.ok(Math.abs(a - b) < 1e-12, msg ?? `${a} ≠ ${b}`);
const closeArr = (a: number[], b: number[]): void => {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => close(v, b[i], `index ${i}: ${v} ≠ ${b[i]}`));
};

test('thresholds are numpy linspace values', () => {
  assert.equal(SUCCESS_THRESHOLDS.length, 21);
  assert.equal(SUCCESS_THRESHOLDS[0], 0);
  assert.equal(SUCCESS_THRESHOLDS[20], 1);
  // numpy: 6 * 0.05, not 0.3
  assert.equal(SUCCESS_THRESHOLDS[6], 0.30000000000000004);
  assert.equal(NORM_PRECISION_THRESHOLDS.length, 51);
  assert.equal(NORM_PRECISION_THRESHOLDS[20], 0.2);
  assert.equal(NORM_PRECISION_THRESHOLDS[50], 0.5);
});

test('perfect tracker: success AUC 20/21, precision 1', () => {
  // IoU = 1 in every frame; 1 > t for the 20 thresholds 0..0.95, not for t = 1 → AUC = 20/21.
  const gt = Array.from({ length: 7 }, (_, i) => box(3 * i, 2 * i, 12, 8));
  const s = evaluateSequence({ name: 'p', boxes: gt.map((b) => ({ ...b })), groundTruth: gt });
  closeArr(s.successCurve, [...Array(20).fill(1), 0]);
  close(s.successAuc, 20 / 21);
  close(s.successRate, 1);
  assert.equal(s.precision, 1);
  assert.ok(s.precisionCurve.every((v) => v === 1)); // centre error 0 ≤ 0 already
  assert.equal(s.precisionAuc, 1);
  assert.equal(s.normPrecision, 1);
  assert.equal(s.frames, 7);
});

test('constant shift of 5 px on a 10×10 box: IoU 1/3, precision curve 1/N below 5 px', () => {
  // N = 10 frames, gt (0,0,10,10), result shifted by +5 in x: intersection 5×10 = 50, union 100+100−50 = 150 → 1/3.
  // Frame 0 is forced to the ground truth (IoU 1, error 0).
  // Success: thresholds 0, 0.05, …, 0.30 (7 of them) are < 1/3 → all 10 frames pass → 1;
  //          thresholds 0.35 … 0.95 (13) → only frame 0 → 1/10; threshold 1 → 0.
  //          AUC = (7·1 + 13·0.1 + 0) / 21 = 8.3/21.
  // Precision: centre error 5 px (frames 1–9), 0 (frame 0): t = 0..4 → 1/10, t ≥ 5 → 1.
  //            precision@20 = 1; precision AUC = (5·0.1 + 46·1)/51 = 46.5/51.
  // Normalised: offset 5/10 = 0.5 → passes only t = 0.5 (the last threshold, exactly 0.5):
  //            curve 0.1 at i = 0..49, 1 at i = 50; score@0.2 = 0.1; AUC = (50·0.1 + 1)/51 = 6/51.
  const n = 10;
  const gt = repeat(box(0, 0), n);
  const s = evaluateSequence({ name: 'shift', boxes: repeat(box(5, 0), n), groundTruth: gt });
  closeArr(s.successCurve, [...Array(7).fill(1), ...Array(13).fill(0.1), 0]);
  close(s.successAuc, 8.3 / 21);
  closeArr(s.precisionCurve, [...Array(5).fill(0.1), ...Array(46).fill(1)]);
  assert.equal(s.precision, 1);
  close(s.precisionAuc, 46.5 / 51);
  closeArr(s.normPrecisionCurve, [...Array(50).fill(0.1), 1]);
  close(s.normPrecision, 0.1);
  close(s.normPrecisionAuc, 6 / 51);
});

test('a tracker that loses the target halfway', () => {
  // 10 frames: 0–4 exact, 5–9 at (200, 200): IoU 0, centre error √(200²+200²) ≈ 283 px > 50.
  // Success: 5/10 at the 20 thresholds < 1, 0 at 1 → AUC = 20·0.5/21 = 10/21. Precision 0.5 at every threshold.
  const gt = repeat(box(20, 30), 10);
  const boxes = [...repeat(box(20, 30), 5), ...repeat(box(200, 200), 5)];
  const s = evaluateSequence({ name: 'lost', boxes, groundTruth: gt });
  close(s.successAuc, 10 / 21);
  assert.ok(s.precisionCurve.every((v) => v === 0.5));
  assert.equal(s.precision, 0.5);
  assert.equal(s.precisionAuc, 0.5);
});

test('touching boxes have zero overlap and fail even the threshold 0 (strictly greater)', () => {
  // 4 frames; result (10,0,10,10) touches gt (0,0,10,10): intersection width 0 → IoU 0, and 0 > 0 is false.
  // Only the forced frame 0 succeeds: 1/4 at the 20 thresholds < 1 → AUC = 20/(4·21) = 5/21.
  // Centre error 10 px: precision 1/4 for t = 0..9, 1 for t ≥ 10.
  const gt = repeat(box(0, 0), 4);
  const s = evaluateSequence({ name: 'touch', boxes: repeat(box(10, 0), 4), groundTruth: gt });
  assert.equal(s.successCurve[0], 0.25);
  close(s.successAuc, 5 / 21);
  closeArr(s.precisionCurve, [...Array(10).fill(0.25), ...Array(41).fill(1)]);
});

test('result shorter or longer than the ground truth: truncated to the shorter with a warning', () => {
  const gt = repeat(box(0, 0), 10);
  const warnings: string[] = [];
  const short = evaluateSequence({ name: 'short', boxes: repeat(box(0, 0), 6), groundTruth: gt }, (m) => warnings.push(m));
  assert.equal(short.frames, 6);
  close(short.successAuc, 20 / 21);
  // the longer result's extra boxes are far away: if they were scored the AUC would drop below 20/21
  const long = evaluateSequence(
    { name: 'long', boxes: [...repeat(box(0, 0), 10), ...repeat(box(500, 500), 5)], groundTruth: gt },
    (m) => warnings.push(m),
  );
  assert.equal(long.frames, 10);
  close(long.successAuc, 20 / 21);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /short: result has 6 boxes but the ground truth has 10; scoring the first 6/);
  assert.match(warnings[1], /long: result has 15 boxes/);
});

test('an empty result is an error naming the sequence', () => {
  assert.throws(() => evaluateSequence({ name: 'Empty', boxes: [], groundTruth: [box(0, 0)] }), /Empty: .*no boxes/);
});

test('averaging over sequences, not frames', () => {
  // A: 2 frames, perfect → AUC_A = 20/21.
  // B: 8 frames, frame 0 forced, frames 1–7 far away → 1/8 at the 20 thresholds < 1 → AUC_B = 20/(8·21) = 2.5/21.
  // Mean over sequences = (20 + 2.5)/(2·21) = 11.25/21 ≈ 0.536; pooled over the 10 frames it would be
  // 3/10 · 20/21 = 6/21 ≈ 0.286.
  const a = { name: 'A', boxes: repeat(box(0, 0), 2), groundTruth: repeat(box(0, 0), 2) };
  const b = { name: 'B', boxes: repeat(box(300, 300), 8), groundTruth: repeat(box(0, 0), 8) };
  const warnings: string[] = [];
  const e = evaluateTracker('t', [a, b], (m) => warnings.push(m));
  close(e.sequences[0].successAuc, 20 / 21);
  close(e.sequences[1].successAuc, 2.5 / 21);
  close(e.overall.successAuc, 11.25 / 21);
  // overall precision@20: A 1, B 1/8 → 9/16
  close(e.overall.precision, 9 / 16);
  close(e.overall.successCurve[3], (1 + 1 / 8) / 2);
  assert.deepEqual(warnings, []);
  assert.deepEqual(e.warnings, []);
});

test('speed: mean of 1/t per sequence (init included, t ≤ 0 dropped), then mean over sequences with times', () => {
  // S1: t = 0.5, 0.25, 0.25 → 1/t = 2, 4, 4 → 10/3 fps (not 1/mean(t) = 3).
  // S2: t = 0.1, 0, −1 → only 0.1 counts → 10 fps.  S3: no times → null, left out of the mean.
  // Overall = (10/3 + 10)/2 = 20/3.
  close(sequenceFps([0.5, 0.25, 0.25]) as number, 10 / 3);
  assert.equal(sequenceFps([0, -1]), null);
  assert.equal(sequenceFps(null), null);
  const seq = (name: string, times: number[] | null) => ({
    name,
    boxes: repeat(box(0, 0), 3),
    groundTruth: repeat(box(0, 0), 3),
    times,
  });
  const e = evaluateTracker('t', [seq('S1', [0.5, 0.25, 0.25]), seq('S2', [0.1, 0, -1]), seq('S3', null)]);
  close(e.sequences[0].fps as number, 10 / 3);
  close(e.sequences[1].fps as number, 10);
  assert.equal(e.sequences[2].fps, null);
  close(e.overall.fps as number, 20 / 3);
  assert.equal(evaluateTracker('t', [seq('S3', null)]).overall.fps, null);
});

test('NaN ground truth counts as a failure in every curve (as the toolkit OTB experiment)', () => {
  // 4 frames, all exact except that the ground truth of frame 2 is NaN: IoU NaN/0 and centre error NaN fail every
  // threshold; the frame stays in the denominator → success 3/4 (< 1), precision 3/4 everywhere.
  const gt = repeat(box(0, 0), 4);
  gt[2] = { x: NaN, y: NaN, width: NaN, height: NaN };
  const s = evaluateSequence({ name: 'nan', boxes: repeat(box(0, 0), 4), groundTruth: gt });
  closeArr(s.successCurve, [...Array(20).fill(0.75), 0]);
  assert.ok(s.precisionCurve.every((v) => v === 0.75));
  assert.ok(s.normPrecisionCurve.every((v) => v === 0.75));
});

test('zero-size ground truth: IoU 0 (success failure) but the centre error still counts for precision', () => {
  // Frame 3's ground truth is 0×0 at (5,5) and the result equals it: union 0 → IoU 0 (numpy: 0/(0+eps) = 0);
  // centre error 0 → passes precision. Success 3/4 below 1, precision 1. Normalised error: offsets / max(1, 0) = 0.
  const gt = repeat(box(0, 0), 4);
  gt[3] = box(5, 5, 0, 0);
  const s = evaluateSequence({ name: 'zero', boxes: gt.map((b) => ({ ...b })), groundTruth: gt });
  closeArr(s.successCurve, [...Array(20).fill(0.75), 0]);
  assert.equal(s.precision, 1);
  assert.equal(s.normPrecision, 1);
});

test('normalised centre error divides by max(1, gt size) per axis', () => {
  // centres: gt (0,0,40,20) → (19.5, 9.5); pred (4,−3,40,20) → (23.5, 6.5); offsets 4/40 = 0.1, −3/20 = −0.15
  // → √(0.01 + 0.0225) = √0.0325.
  close(toolkitNormalizedCenterError(box(4, -3, 40, 20), box(0, 0, 40, 20)), Math.sqrt(0.0325));
  // 0.5-px-wide gt: divide by 1, not 0.5 → offset 2 px stays 2
  close(toolkitNormalizedCenterError(box(2, 0, 0.5, 10), box(0, 0, 0.5, 10)), 2);
});

test('the first frame is forced to the ground truth', () => {
  // 2 frames; the result's frame 0 is garbage but replaced by the gt; frame 1 exact → perfect.
  const gt = repeat(box(0, 0), 2);
  const s = evaluateSequence({ name: 'f0', boxes: [box(400, 400), box(0, 0)], groundTruth: gt });
  close(s.successAuc, 20 / 21);
  assert.equal(s.precision, 1);
});
