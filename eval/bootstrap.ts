/**
 * Bootstrap intervals over sequences, so a reader sees which differences between trackers are noise: the sequences
 * of a benchmark are resampled with replacement (B = 2000 times, seeded) and the mean per-sequence score recomputed.
 * `paired` resamples the same sequences for two trackers and takes the difference of their means, which is much
 * tighter than comparing two separate intervals when sequences differ in difficulty.
 */
import { mulberry32 } from '../tracker/random.js';
import type { TrackerEvaluation } from './metrics.js';

/** A mean with its percentile bootstrap interval. */
export interface Interval {
  mean: number;
  lo: number;
  hi: number;
}

/** Resamples and the interval level used by reports. */
export const BOOTSTRAP = { resamples: 2000, level: 0.95, seed: 20240607 } as const;

function percentile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < sorted.length ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i];
}

/**
 * Percentile bootstrap of the mean of `values` (one per sequence): `[lo, hi]` at `level`. With one value the interval
 * is that value; with none, NaN.
 */
export function bootstrapMean(values: readonly number[], opts: Partial<typeof BOOTSTRAP> = {}): Interval {
  const { resamples, level, seed } = { ...BOOTSTRAP, ...opts };
  const n = values.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const rnd = mulberry32(seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[Math.min(n - 1, Math.floor(rnd() * n))];
    means[b] = s / n;
  }
  means.sort();
  const a = (1 - level) / 2;
  return { mean, lo: percentile(means, a), hi: percentile(means, 1 - a) };
}

/** Paired bootstrap of mean(a − b) over sequences (`a[i]`, `b[i]` the same sequence). */
export function pairedBootstrap(a: readonly number[], b: readonly number[], opts: Partial<typeof BOOTSTRAP> = {}): Interval {
  if (a.length !== b.length) throw new Error(`paired bootstrap: ${a.length} against ${b.length} sequences`);
  return bootstrapMean(a.map((v, i) => v - b[i]), opts);
}

/** Per-sequence success AUCs of `e` in the order of `names` (NaN when a sequence is missing). */
export function sequenceAucs(e: TrackerEvaluation, names: readonly string[]): number[] {
  const by = new Map(e.sequences.map((s) => [s.name, s.successAuc]));
  return names.map((n) => by.get(n) ?? NaN);
}

/** Success AUC and precision@20 intervals of one tracker over its sequences. */
export function trackerIntervals(e: TrackerEvaluation): { successAuc: Interval; precision: Interval } {
  return {
    successAuc: bootstrapMean(e.sequences.map((s) => s.successAuc)),
    precision: bootstrapMean(e.sequences.map((s) => s.precision)),
  };
}

/**
 * Paired success-AUC differences of every tracker against `reference`, over the sequences both have; the difference
 * is "clear" when its interval excludes 0.
 */
export function pairedAgainst(evals: readonly TrackerEvaluation[], reference: string): { tracker: string; diff: Interval; sequences: number }[] {
  const ref = evals.find((e) => e.tracker === reference);
  if (!ref) return [];
  return evals.filter((e) => e !== ref).map((e) => {
    const names = e.sequences.map((s) => s.name).filter((n) => ref.sequences.some((r) => r.name === n));
    return { tracker: e.tracker, diff: pairedBootstrap(sequenceAucs(e, names), sequenceAucs(ref, names)), sequences: names.length };
  });
}
