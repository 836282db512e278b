/**
 * Training curves from a run's log.jsonl: the loss components per step (moving average) and the validation AUC per
 * validation, written as `<out>/curves/loss.{svg,png}` and `<out>/curves/validation.{svg,png}`. Lines that are not
 * JSON (a log cut by a crash) are skipped.
 */
import { readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { lineChartSvg, type Series } from '../eval/plot/svg.js';
import { writePlot } from '../eval/plots.js';

interface StepRecord { step: number; losses: Record<string, number> }
interface ValidationRecord { step: number; epoch: number; auc: number; perDelta: Record<string, number> }

/** Parse the step and validation events of a log (the last record wins for a step repeated after a resume). */
export function parseLog(text: string): { steps: StepRecord[]; validations: ValidationRecord[] } {
  const steps = new Map<number, StepRecord>();
  const validations = new Map<number, ValidationRecord>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (rec.event === 'step' && typeof rec.step === 'number' && rec.losses && typeof rec.losses === 'object') {
      steps.set(rec.step, { step: rec.step, losses: rec.losses as Record<string, number> });
    } else if (rec.event === 'validation' && typeof rec.step === 'number' && typeof rec.auc === 'number') {
      validations.set(rec.step, rec as unknown as ValidationRecord);
    }
  }
  const byStep = <T extends { step: number }>(m: Map<number, T>) => [...m.values()].sort((a, b) => a.step - b.step);
  return { steps: byStep(steps), validations: byStep(validations) };
}

/** Trailing moving average over `window` points. */
export function movingAverage(y: readonly number[], window: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    sum += y[i];
    if (i >= window) sum -= y[i - window];
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}

const pad = (lo: number, hi: number): [number, number] => (hi > lo ? [lo, hi] : [lo - 0.5, hi + 0.5]);

/** Round tick positions (1, 2 or 5 × 10^k apart, about `count` of them) within [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 8): number[] {
  const raw = (hi - lo) / Math.max(1, count);
  if (!(raw > 0)) return [lo];
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** The two charts as SVG text (null when the log holds nothing to draw). */
export function curveSvgs(text: string, title: string): { loss: string | null; validation: string | null } {
  const { steps, validations } = parseLog(text);
  let loss: string | null = null;
  if (steps.length) {
    const names = [...new Set(steps.flatMap((s) => Object.keys(s.losses)))];
    const window = Math.max(1, Math.round(steps.length / 50));
    const series: Series[] = names.map((name) => {
      const pts = steps.filter((s) => Number.isFinite(s.losses[name]));
      return { label: `${name} (mean of ${window})`, x: pts.map((s) => s.step), y: movingAverage(pts.map((s) => s.losses[name]), window) };
    });
    const ys = series.flatMap((s) => s.y).filter((v) => v > 0);
    const yLog = ys.length > 0 && Math.max(...ys) / Math.min(...ys) > 30;
    loss = lineChartSvg(yLog ? series.map((s) => ({ ...s, y: s.y.map((v) => (v > 0 ? v : NaN)) })) : series, {
      title: `${title}: training loss`,
      xLabel: 'step',
      yLabel: 'loss',
      xRange: pad(Math.min(...steps.map((s) => s.step)), Math.max(...steps.map((s) => s.step))),
      xTicks: niceTicks(Math.min(...steps.map((s) => s.step)), Math.max(...steps.map((s) => s.step))),
      yRange: yLog ? [10 ** Math.floor(Math.log10(Math.min(...ys))), 10 ** Math.ceil(Math.log10(Math.max(...ys)))]
        : pad(Math.min(0, ...series.flatMap((s) => s.y)), Math.max(...series.flatMap((s) => s.y))),
      yLog,
    });
  }
  let validation: string | null = null;
  if (validations.length) {
    const deltas = [...new Set(validations.flatMap((v) => Object.keys(v.perDelta ?? {})))];
    const series: Series[] = [
      { label: 'mean', x: validations.map((v) => v.step), y: validations.map((v) => v.auc), markers: true },
      ...deltas.map((d) => ({ label: `Δ = ${d}°/frame`, x: validations.map((v) => v.step), y: validations.map((v) => v.perDelta?.[d] ?? NaN), markers: true })),
    ];
    const maxStep = Math.max(...validations.map((v) => v.step), ...steps.map((s) => s.step));
    validation = lineChartSvg(series, {
      title: `${title}: validation success AUC`,
      xLabel: 'step',
      yLabel: 'success AUC',
      xRange: pad(0, maxStep),
      xTicks: niceTicks(0, maxStep),
      yRange: [0, 1],
    });
  }
  return { loss, validation };
}

/** Write `<outDir>/curves/{loss,validation}.{svg,png}` from `<outDir>/log.jsonl`; returns the files written. */
export async function writeCurves(outDir: string, title: string, png = true): Promise<string[]> {
  const text = await readFile(path.join(outDir, 'log.jsonl'), 'utf8');
  const { loss, validation } = curveSvgs(text, title);
  const dir = path.join(outDir, 'curves');
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  if (loss) files.push(...(await writePlot(loss, path.join(dir, 'loss'), png)));
  if (validation) files.push(...(await writePlot(validation, path.join(dir, 'validation'), png)));
  return files;
}
