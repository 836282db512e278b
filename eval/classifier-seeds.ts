/**
 * Seed summary of the Rot-MNIST classifiers: runs named `<model>-s<seed>` are grouped by `<model>`; per group the
 * test accuracy as mean ± sample sd over seeds, the per-layer L_G (geometric mean over the six layers, absolute and
 * normalised by the feature variance) averaged over seeds, and the paper's accuracy when a reference gives one.
 */
import { readFile } from 'node:fs/promises';
import type { ClassifierEvalResult } from './classifier-report.js';

/** The paper's figure for one model of the summary (e.g. Table 5's CNN 96.3). */
export interface ReferenceRow {
  label: string;
  /** Accuracy in percent. */
  accuracy: number;
}

/** Reference figures keyed by model name (the run name without its `-s<seed>`). */
export interface ClassifierReference {
  source: string;
  models: Record<string, ReferenceRow>;
}

/** One model over its seeds. */
export interface SeedGroup {
  model: string;
  seeds: number[];
  accuracies: number[];
  accMean: number;
  /** Sample standard deviation over seeds (0 with one seed). */
  accSd: number;
  /** Geometric mean over layers of L_G (C4; S4 for Scale-MNIST, D4 for R2-MNIST runs), then mean over seeds. */
  lgGeo: number;
  /** Same for the variance-normalised L_G; undefined when a run lacks it. */
  lgVarGeo?: number;
}

const SEEDED = /^(.*)-s(\d+)$/;

/**
 * The L_G a result is summarised by: the S4 one for Scale-MNIST runs, D4 for R2-MNIST, else C4 (`variance`: the
 * normalised one).
 */
export function primaryLg(r: ClassifierEvalResult, variance = false): number[] {
  if (r.dataset === 'scale-mnist' && r.lgS4) return variance ? r.lgS4Variance ?? [] : r.lgS4;
  if (r.dataset === 'r2-mnist' && r.lgD4) return variance ? r.lgD4Variance ?? [] : r.lgD4;
  return variance ? r.lgC4Variance ?? [] : r.lgC4;
}

/** The model a run belongs to: its name without the `-s<seed>` suffix. */
export const modelOf = (name: string): string => SEEDED.exec(name)?.[1] ?? name;

/** Geometric mean (values floored at 1e-30; 1 for an empty list). */
export const geo = (xs: number[]): number => Math.exp(xs.reduce((a, v) => a + Math.log(Math.max(v, 1e-30)), 0) / Math.max(1, xs.length));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** `results` with the runs of one model next to each other, models in order of first appearance (stable). */
export function sortBySeedGroup(results: ClassifierEvalResult[]): ClassifierEvalResult[] {
  const first = new Map<string, number>();
  results.forEach((r, i) => first.has(modelOf(r.name)) || first.set(modelOf(r.name), i));
  return results.map((r, i) => ({ r, i }))
    .sort((a, b) => first.get(modelOf(a.r.name))! - first.get(modelOf(b.r.name))! || a.i - b.i).map((x) => x.r);
}

/** Group runs by model name (order of first appearance). A name without `-s<seed>` is its own group of seed 0. */
export function groupBySeed(results: ClassifierEvalResult[]): SeedGroup[] {
  const groups = new Map<string, ClassifierEvalResult[]>();
  const seedOf = new Map<ClassifierEvalResult, number>();
  for (const r of results) {
    const m = SEEDED.exec(r.name);
    const model = m ? m[1] : r.name;
    seedOf.set(r, m ? Number(m[2]) : 0);
    groups.set(model, [...(groups.get(model) ?? []), r]);
  }
  return [...groups].map(([model, rs]) => {
    const accs = rs.map((r) => r.accuracy * 100);
    const m = mean(accs);
    const sd = accs.length > 1 ? Math.sqrt(accs.reduce((a, v) => a + (v - m) ** 2, 0) / (accs.length - 1)) : 0;
    const vars = rs.map((r) => primaryLg(r, true));
    return {
      model, seeds: rs.map((r) => seedOf.get(r)!), accuracies: accs, accMean: m, accSd: sd,
      lgGeo: mean(rs.map((r) => geo(primaryLg(r)))),
      lgVarGeo: vars.every((v) => v?.length) ? mean(vars.map((v) => geo(v!))) : undefined,
    };
  });
}

/** Markdown table of the groups, with the reference's accuracy and our gap to it, and L_G relative to `baseline`. */
export function renderSeedSummary(groups: SeedGroup[], reference?: ClassifierReference, baseline = 'cnn', lgGroup = 'C4'): string {
  const base = groups.find((g) => g.model === baseline);
  const sci = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : v.toExponential(1));
  const L = [
    `| model | seeds | test acc. (%) mean ± sd | per seed | ${reference ? `paper (${reference.source}) | ours − paper | ` : ''}` +
      `L_G (${lgGroup}, geo. mean over layers) | L_G ÷ feature variance | ${base ? `${baseline}'s L_G ÷ this (normalised) |` : ''}`,
    `|---|---|---:|---|${reference ? '---:|---:|' : ''}---:|---:|${base ? '---:|' : ''}`,
  ];
  for (const g of groups) {
    const ref = reference?.models[g.model];
    const refCells = reference ? `${ref ? `${ref.accuracy.toFixed(1)} (${ref.label})` : '–'} | ${ref ? (g.accMean - ref.accuracy).toFixed(2) : '–'} | ` : '';
    const ratio = base && base.lgVarGeo !== undefined && g.lgVarGeo !== undefined ? `${(base.lgVarGeo / g.lgVarGeo).toPrecision(3)}× |` : base ? '– |' : '';
    L.push(`| ${g.model} | ${g.seeds.join(', ')} | ${g.accMean.toFixed(2)} ± ${g.accSd.toFixed(2)} | ${g.accuracies.map((a) => a.toFixed(2)).join(', ')} | ` +
      `${refCells}${sci(g.lgGeo)} | ${sci(g.lgVarGeo)} | ${ratio}`);
  }
  return L.join('\n');
}

/** Read a reference file (`{ "source": "...", "models": { "<model>": { "label": "...", "accuracy": 96.3 } } }`). */
export async function readReference(file: string): Promise<ClassifierReference> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read the reference (${(e as Error).message})`);
  }
  const o = raw as Partial<ClassifierReference>;
  if (typeof o?.source !== 'string') throw new Error(`${file}: field "source" must be a string`);
  if (!o.models || typeof o.models !== 'object') throw new Error(`${file}: field "models" must be an object`);
  for (const [k, v] of Object.entries(o.models)) {
    if (typeof v?.label !== 'string') throw new Error(`${file}: field "models.${k}.label" must be a string`);
    if (typeof v.accuracy !== 'number' || !(v.accuracy >= 0 && v.accuracy <= 100)) {
      throw new Error(`${file}: field "models.${k}.accuracy" must be a percentage in [0, 100]`);
    }
  }
  return o as ClassifierReference;
}
