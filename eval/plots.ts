/**
 * The report's plots as SVG text (our own renderer, eval/plot/svg.ts) and PNG (sharp renders the SVG via librsvg):
 * OTB success and precision plots (legend "name [score]" sorted by that score, as the OTB papers and the got10k
 * toolkit draw them), the robustness plot (success AUC against rotation rate Δ) and the per-layer equivariance-error
 * plot (log scale).
 */
import sharp from 'sharp';
import {
  NORM_PRECISION_THRESHOLDS,
  PRECISION_SCORE_INDEX,
  PRECISION_THRESHOLDS,
  SUCCESS_THRESHOLDS,
  type TrackerEvaluation,
} from './metrics.js';
import { type Series, decadeTicks, lineChartSvg, linearTicks, textWidth } from './plot/svg.js';
import { writeFileAtomic } from './results.js';

/** Plot size in pixels (SVG user units = PNG pixels; default 720 × 480) and the tracker order fixing each style. */
export interface PlotOptions {
  width?: number;
  height?: number;
  /**
   * Tracker names in a fixed order: a tracker's colour and dash pattern are taken from its position here, so it looks
   * the same in every plot of a report (the legend is still sorted by score). Default: the order of the input.
   */
  order?: string[];
}

/** Style index of `name`: its position in `order` if listed, else `fallback`. */
function styleIndex(name: string, order: string[] | undefined, fallback: number): number {
  const k = order?.indexOf(name) ?? -1;
  return k >= 0 ? k : fallback;
}

/** Chart options without our `order` field. */
function dims(o: PlotOptions): { width?: number; height?: number } {
  return { width: o.width, height: o.height };
}

/** Success AUC of one tracker at one rotation rate. */
export interface RobustnessPoint {
  /** Rotation rate Δ in degrees per frame. */
  delta: number;
  /** Success AUC in [0, 1]. */
  successAuc: number;
}

/** One tracker's line in the robustness plot. */
export interface RobustnessSeries {
  tracker: string;
  points: RobustnessPoint[];
}

/** Per-layer equivariance error L_G of one tracker (or model). */
export interface EquivarianceSeries {
  tracker: string;
  /** L_G per layer (unitless relative error, > 0 for the log axis; non-positive values are left out of the line). */
  errors: number[];
  /** Layer names; default `L1, L2, …`. */
  layers?: string[];
}

/** Score with 3 decimals as the toolkit's legend writes it (`%.3f`). */
const s3 = (v: number): string => v.toFixed(3);

/** Items sorted by `key` (largest first, ties in input order), each with its input position. */
function sortedBy<T>(items: T[], key: (t: T) => number): { t: T; i: number }[] {
  return items.map((t, i) => ({ t, i })).sort((a, b) => key(b.t) - key(a.t) || a.i - b.i);
}

/** Success plot of OPE: success rate against overlap threshold 0–1; legend `name [AUC]`, sorted by AUC. */
export function successPlotSvg(evals: TrackerEvaluation[], options: PlotOptions = {}, title = 'Success plots of OPE'): string {
  const series: Series[] = sortedBy(evals, (e) => e.overall.successAuc).map(({ t: e, i }) => ({
    label: `${e.tracker} [${s3(e.overall.successAuc)}]`,
    x: [...SUCCESS_THRESHOLDS],
    y: e.overall.successCurve,
    style: styleIndex(e.tracker, options.order, i),
  }));
  return lineChartSvg(series, {
    title,
    xLabel: 'Overlap threshold',
    yLabel: 'Success rate',
    xRange: [0, 1],
    yRange: [0, 1],
    ...dims(options),
  });
}

/** Precision plot of OPE: precision against location error threshold 0–50 px; legend `name [precision@20]`, sorted. */
export function precisionPlotSvg(
  evals: TrackerEvaluation[],
  options: PlotOptions = {},
  title = 'Precision plots of OPE',
): string {
  const series: Series[] = sortedBy(evals, (e) => e.overall.precision).map(({ t: e, i }) => ({
    label: `${e.tracker} [${s3(e.overall.precisionCurve[PRECISION_SCORE_INDEX])}]`,
    x: [...PRECISION_THRESHOLDS],
    y: e.overall.precisionCurve,
    style: styleIndex(e.tracker, options.order, i),
  }));
  return lineChartSvg(series, {
    title,
    xLabel: 'Location error threshold (pixels)',
    yLabel: 'Precision',
    xRange: [0, 50],
    yRange: [0, 1],
    ...dims(options),
  });
}

/** Normalised precision plot: precision against normalised location error 0–0.5; legend `name [value at 0.2]`. */
export function normPrecisionPlotSvg(
  evals: TrackerEvaluation[],
  options: PlotOptions = {},
  title = 'Normalized precision plots of OPE',
): string {
  const series: Series[] = sortedBy(evals, (e) => e.overall.normPrecision).map(({ t: e, i }) => ({
    label: `${e.tracker} [${s3(e.overall.normPrecision)}]`,
    x: [...NORM_PRECISION_THRESHOLDS],
    y: e.overall.normPrecisionCurve,
    style: styleIndex(e.tracker, options.order, i),
  }));
  return lineChartSvg(series, {
    title,
    xLabel: 'Normalized location error threshold',
    yLabel: 'Normalized precision',
    xRange: [0, 0.5],
    yRange: [0, 1],
    ...dims(options),
  });
}

/** Robustness plot: success AUC against rotation rate Δ (°/frame), one line per tracker, legend sorted by mean AUC. */
export function robustnessPlotSvg(
  series: RobustnessSeries[],
  options: PlotOptions = {},
  title = 'Success AUC against rotation rate',
): string {
  if (series.length === 0) throw new Error('robustness plot: no series');
  const deltas = [...new Set(series.flatMap((s) => s.points.map((p) => p.delta)))].sort((a, b) => a - b);
  if (deltas.length === 0) throw new Error('robustness plot: no points');
  const meanAuc = (s: RobustnessSeries): number =>
    s.points.reduce((a, p) => a + p.successAuc, 0) / Math.max(1, s.points.length);
  const xMax = deltas[deltas.length - 1] > deltas[0] ? deltas[deltas.length - 1] : deltas[0] + 1;
  const lines: Series[] = sortedBy(series, meanAuc).map(({ t: s, i }) => {
    const pts = [...s.points].sort((a, b) => a.delta - b.delta);
    return {
      label: s.tracker,
      x: pts.map((p) => p.delta),
      y: pts.map((p) => p.successAuc),
      markers: true,
      style: styleIndex(s.tracker, options.order, i),
    };
  });
  return lineChartSvg(lines, {
    title,
    xLabel: 'Rotation rate Δ (°/frame)',
    yLabel: 'Success AUC',
    xRange: [deltas[0], xMax],
    yRange: [0, 1],
    xTicks: deltas.length > 1 ? deltas : linearTicks(deltas[0], xMax, 5),
    ...dims(options),
  });
}

/** Per-layer equivariance error L_G, log-scale y, one line with markers per tracker over the layer index. */
export function equivariancePlotSvg(
  series: EquivarianceSeries[],
  options: PlotOptions = {},
  title = 'Equivariance error per layer',
): string {
  if (series.length === 0) throw new Error('equivariance plot: no series');
  const nLayers = Math.max(...series.map((s) => s.errors.length));
  if (nLayers === 0) throw new Error('equivariance plot: no layers');
  const names = series.find((s) => s.layers && s.layers.length === nLayers)?.layers ??
    Array.from({ length: nLayers }, (_, i) => `L${i + 1}`);
  const positive = series.flatMap((s) => s.errors).filter((v) => Number.isFinite(v) && v > 0);
  const lo = positive.length ? 10 ** Math.floor(Math.log10(Math.min(...positive))) : 1e-3;
  let hi = positive.length ? 10 ** Math.ceil(Math.log10(Math.max(...positive))) : 1;
  if (hi <= lo) hi = lo * 10;
  const lines: Series[] = series.map((s, k) => ({
    label: s.tracker,
    x: s.errors.map((_, i) => i),
    y: s.errors,
    markers: true,
    style: styleIndex(s.tracker, options.order, k),
  }));
  const xTicks = Array.from({ length: nLayers }, (_, i) => i);
  return lineChartSvg(lines, {
    title,
    xLabel: 'Layer',
    yLabel: 'Equivariance error L_G (log scale)',
    xRange: nLayers > 1 ? [-0.3, nLayers - 0.7] : [-1, 1],
    yRange: [lo, hi],
    yLog: true,
    yTicks: decadeTicks(lo, hi),
    xTicks,
    xTickLabel: (v) => names[v] ?? '',
    // rotate layer names only when they would not fit side by side (plot area ≈ 60% of the width)
    rotateXTicks: Math.max(...names.map((n) => textWidth(n, 11))) > (0.6 * (options.width ?? 720)) / nLayers - 6,
    ...dims(options),
  });
}

/** Render SVG text to a PNG buffer of the SVG's own size (sharp → librsvg). */
export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Write `<base>.svg` and, unless `png` is false, `<base>.png`; returns the paths written. */
export async function writePlot(svg: string, base: string, png = true): Promise<string[]> {
  await writeFileAtomic(`${base}.svg`, svg);
  if (!png) return [`${base}.svg`];
  await writeFileAtomic(`${base}.png`, await svgToPng(svg));
  return [`${base}.svg`, `${base}.png`];
}
