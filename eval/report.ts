/**
 * The evaluation report: `report.md` (summary table, per-sequence table, equivariance-error and robustness tables),
 * `report.json` (everything, curves included) and the plots (SVG + PNG) written next to them.
 */
import { join } from 'node:path';
import { PRECISION_SCORE_INDEX, type TrackerEvaluation } from './metrics.js';
import {
  type EquivarianceSeries,
  type PlotOptions,
  type RobustnessSeries,
  equivariancePlotSvg,
  normPrecisionPlotSvg,
  precisionPlotSvg,
  robustnessPlotSvg,
  successPlotSvg,
  writePlot,
} from './plots.js';
import { writeFileAtomic } from './results.js';
import { BOOTSTRAP, type Interval, pairedAgainst, trackerIntervals } from './bootstrap.js';

/** Optional facts about a tracker shown in the report. */
export interface TrackerMeta {
  /** Share of the baseline's channels the model uses, percent (e.g. 69 for Het-SiamFC). */
  channelsPercent?: number;
  /** Number of trainable parameters. */
  params?: number;
  /** tfjs backend the run used (`cpu`, `wasm`, `tensorflow`). */
  backend?: string;
  /** Equivariance error L_G per layer: the absolute MSE of the pooled features (their units²). */
  equivarianceError?: number[];
  /** L_G per layer divided by the per-channel variance of the unrotated features (unitless; ~1 = unrelated). */
  equivarianceErrorNormalised?: number[];
  /** Names of the layers of `equivarianceError`. */
  layerNames?: string[];
}

/** Everything a report is made from. */
export interface ReportInput {
  /** Benchmark name (`OTB2015`, `RotOTB-d0.5`, …). */
  benchmark: string;
  /** One evaluation per tracker (all on the same sequences for a fair comparison). */
  evaluations: TrackerEvaluation[];
  /** Metadata keyed by tracker name. */
  meta?: Record<string, TrackerMeta>;
  /** Success AUC against rotation rate Δ, one series per tracker (the Rot-OTB sweep). */
  robustness?: RobustnessSeries[];
  /** Title of report.md; default `Evaluation on <benchmark>`. */
  title?: string;
  /** Tracker the others are compared with by paired bootstrap; default `template-matching` when evaluated. */
  reference?: string;
}

/** Options of `writeReport`. */
export interface WriteReportOptions {
  /** Also write PNG versions of the plots (default true). */
  png?: boolean;
  /** Plot size in pixels (default 720 × 480). */
  plotSize?: PlotOptions;
}

/** Definitions printed in the report and stored in report.json, so every number says what it is. */
export const METRIC_DEFINITIONS: Record<string, string> = {
  intervals:
    `95% CI: percentile bootstrap over sequences (${BOOTSTRAP.resamples} resamples, seeded) of the mean per-sequence score; paired intervals resample the same sequences for both trackers.`,
  successAuc:
    'Success AUC: mean of the success curve at the 21 IoU thresholds linspace(0, 1, 21); a frame succeeds when IoU > threshold (got10k toolkit, OTB OPE).',
  precision: 'Precision@20px: fraction of frames with centre error ≤ 20 px.',
  normPrecision:
    'Normalised precision@0.2: fraction of frames whose centre offset divided per axis by max(1, ground-truth width/height) has norm ≤ 0.2 (curve over linspace(0, 0.5, 51); value at index 20 as pysot reports it).',
  normPrecisionAuc: 'Normalised precision AUC: mean of that 51-point curve (got10k LaSOT normalized_precision_score).',
  precisionAuc: 'Precision AUC: mean of the 51-point precision curve over 0..50 px.',
  fps: 'FPS: per sequence the mean of 1/t over frames (init included), then the mean over sequences.',
  averaging:
    'First frame forced to the ground truth; curves computed per sequence, then averaged over sequences (not pooled over frames).',
};

const signed = (v: number): string => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(3)}` : '–');
const ciText = (i: Interval, sign = false): string =>
  Number.isFinite(i.lo) ? `[${sign ? signed(i.lo) : i.lo.toFixed(3)}, ${sign ? signed(i.hi) : i.hi.toFixed(3)}]` : '–';
const n3 = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(3));
const n1 = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(1));

/** Parameter count for humans: `1.23 M`, `45.6 k`, `789`. */
export function formatParams(p: number | undefined): string {
  if (p === undefined || !Number.isFinite(p)) return '–';
  if (p >= 1e6) return `${(p / 1e6).toFixed(2)} M`;
  if (p >= 1e3) return `${(p / 1e3).toFixed(1)} k`;
  return String(p);
}

/** Escape a cell for a markdown table. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const sep = header.map((_, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? '---:' : '---'));
  return [header, sep, ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n') + '\n';
}

/** Evaluations sorted by success AUC (best first, ties in input order). */
function ranked(evals: TrackerEvaluation[]): TrackerEvaluation[] {
  return evals
    .map((e, i) => ({ e, i }))
    .sort((a, b) => b.e.overall.successAuc - a.e.overall.successAuc || a.i - b.i)
    .map((x) => x.e);
}

/** Equivariance series from the trackers' metadata (those that have `equivarianceError`). */
export function equivarianceSeries(input: ReportInput): EquivarianceSeries[] {
  const out: EquivarianceSeries[] = [];
  for (const [tracker, m] of Object.entries(input.meta ?? {})) {
    if (m.equivarianceError && m.equivarianceError.length) {
      out.push({ tracker, errors: m.equivarianceError, layers: m.layerNames });
    }
  }
  return out;
}

/** A plot a report embeds: file base name (no extension) and title. */
export interface PlotRef {
  base: string;
  title: string;
}

/** report.md text. `plots` are the base names written next to it; `ext` the image extension to embed. */
export function renderMarkdown(input: ReportInput, plots: PlotRef[] = [], ext = 'png'): string {
  const evals = ranked(input.evaluations);
  const meta = input.meta ?? {};
  const out: string[] = [];
  out.push(`# ${input.title ?? `Evaluation on ${input.benchmark}`}\n`);
  const nSeq = new Set(evals.flatMap((e) => e.sequences.map((s) => s.name))).size;
  out.push(
    `Benchmark \`${input.benchmark}\`, ${evals.length} tracker(s), ${nSeq} sequence(s). One-pass evaluation (OPE) ` +
      'as the got10k toolkit computes it.\n',
  );
  out.push('## Summary\n');
  out.push(
    table(
      ['Tracker', 'Success AUC', 'AUC 95% CI', 'Precision@20px', 'Prec. 95% CI', 'Norm. precision@0.2', 'Precision AUC', 'FPS', 'Channels %', 'Params', 'Backend'],
      evals.map((e) => {
        const m = meta[e.tracker] ?? {};
        const ci = trackerIntervals(e);
        return [
          e.tracker,
          n3(e.overall.successAuc),
          ciText(ci.successAuc),
          n3(e.overall.precisionCurve[PRECISION_SCORE_INDEX]),
          ciText(ci.precision),
          n3(e.overall.normPrecision),
          n3(e.overall.precisionAuc),
          n1(e.overall.fps),
          m.channelsPercent === undefined ? '–' : `${m.channelsPercent}%`,
          formatParams(m.params),
          m.backend ?? '–',
        ];
      }),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
  );
  const reference = input.reference ?? (evals.some((e) => e.tracker === 'template-matching') ? 'template-matching' : undefined);
  const paired = reference ? pairedAgainst(evals, reference) : [];
  if (paired.length) {
    out.push(`Paired difference of success AUC against \`${reference}\` (same sequences resampled for both; ` +
      'a difference is clear when its interval excludes 0):\n');
    out.push(table(
      ['Tracker', `AUC − ${reference}`, '95% CI', 'Sequences', 'Clear?'],
      paired.map((p) => [p.tracker, signed(p.diff.mean), ciText(p.diff, true), String(p.sequences),
        p.diff.lo > 0 ? 'better' : p.diff.hi < 0 ? 'worse' : 'no']),
      ['l', 'r', 'r', 'r', 'l'],
    ));
  }
  out.push('Definitions:\n');
  for (const d of Object.values(METRIC_DEFINITIONS)) out.push(`- ${d}`);
  out.push('');

  if (plots.length) {
    out.push('## Plots\n');
    for (const p of plots) out.push(`![${p.title}](${p.base}.${ext})\n`);
  }

  out.push('## Per sequence (success AUC / precision@20px)\n');
  const seqNames: string[] = [];
  for (const e of input.evaluations) for (const s of e.sequences) if (!seqNames.includes(s.name)) seqNames.push(s.name);
  out.push(
    table(
      ['Sequence', 'Frames', ...evals.map((e) => e.tracker)],
      seqNames.map((name) => {
        const frames = input.evaluations.map((e) => e.sequences.find((s) => s.name === name)?.frames).find((f) => f);
        return [
          name,
          String(frames ?? '–'),
          ...evals.map((e) => {
            const s = e.sequences.find((q) => q.name === name);
            return s ? `${n3(s.successAuc)} / ${n3(s.precision)}` : '–';
          }),
        ];
      }),
    ),
  );

  const eq = equivarianceSeries(input);
  if (eq.length) {
    out.push('## Equivariance error per layer (L_G)\n');
    const nLayers = Math.max(...eq.map((s) => s.errors.length));
    const names = eq.find((s) => s.layers?.length === nLayers)?.layers ??
      Array.from({ length: nLayers }, (_, i) => `L${i + 1}`);
    // the normalised error (÷ the unrotated features' variance) next to each layer's absolute one, when any is known
    const rel = eq.map((s) => meta[s.tracker]?.equivarianceErrorNormalised);
    const withRel = rel.some((r) => r?.length);
    const e2 = (v: number | undefined) => (v === undefined ? '–' : v.toExponential(2));
    out.push(
      table(
        ['Tracker', ...names.flatMap((n) => (withRel ? [n, `${n} ÷ σ²`] : [n]))],
        eq.map((s, k) => [s.tracker, ...names.flatMap((_, i) => (withRel ? [e2(s.errors[i]), e2(rel[k]?.[i])] : [e2(s.errors[i])]))]),
      ),
    );
    if (withRel) {
      out.push('L_G: MSE between the pooled features of x and of the rotated x rotated back (absolute, features² units); ' +
        '÷ σ²: the same divided by the per-channel variance of the unrotated features (unitless, ~1 = unrelated).\n');
    }
  }

  if (input.robustness?.length) {
    out.push('## Robustness to rotation (success AUC against Δ °/frame)\n');
    const deltas = [...new Set(input.robustness.flatMap((s) => s.points.map((p) => p.delta)))].sort((a, b) => a - b);
    out.push(
      table(
        ['Tracker', ...deltas.map((d) => `Δ = ${d}`)],
        input.robustness.map((s) => [
          s.tracker,
          ...deltas.map((d) => n3(s.points.find((p) => p.delta === d)?.successAuc)),
        ]),
      ),
    );
  }

  const warnings = input.evaluations.flatMap((e) => e.warnings);
  if (warnings.length) {
    out.push('## Warnings\n');
    for (const w of warnings) out.push(`- ${w}`);
    out.push('');
  }
  return out.join('\n');
}

/** report.json content: definitions, per-tracker metadata, overall and per-sequence scores with curves. */
export function reportJson(input: ReportInput): Record<string, unknown> {
  return {
    benchmark: input.benchmark,
    definitions: METRIC_DEFINITIONS,
    trackers: ranked(input.evaluations).map((e) => ({
      tracker: e.tracker,
      meta: input.meta?.[e.tracker] ?? {},
      overall: e.overall,
      intervals: trackerIntervals(e),
      sequences: e.sequences,
      warnings: e.warnings,
    })),
    robustness: input.robustness ?? [],
  };
}

/**
 * Write report.md, report.json and the plots (success, precision, normalised precision; robustness and
 * equivariance when given) into `outDir`. Returns the paths written.
 */
export async function writeReport(input: ReportInput, outDir: string, options: WriteReportOptions = {}): Promise<string[]> {
  if (input.evaluations.length === 0) throw new Error('writeReport: no evaluations');
  const png = options.png ?? true;
  // one style per tracker across all plots: evaluation order, then trackers only known from robustness / metadata
  const order = [
    ...new Set([
      ...input.evaluations.map((e) => e.tracker),
      ...(input.robustness ?? []).map((r) => r.tracker),
      ...Object.keys(input.meta ?? {}),
    ]),
  ];
  const size: PlotOptions = { order, ...options.plotSize };
  const written: string[] = [];
  const plots: PlotRef[] = [];
  const add = async (base: string, title: string, svg: string): Promise<void> => {
    written.push(...(await writePlot(svg, join(outDir, base), png)));
    plots.push({ base, title });
  };
  const bench = input.benchmark;
  await add('success', 'Success plot', successPlotSvg(input.evaluations, size, `Success plots of OPE on ${bench}`));
  await add('precision', 'Precision plot', precisionPlotSvg(input.evaluations, size, `Precision plots of OPE on ${bench}`));
  await add(
    'norm_precision',
    'Normalised precision plot',
    normPrecisionPlotSvg(input.evaluations, size, `Normalized precision plots of OPE on ${bench}`),
  );
  if (input.robustness?.length) {
    await add('robustness', 'Robustness plot', robustnessPlotSvg(input.robustness, size));
  }
  const eq = equivarianceSeries(input);
  if (eq.length) await add('equivariance', 'Equivariance error per layer', equivariancePlotSvg(eq, size));

  const md = join(outDir, 'report.md');
  await writeFileAtomic(md, renderMarkdown(input, plots, png ? 'png' : 'svg'));
  const js = join(outDir, 'report.json');
  await writeFileAtomic(js, JSON.stringify(reportJson(input), null, 2) + '\n');
  written.push(md, js);
  return written;
}
