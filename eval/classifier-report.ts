/**
 * Evaluation and report of the Rot-MNIST classifiers (the reduced Table 5 of the IEN paper): test accuracy, the
 * per-layer equivariance error L_G (tracker/ien `equivarianceError`: MSE between the pooled features of x and those of
 * ϕ_g x rotated back, on a fixed set of test digits and fixed rotations), parameter and channel counts; written as
 * `report.md`, `results.json` and the per-layer L_G plot `lg.svg` / `lg.png` (eval/plots.ts).
 */
import path from 'node:path';
import { tf } from '../tracker/tf.js';
import type { Classifier } from '../tracker/classifier.js';
import { digitsToTensor } from '../tracker/classifier.js';
import {
  DIHEDRAL_ACTION, SCALE_ACTION, equivarianceError, groupAngles, groupElements, type GroupedModel,
} from '../tracker/ien/equivariance.js';
import { groupPool } from '../tracker/ien/pool.js';
import { DIGIT_DATASETS, type DigitDataset, type DigitSet } from '../data/mnist.js';
import { equivariancePlotSvg, writePlot } from './plots.js';
import { writeFileAtomic } from './results.js';
import { geo, groupBySeed, primaryLg, renderSeedSummary, type ClassifierReference } from './classifier-seeds.js';

/** Numbers of one evaluated classifier. */
export interface ClassifierEvalResult {
  name: string;
  /** Test set: Rot-MNIST (absent in older results.json) or Scale-MNIST. */
  dataset?: ClassifierDataset;
  variant: string;
  groups: string;
  /** Output channels per conv layer and their sum; pooled channels per layer. */
  channels: number[];
  totalChannels: number;
  pooled: number[];
  parameters: number;
  /** Top-1 accuracy in [0, 1] on `testCount` test digits. */
  accuracy: number;
  testCount: number;
  /** L_G per conv layer for the rotations 90°, 180°, 270° (mean over the angles). */
  lgC4: number[];
  /**
   * `lgC4` normalised: each angle's MSE divided by the mean per-channel variance of the unrotated features on the same
   * pixels (unitless; ~1 when the features are unrelated to their rotated copies). Absent in older results.json.
   */
  lgC4Variance?: number[];
  /** L_G per conv layer for the rotations 45°, 90°, …, 315° (bilinear, masked), when measured. */
  lgC8?: number[];
  /** Scale-MNIST: L_G per conv layer for the shrinks 2^(−1/3), 2^(−2/3), 1/2 (loss group S4), and normalised. */
  lgS4?: number[];
  lgS4Variance?: number[];
  /** R2-MNIST: L_G per conv layer for the 7 non-identity D4 elements (quarter turns and mirrors, exact), and normalised. */
  lgD4?: number[];
  lgD4Variance?: number[];
  /** Number of test digits L_G was measured on. */
  lgCount: number;
  /**
   * Plain CNNs (R1) only: L_G (C4 rotations) with each layer's features max-pooled in contiguous groups of 4 as an R4
   * IEN pools them ("CNN4" view), so that the CNNs can be compared with R4 IEN on pooled features.
   */
  lgC4PooledR4?: number[];
  /** Plain CNNs on Scale-MNIST: the S4 L_G of the R4-pooled view (the IEN's groups of 4). */
  lgS4PooledR4?: number[];
  /** Plain CNNs on R2-MNIST: the D4 L_G of features max-pooled in groups of 8 (the R4R IEN's groups). */
  lgD4PooledR8?: number[];
  /** Anything the trainer recorded (epochs, train seconds, config...). */
  provenance?: Record<string, unknown>;
}

/** The two digit datasets of the classifier experiments. */
export type ClassifierDataset = DigitDataset;
export const CLASSIFIER_DATASETS = Object.keys(DIGIT_DATASETS) as ClassifierDataset[];
const DATASET_NAME: Record<ClassifierDataset, string> = { 'rot-mnist': 'Rot-MNIST', 'scale-mnist': 'Scale-MNIST', 'r2-mnist': 'R2-MNIST' };
const DATASET_TITLE: Record<ClassifierDataset, string> = {
  'rot-mnist': 'Rot-MNIST classification (reduced Table 5)',
  'scale-mnist': 'Scale-MNIST classification (28×28, Table 8)',
  'r2-mnist': 'R2-MNIST classification (rotation + reflection: the R4R setting of Tables 1–2, on MNIST)',
};
/** The group whose L_G leads a report of each dataset. */
const DATASET_GROUP: Record<ClassifierDataset, string> = { 'rot-mnist': 'C4', 'scale-mnist': 'S4', 'r2-mnist': 'D4' };

/** Options of `evaluateClassifier`. */
export interface EvaluateOptions {
  /**
   * The test set's dataset (default rot-mnist); scale-mnist also measures L_G for the S4 shrinks, r2-mnist for the D4
   * elements; both skip C8.
   */
  dataset?: ClassifierDataset;
  /** Evaluate accuracy on the first n test digits (default all). */
  testCount?: number;
  /** Measure L_G on the first n test digits (default 200). */
  lgCount?: number;
  /** Also measure L_G for the 45° multiples (default true). */
  c8?: boolean;
  batch?: number;
}

/** Accuracy + L_G of `model` on `test` (inference mode; leaves no tensors behind). */
export async function evaluateClassifier(
  model: Classifier,
  name: string,
  test: DigitSet,
  o: EvaluateOptions = {},
): Promise<ClassifierEvalResult> {
  const n = Math.min(o.testCount ?? test.count, test.count);
  const batch = o.batch ?? 250;
  let correct = 0;
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    const x = digitsToTensor(test.images, test.size, s, m);
    const hits = tf.tidy(() => {
      const pred = tf.argMax(model.logits(x, false), 1);
      const y = tf.tensor1d(test.labels.subarray(s, s + m), 'int32');
      return tf.sum(tf.cast(tf.equal(pred, y), 'float32'));
    });
    correct += (await hits.data())[0];
    tf.dispose([x, hits]);
  }
  const lgCount = Math.min(o.lgCount ?? 200, test.count);
  const xs = digitsToTensor(test.images, test.size, 0, lgCount);
  const dataset = o.dataset ?? 'rot-mnist';
  try {
    const c4 = await equivarianceError(model, xs, groupAngles('C4'));
    const c8 = o.c8 === false || dataset !== 'rot-mnist' ? undefined : await equivarianceError(model, xs, groupAngles('C8'));
    const s4 = dataset === 'scale-mnist' ? await equivarianceError(model, xs, groupElements('S4'), SCALE_ACTION) : undefined;
    const d4 = dataset === 'r2-mnist' ? await equivarianceError(model, xs, groupElements('D4'), DIHEDRAL_ACTION) : undefined;
    // a plain CNN seen through an IEN's group pooling (contiguous groups of Λ channels), so the two compare on equal terms
    const pooledView = (spec: 'R4' | 'R8'): GroupedModel | null => {
      const lam = spec === 'R4' ? 4 : 8;
      if (model.resolved.groups !== 'R1' || !model.resolved.channels.every((c) => c % lam === 0)) return null;
      return {
        forwardFeatures: (x, training) => {
          const f = model.forwardFeatures(x, training);
          return { layers: f.layers.map((t) => groupPool(t, spec)), out: f.out };
        },
      };
    };
    const viewR4 = pooledView('R4'), viewR8 = pooledView('R8');
    const pooledR4 = viewR4 ? (await equivarianceError(viewR4, xs, groupAngles('C4'))).perLayer : undefined;
    const s4PooledR4 = viewR4 && s4 ? (await equivarianceError(viewR4, xs, groupElements('S4'), SCALE_ACTION)).perLayer : undefined;
    const d4PooledR8 = viewR8 && d4 ? (await equivarianceError(viewR8, xs, groupElements('D4'), DIHEDRAL_ACTION)).perLayer : undefined;
    const cc = model.channelCounts();
    return {
      name, dataset, variant: model.spec.variant, groups: model.resolved.groups, channels: cc.channels,
      totalChannels: cc.totalChannels, pooled: cc.pooled, parameters: model.parameterCount(),
      accuracy: n ? correct / n : 0, testCount: n, lgC4: c4.perLayer, lgC4Variance: c4.normalised.variance, lgC8: c8?.perLayer, lgCount,
      ...(pooledR4 ? { lgC4PooledR4: pooledR4 } : {}),
      ...(s4PooledR4 ? { lgS4PooledR4: s4PooledR4 } : {}),
      ...(d4PooledR8 ? { lgD4PooledR8: d4PooledR8 } : {}),
      ...(s4 ? { lgS4: s4.perLayer, lgS4Variance: s4.normalised.variance } : {}),
      ...(d4 ? { lgD4: d4.perLayer, lgD4Variance: d4.normalised.variance } : {}),
    };
  } finally {
    xs.dispose();
  }
}

/** The dataset every result shares (rot-mnist when they differ or predate the field): it names and leads the report. */
function reportDataset(results: ClassifierEvalResult[]): ClassifierDataset {
  const ds = new Set(results.map((r) => r.dataset ?? 'rot-mnist'));
  return ds.size === 1 ? [...ds][0] : 'rot-mnist';
}

/** Free text and commands of the report. */
export interface ClassifierReportMeta {
  title?: string;
  /** Markdown paragraphs placed after the table (reductions, analysis). */
  notes?: string;
  /** Shell commands that regenerate the report. */
  commands?: string[];
  /** The paper's accuracies per model, shown beside the seed summary. */
  reference?: ClassifierReference;
}

const pct = (v: number) => `${(v * 100).toFixed(2)}`;
const sci = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : v.toExponential(1));

/** The markdown report: accuracy/params/channels table, per-layer L_G tables (C4 and C8), ratios, plot, commands. */
export function renderClassifierReport(results: ClassifierEvalResult[], meta: ClassifierReportMeta = {}, plotBase = 'lg'): string {
  const L: string[] = [];
  const dataset = reportDataset(results);
  const lgGroup = DATASET_GROUP[dataset];
  L.push(`# ${meta.title ?? DATASET_TITLE[dataset]}`, '');
  const testCounts = [...new Set(results.map((r) => r.testCount))].join(', ');
  const lgCounts = [...new Set(results.map((r) => r.lgCount))].join(', ');
  const sets = [...new Set(results.map((r) => DATASET_NAME[r.dataset ?? 'rot-mnist']))].join(' / ');
  L.push(`Accuracy on the first ${testCounts} digits of the 50k ${sets} test split; L_G on the first ${lgCounts} test digits.`, '');
  const groups = groupBySeed(results);
  if (groups.some((g) => g.seeds.length > 1) || meta.reference) {
    L.push('## Per model over seeds', '', renderSeedSummary(groups, meta.reference, 'cnn', lgGroup), '', '## Every run', '');
  }
  L.push(`| model | variant | groups | test acc. (%) | params | channels (per layer) | Σ channels | pooled (per layer) | mean L_G (${lgGroup}) |`);
  L.push('|---|---|---|---:|---:|---|---:|---|---:|');
  for (const r of results) {
    const lg = primaryLg(r);
    const mean = lg.reduce((a, b) => a + b, 0) / lg.length;
    L.push(`| ${r.name} | ${r.variant} | ${r.groups} | ${pct(r.accuracy)} | ${r.parameters.toLocaleString('en-US')} | ` +
      `${r.channels.join(', ')} | ${r.totalChannels} | ${r.pooled.join(', ')} | ${sci(mean)} |`);
  }
  L.push('');
  const lgTable = (title: string, pick: (r: ClassifierEvalResult) => number[] | undefined) => {
    const rows = results.filter((r) => pick(r));
    if (!rows.length) return;
    const n = Math.max(...rows.map((r) => pick(r)!.length));
    L.push(`### ${title}`, '');
    L.push(`| model | ${Array.from({ length: n }, (_, i) => `L${i + 1}`).join(' | ')} |`);
    L.push(`|---|${Array.from({ length: n }, () => '---:').join('|')}|`);
    for (const r of rows) L.push(`| ${r.name} | ${pick(r)!.map(sci).join(' | ')} |`);
    L.push('');
  };
  lgTable('Per-layer L_G, D4: the 3 quarter turns, the mirror and its 3 turns (exact on the grid)', (r) => r.lgD4);
  lgTable('Per-layer L_G normalised by the feature variance, D4 (unitless; ~1 = unrelated)', (r) => r.lgD4Variance);
  lgTable('Per-layer L_G, shrinks by 2^(−1/3), 2^(−2/3), 1/2 (box-prefiltered; features enlarged back)', (r) => r.lgS4);
  lgTable('Per-layer L_G normalised by the feature variance, shrinks 2^(−k/3) (unitless; ~1 = unrelated)', (r) => r.lgS4Variance);
  lgTable('Per-layer L_G, rotations 90°/180°/270° (exact on the grid)', (r) => r.lgC4);
  lgTable('Per-layer L_G normalised by the feature variance, rotations 90°/180°/270° (unitless; ~1 = unrelated)', (r) => r.lgC4Variance);
  lgTable('Per-layer L_G, rotations 45°…315° (bilinear, valid-mask)', (r) => r.lgC8);
  lgTable('Plain CNNs measured on R4-pooled features (max over contiguous groups of 4 channels, S4 shrinks)', (r) => r.lgS4PooledR4);
  lgTable('Plain CNNs measured on R8-pooled features (max over contiguous groups of 8 channels, D4 elements)', (r) => r.lgD4PooledR8);
  lgTable('Plain CNNs measured on R4-pooled features (max over contiguous groups of 4 channels, C4 rotations)',
    (r) => r.lgC4PooledR4);
  // L_G relative to the augmented CNN(s), on equal terms: a plain CNN's pooled view when it has one; the dataset's group
  const augs = results.filter((r) => r.name.startsWith('cnn-aug'));
  if (augs.length) {
    const lead = { 'rot-mnist': 'C4 rotations', 'scale-mnist': 'S4 shrinks', 'r2-mnist': 'D4 elements' }[dataset];
    const pooledName = dataset === 'r2-mnist' ? 'R8' : 'R4';
    const comparable = (r: ClassifierEvalResult) => dataset === 'r2-mnist'
      ? r.lgD4PooledR8 ?? primaryLg(r)
      : dataset === 'scale-mnist' ? r.lgS4PooledR4 ?? primaryLg(r) : r.lgC4PooledR4 ?? r.lgC4;
    L.push(`### L_G relative to CNN-aug (geometric mean over the 6 layers, ${lead}; plain CNNs on ${pooledName}-pooled features)`, '');
    L.push(`| model | ${augs.map((a) => `÷ ${a.name}`).join(' | ')} | per layer ÷ ${augs[0].name} |`);
    L.push(`|---|${augs.map(() => '---:').join('|')}|---|`);
    for (const r of results) {
      const ratios = augs.map((a) => comparable(r).map((v, i) => v / comparable(a)[i]));
      L.push(`| ${r.name} | ${ratios.map((x) => sci(geo(x))).join(' | ')} | ${ratios[0].map(sci).join(', ')} |`);
    }
    L.push('');
  }
  L.push(`![per-layer L_G](${plotBase}.png)`, '');
  if (meta.notes) L.push(meta.notes.trim(), '');
  if (meta.commands?.length) L.push('## Commands that regenerate this report', '', '```sh', ...meta.commands, '```', '');
  return L.join('\n');
}

/** Write `report.md`, `results.json`, `lg.svg` and `lg.png` into `outDir`; returns the paths written. */
export async function writeClassifierReport(
  results: ClassifierEvalResult[],
  outDir: string,
  meta: ClassifierReportMeta = {},
): Promise<string[]> {
  if (!results.length) throw new Error('classifier report: no results');
  const dataset = reportDataset(results);
  const svg = equivariancePlotSvg(
    results.map((r) => ({ tracker: r.name, errors: primaryLg(r), layers: primaryLg(r).map((_, i) => `conv${i + 1}`) })),
    {},
    `${DATASET_NAME[dataset]}: equivariance error L_G per layer (${DATASET_GROUP[dataset]})`,
  );
  const written = await writePlot(svg, path.join(outDir, 'lg'));
  const md = path.join(outDir, 'report.md');
  await writeFileAtomic(md, renderClassifierReport(results, meta, 'lg'));
  const json = path.join(outDir, 'results.json');
  await writeFileAtomic(json, JSON.stringify({ results, commands: meta.commands ?? [] }, null, 2) + '\n');
  return [md, json, ...written];
}
