/**
 * A memory soak of the training step: `steps` steps exactly as training/train-tracker.ts runs them (`tf.variableGrads`
 * over `stepLosses`, then the optimiser), each on fresh random crops, sampling the process's resident set size and
 * tfjs's live tensor count as it goes. Used by the RSS-flatness test (a few hundred tiny steps) and by
 * `npm run bench:soak` (2,000 CPU-scale steps; issue 15's target: RSS growth < 5% between step 200 and 2,000).
 */
import { tf } from '../tracker/tf.js';
import type { Tensor4D } from '../tracker/tf.js';
import type { SiamFCNet } from '../tracker/siamfc/network.js';
import { trainingGeometry, trainingLabels } from './labels.js';
import type { AuxLossHook } from './losses.js';
import { stepLosses } from './objective.js';
import type { Optimizer } from './optimizers.js';
import { Rng } from './rng.js';

/** One sample of a soak: after `step` steps (1-based), RSS in bytes, tfjs tensors and data buffers alive. */
export interface SoakSample {
  step: number;
  rss: number;
  numTensors: number;
  numDataBuffers: number;
  /** Wall time of this step, ms. */
  ms: number;
}

/** Options of `soakSteps`. */
export interface SoakOptions {
  net: SiamFCNet;
  optimizer: Optimizer;
  hooks: readonly AuxLossHook[];
  steps: number;
  batch: number;
  /** Steps (1-based) after which a sample is taken; every step when omitted. */
  sampleAt?: ReadonlySet<number>;
  /** Called with each sample as it is taken (progress output). */
  onSample?: (s: SoakSample) => void;
  lr?: number;
}

/** Runs the soak and returns its samples. Throws when a step's loss is not finite. */
export function soakSteps(o: SoakOptions): SoakSample[] {
  const spec = o.net.backbone.spec;
  const g = trainingGeometry(spec);
  const labels = trainingLabels(spec);
  const vars = o.net.backbone.trainableVariables();
  const samples: SoakSample[] = [];
  for (let step = 0; step < o.steps; step++) {
    const t0 = performance.now();
    const loss = tf.tidy(() => {
      // Fresh crops every step, as a real data stream brings them (0–255, seeded by the step).
      const z = tf.randomUniform([o.batch, g.exemplarSize, g.exemplarSize, 3], 0, 255, 'float32', 2 * step + 1) as Tensor4D;
      const x = tf.randomUniform([o.batch, g.searchSize, g.searchSize, 3], 0, 255, 'float32', 2 * step + 2) as Tensor4D;
      const { value, grads } = tf.variableGrads(() => stepLosses(o.net, z, x, labels, o.hooks, step, new Rng(step)).total, vars);
      o.optimizer.apply(vars.map((v) => grads[v.name] ?? tf.zerosLike(v)), o.lr ?? 1e-4);
      return value.dataSync()[0];
    });
    if (!Number.isFinite(loss)) throw new Error(`soak step ${step + 1}: the loss is ${loss}`);
    const done = step + 1;
    if (!o.sampleAt || o.sampleAt.has(done)) {
      const m = tf.memory();
      const s = { step: done, rss: process.memoryUsage().rss, numTensors: m.numTensors, numDataBuffers: m.numDataBuffers, ms: performance.now() - t0 };
      samples.push(s);
      o.onSample?.(s);
    }
  }
  return samples;
}

/** Relative RSS growth between the samples at steps `from` and `to` ((to − from) / from); throws if one is missing. */
export function rssGrowth(samples: readonly SoakSample[], from: number, to: number): number {
  const a = samples.find((s) => s.step === from);
  const b = samples.find((s) => s.step === to);
  if (!a || !b) throw new Error(`rssGrowth: no sample at step ${!a ? from : to}`);
  return (b.rss - a.rss) / a.rss;
}

/**
 * Relative growth of the median RSS from the steps [from, mid) to the steps [mid, to], mid halfway ((second − first) /
 * first); throws if a step's sample is missing. A leak of a fixed amount per step moves the second median by half
 * the range's total; one sample caught before the heap settled or between collections does not (with point samples
 * at steps 100 and 300 the micro IEN test once read 235 → 282 MB, 19.7%, where other runs read 280–297 → 293–308).
 */
export function rssWindowGrowth(samples: readonly SoakSample[], from: number, to: number): number {
  const mid = Math.floor((from + to) / 2);
  const byStep = new Map(samples.map((x) => [x.step, x.rss]));
  const median = (a: number, b: number) => {
    const v: number[] = [];
    for (let step = a; step <= b; step++) {
      const rss = byStep.get(step);
      if (rss === undefined) throw new Error(`rssWindowGrowth: no sample at step ${step}`);
      v.push(rss);
    }
    return v.sort((x, y) => x - y)[Math.floor(v.length / 2)];
  };
  const first = median(from, mid - 1), second = median(mid, to);
  return (second - first) / first;
}
