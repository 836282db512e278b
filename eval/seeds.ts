/**
 * Results over training seeds: trackers named `<config>-s<seed>` (optionally `+rot<T>` after) are runs of one config;
 * each config gets the mean and standard deviation over seeds of its success AUC and precision@20, and a bootstrap
 * interval over sequences of its seed-averaged per-sequence AUC; two configs are compared paired over the same
 * sequences (seed-averaged). Trackers without a seed suffix are a config of one run.
 */
import { bootstrapMean, pairedBootstrap, type Interval } from './bootstrap.js';

/** What a report.json holds of one tracker (eval/report.ts). */
export interface ReportTracker {
  tracker: string;
  meta?: { equivarianceError?: number[]; equivarianceErrorNormalised?: number[]; layerNames?: string[]; params?: number };
  overall: { successAuc: number; precision: number };
  sequences: { name: string; successAuc: number; precision: number }[];
}

/** One config of a benchmark over its seeds. */
export interface ConfigSummary {
  config: string;
  seeds: string[];
  auc: { mean: number; sd: number };
  precision: { mean: number; sd: number };
  /** Bootstrap interval over sequences of the seed-averaged per-sequence AUC. */
  interval: Interval;
  /** Per-layer equivariance error, mean over seeds (absolute and ÷ σ²), when the reports have it. */
  lg?: { layers: string[]; absolute: number[]; normalised: number[] };
  /** Seed-averaged AUC per sequence name. */
  perSequence: Map<string, number>;
}

/** `<config>-s<seed>[+rot<T>]` → config `<config>[+rot<T>]` and the seed; other names are their own config. */
export function splitSeed(name: string): { config: string; seed: string } {
  const m = /^(.*)-s(\d+)(\+rot\d+)?$/.exec(name);
  return m ? { config: `${m[1]}${m[3] ?? ''}`, seed: m[2] } : { config: name, seed: '' };
}

const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
/** Sample standard deviation (n − 1); 0 for one value. */
export function sampleSd(v: readonly number[]): number {
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}

/** Group a benchmark's trackers into configs (in first-seen order). */
export function summariseConfigs(trackers: readonly ReportTracker[]): ConfigSummary[] {
  const groups = new Map<string, ReportTracker[]>();
  for (const t of trackers) {
    const { config } = splitSeed(t.tracker);
    groups.set(config, [...(groups.get(config) ?? []), t]);
  }
  return [...groups].map(([config, runs]) => {
    const names = runs[0].sequences.map((s) => s.name).filter((n) => runs.every((r) => r.sequences.some((s) => s.name === n)));
    const perSequence = new Map(names.map((n) => [n, mean(runs.map((r) => r.sequences.find((s) => s.name === n)!.successAuc))]));
    const aucs = runs.map((r) => r.overall.successAuc);
    const precs = runs.map((r) => r.overall.precision);
    const withLg = runs.filter((r) => r.meta?.equivarianceError?.length);
    const lg = withLg.length
      ? {
        layers: withLg[0].meta!.layerNames ?? withLg[0].meta!.equivarianceError!.map((_, i) => `layer${i + 1}`),
        absolute: withLg[0].meta!.equivarianceError!.map((_, i) => mean(withLg.map((r) => r.meta!.equivarianceError![i]))),
        normalised: withLg[0].meta!.equivarianceErrorNormalised?.map((_, i) => mean(withLg.map((r) => r.meta!.equivarianceErrorNormalised![i]))) ?? [],
      }
      : undefined;
    return {
      config,
      seeds: runs.map((r) => splitSeed(r.tracker).seed || '—'),
      auc: { mean: mean(aucs), sd: sampleSd(aucs) },
      precision: { mean: mean(precs), sd: sampleSd(precs) },
      interval: bootstrapMean([...perSequence.values()]),
      lg,
      perSequence,
    };
  });
}

/** Paired difference a − b of seed-averaged per-sequence AUCs over the sequences both have. */
export function pairedConfigs(a: ConfigSummary, b: ConfigSummary): Interval & { sequences: number } {
  const names = [...a.perSequence.keys()].filter((n) => b.perSequence.has(n));
  if (!names.length) throw new Error(`${a.config} and ${b.config} share no sequence`);
  const i = pairedBootstrap(names.map((n) => a.perSequence.get(n)!), names.map((n) => b.perSequence.get(n)!));
  return { ...i, sequences: names.length };
}
