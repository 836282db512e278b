/**
 * OTB one-pass-evaluation (OPE) metrics exactly as the got10k toolkit computes them (github.com/got-10k/toolkit,
 * `got10k/experiments/otb.py` `report` / `_calc_curves`, `got10k/utils/metrics.py`):
 *
 * - the first result box is replaced by the first ground-truth box before scoring, and that frame counts;
 * - a result longer or shorter than the ground truth is truncated to the shorter of the two, with a warning (the
 *   toolkit commits we read, 2b09e33 and 80c68c1, still `assert len(boxes) == len(anno)`; the derived report code
 *   used for LaSOT-style experiments prints "warning: <seq> anno donnot match boxes" and truncates to `len_min`);
 * - IoU on continuous boxes (`tracker/geometry.ts` `iou`; numpy divides by `union + eps`, which differs by < 1e-15
 *   relative and can only matter for an IoU within that distance of a threshold); success curve at the 21 thresholds `linspace(0, 1, 21)`,
 *   a frame succeeds when IoU is **strictly greater** than the threshold; success score (AUC) = mean of the 21 points;
 * - precision curve at 0, 1, …, 50 px, a frame counts when the centre error is ≤ the threshold; precision score =
 *   the curve at 20 px; precision AUC = mean of the 51 points (our name for the area under that curve);
 * - normalised precision (the TrackingNet / LaSOT metric): centre offset divided per axis by the ground-truth size,
 *   `max(1, w_gt)` and `max(1, h_gt)` as got10k `utils/metrics.py` `normalized_center_error` does, then the norm;
 *   curve over `linspace(0, 0.5, 51)` with ≤ (got10k `experiments/lasot.py` `_calc_curves`); normalised precision
 *   score = the curve at 0.2 (pysot's LaSOT report takes index 20); the got10k LaSOT report instead uses the mean of
 *   the curve, which we return as `normPrecisionAuc`;
 * - curves are computed per sequence and then averaged over sequences (every sequence weighs the same); overall
 *   scores are taken from the averaged curves (identical to averaging the per-sequence scores, all being linear);
 * - speed: per sequence the mean of 1/t over frames with t > 0 (init frame included); overall = mean over the
 *   sequences that have times (the toolkit's `sum(speeds) / count_nonzero(speeds)`); `null` where there are none.
 *
 * NaN and zero-size ground truth: the OTB experiment does not filter anything (only the LaSOT/GOT-10k experiments
 * drop NaN rows), so such frames stay in the denominator. A NaN box gives IoU NaN in numpy (0 here; both fail every
 * `>` threshold, including 0) and a NaN centre error (fails every `≤` threshold): the frame counts as a failure in
 * all curves. A zero-size ground-truth box gives IoU 0 (a failure in the success curve) while its centre error is
 * computed normally and can count for precision. We do exactly the same.
 */
import { type Box, centerError, iou, toCenter } from '../tracker/geometry.js';

/** Number of success-curve thresholds (got10k `nbins_iou`). */
export const SUCCESS_BINS = 21;
/** Number of precision-curve thresholds (got10k `nbins_ce`). */
export const PRECISION_BINS = 51;
/** Number of normalised-precision thresholds (got10k LaSOT `nbins_nce`). */
export const NORM_PRECISION_BINS = 51;

/** IoU thresholds `linspace(0, 1, 21)`, computed as numpy does (`i · 0.05`, last exactly 1). */
export const SUCCESS_THRESHOLDS: readonly number[] = linspace(0, 1, SUCCESS_BINS);
/** Centre-error thresholds 0, 1, …, 50 (pixels). */
export const PRECISION_THRESHOLDS: readonly number[] = Array.from({ length: PRECISION_BINS }, (_, i) => i);
/** Normalised centre-error thresholds `linspace(0, 0.5, 51)` (fractions of the ground-truth size). */
export const NORM_PRECISION_THRESHOLDS: readonly number[] = linspace(0, 0.5, NORM_PRECISION_BINS);
/** Index of 20 px in the precision curve (the precision score). */
export const PRECISION_SCORE_INDEX = 20;
/** Index of 0.2 in the normalised-precision curve (the normalised precision score). */
export const NORM_PRECISION_SCORE_INDEX = 20;
/** Index of 0.5 in the success curve (the toolkit's `success_rate`, OP50). */
export const SUCCESS_RATE_INDEX = Math.floor(SUCCESS_BINS / 2);

/** numpy's `linspace(start, stop, num)`: `start + i · step`, the last point set to `stop`. */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** Per-frame errors of a result against ground truth (same length). */
export interface FrameErrors {
  /** IoU per frame, in [0, 1]. */
  ious: number[];
  /** Centre error per frame, pixels. */
  centerErrors: number[];
  /** Centre error normalised by the ground-truth size per axis (`max(1, w)`, `max(1, h)`), unitless. */
  normCenterErrors: number[];
}

/** The got10k `normalized_center_error`: centre offsets divided by `max(1, gt size)` per axis, then the norm. */
export function toolkitNormalizedCenterError(pred: Box, gt: Box): number {
  const cp = toCenter(pred);
  const cg = toCenter(gt);
  return Math.hypot((cp.cx - cg.cx) / Math.max(1, gt.width), (cp.cy - cg.cy) / Math.max(1, gt.height));
}

/** IoU, centre error and normalised centre error per frame; `pred` and `gt` must have the same length. */
export function frameErrors(pred: Box[], gt: Box[]): FrameErrors {
  if (pred.length !== gt.length) throw new Error(`frameErrors: ${pred.length} boxes vs ${gt.length} ground truth`);
  return {
    ious: pred.map((p, i) => iou(p, gt[i])),
    centerErrors: pred.map((p, i) => centerError(p, gt[i])),
    normCenterErrors: pred.map((p, i) => toolkitNormalizedCenterError(p, gt[i])),
  };
}

/** Fraction of `values` passing `pass(value, threshold)` at each threshold; NaN values never pass. */
function curve(values: number[], thresholds: readonly number[], pass: (v: number, t: number) => boolean): number[] {
  const n = values.length;
  return thresholds.map((t) => {
    let k = 0;
    for (const v of values) if (pass(v, t)) k++;
    return n > 0 ? k / n : 0;
  });
}

/** Success curve: fraction of frames with IoU strictly greater than each of `SUCCESS_THRESHOLDS`. */
export function successCurve(ious: number[]): number[] {
  return curve(ious, SUCCESS_THRESHOLDS, (v, t) => v > t);
}

/** Precision curve: fraction of frames with centre error ≤ each of `PRECISION_THRESHOLDS` (pixels). */
export function precisionCurve(centerErrors: number[]): number[] {
  return curve(centerErrors, PRECISION_THRESHOLDS, (v, t) => v <= t);
}

/** Normalised precision curve: fraction of frames with normalised centre error ≤ each of `NORM_PRECISION_THRESHOLDS`. */
export function normPrecisionCurve(normCenterErrors: number[]): number[] {
  return curve(normCenterErrors, NORM_PRECISION_THRESHOLDS, (v, t) => v <= t);
}

/** Mean of an array (0 for an empty one). */
export function mean(a: readonly number[]): number {
  return a.length ? a.reduce((s, v) => s + v, 0) / a.length : 0;
}

/**
 * Speed of one sequence in frames per second: mean of `1 / t` over the frames with `t > 0` (seconds, init frame
 * included; NaN and non-positive times dropped, exactly the toolkit's `times[times > 0]`); null when none is left.
 */
export function sequenceFps(times: readonly number[] | null | undefined): number | null {
  const ok = (times ?? []).filter((t) => t > 0);
  return ok.length ? mean(ok.map((t) => 1 / t)) : null;
}

/** Curves and scores of one sequence, or averaged over sequences. */
export interface Scores {
  /** Success rate at each of `SUCCESS_THRESHOLDS` (21 values in [0, 1]). */
  successCurve: number[];
  /** Precision at each of `PRECISION_THRESHOLDS` (51 values in [0, 1]). */
  precisionCurve: number[];
  /** Normalised precision at each of `NORM_PRECISION_THRESHOLDS` (51 values in [0, 1]). */
  normPrecisionCurve: number[];
  /** Success AUC: mean of the success curve. */
  successAuc: number;
  /** Success rate at IoU 0.5 (the toolkit's `success_rate`). */
  successRate: number;
  /** Precision at 20 px. */
  precision: number;
  /** Precision-curve AUC: mean of the 51-point precision curve (0..50 px). */
  precisionAuc: number;
  /** Normalised precision at 0.2. */
  normPrecision: number;
  /** Normalised-precision AUC: mean of the 51-point normalised curve (got10k LaSOT's `normalized_precision_score`). */
  normPrecisionAuc: number;
  /** Frames per second (see `sequenceFps`); null when no times are known. */
  fps: number | null;
}

/** Scores of one sequence plus its name and the number of frames scored. */
export interface SequenceScores extends Scores {
  name: string;
  /** Frames scored (after truncation to the shorter of result and ground truth). */
  frames: number;
}

/** Evaluation of one tracker on a set of sequences. */
export interface TrackerEvaluation {
  tracker: string;
  /** Per-sequence scores, in the order the sequences were given. */
  sequences: SequenceScores[];
  /** Curves averaged over sequences and the scores taken from them; fps averaged over sequences with times. */
  overall: Scores;
  /** Warnings raised while scoring (length mismatches). */
  warnings: string[];
}

/** One sequence to score: result boxes (0-based), ground truth (0-based) and optional times (seconds). */
export interface SequenceInput {
  name: string;
  boxes: Box[];
  groundTruth: Box[];
  times?: number[] | null;
}

function scoresFromCurves(
  successCurve: number[],
  precisionCurve: number[],
  normPrecisionCurve: number[],
  fps: number | null,
): Scores {
  return {
    successCurve,
    precisionCurve,
    normPrecisionCurve,
    successAuc: mean(successCurve),
    successRate: successCurve[SUCCESS_RATE_INDEX],
    precision: precisionCurve[PRECISION_SCORE_INDEX],
    precisionAuc: mean(precisionCurve),
    normPrecision: normPrecisionCurve[NORM_PRECISION_SCORE_INDEX],
    normPrecisionAuc: mean(normPrecisionCurve),
    fps,
  };
}

/**
 * Score one sequence by the OTB rules: first box forced to the ground truth, lengths truncated to the shorter with a
 * warning passed to `warn`. Throws for an empty result or ground truth.
 */
export function evaluateSequence(input: SequenceInput, warn: (message: string) => void = () => {}): SequenceScores {
  const { name, groundTruth } = input;
  if (input.boxes.length === 0) throw new Error(`${name}: the result holds no boxes`);
  if (groundTruth.length === 0) throw new Error(`${name}: the ground truth holds no boxes`);
  const boxes = input.boxes.slice();
  boxes[0] = { ...groundTruth[0] };
  const n = Math.min(boxes.length, groundTruth.length);
  if (boxes.length !== groundTruth.length) {
    warn(`${name}: result has ${boxes.length} boxes but the ground truth has ${groundTruth.length}; scoring the first ${n}`);
  }
  const e = frameErrors(boxes.slice(0, n), groundTruth.slice(0, n));
  return {
    name,
    frames: n,
    ...scoresFromCurves(
      successCurve(e.ious),
      precisionCurve(e.centerErrors),
      normPrecisionCurve(e.normCenterErrors),
      sequenceFps(input.times),
    ),
  };
}

/** Element-wise mean of equal-length curves. */
function meanCurve(curves: number[][]): number[] {
  const len = curves[0].length;
  return Array.from({ length: len }, (_, i) => mean(curves.map((c) => c[i])));
}

/**
 * Score a tracker over sequences: per-sequence curves, then their mean over sequences (not pooled over frames).
 * Warnings are collected in the result and also passed to `warn` (e.g. `console.warn`).
 */
export function evaluateTracker(
  tracker: string,
  inputs: SequenceInput[],
  warn: (message: string) => void = () => {},
): TrackerEvaluation {
  if (inputs.length === 0) throw new Error(`${tracker}: no sequences to evaluate`);
  const warnings: string[] = [];
  const onWarn = (m: string): void => {
    const msg = `${tracker}/${m}`;
    warnings.push(msg);
    warn(msg);
  };
  const sequences = inputs.map((s) => evaluateSequence(s, onWarn));
  const speeds = sequences.map((s) => s.fps).filter((f): f is number => f !== null);
  const overall = scoresFromCurves(
    meanCurve(sequences.map((s) => s.successCurve)),
    meanCurve(sequences.map((s) => s.precisionCurve)),
    meanCurve(sequences.map((s) => s.normPrecisionCurve)),
    speeds.length ? mean(speeds) : null,
  );
  return { tracker, sequences, overall, warnings };
}
