/**
 * Training loop of the Rot-MNIST classifier (tracker/classifier.ts), following the reference recipe of method.md
 * (github.com/transmuteAI/implicit-networks): Adam with L2 weight decay 1e-7, batch 64, one-cycle learning rate
 * 1e-5 → 5e-3 → 1e-5 (cosine, peak at 25%) over the first 70/90 of training, then 1e-5 for the remaining 20/90,
 * stepped per batch (as torch's OneCycleLR). Optional random-angle rotation augmentation (CNN-aug) and IEN's
 * equivariance loss with β per layer on a C4 or C8 rotated copy of every batch.
 *
 * Output folder: `checkpoint/` (model + optimizer state + state.json, replaced atomically after every epoch),
 * `model/` (the final model), `log.jsonl` (one JSON object per logged step and per epoch).
 * Every random draw derives from (seed, epoch), so `--resume` continues exactly at the next epoch boundary.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { tf } from '../tracker/tf.js';
import type { Tensor, Tensor4D } from '../tracker/tf.js';
import { Classifier, ClassifierSpec, digitsToTensor } from '../tracker/classifier.js';
import { loadClassifier, saveClassifier } from '../tracker/node/classifier-files.js';
import { equivarianceObjective, makeAngleSampler, mulberry32 } from '../tracker/ien/equivariance.js';
import { rotateBatch } from '../tracker/ien/rotate.js';
import { DIGIT_DATASETS, type DigitSet, type DigitSplits } from '../data/mnist.js';
import { d4Batch } from '../tracker/ien/dihedral.js';
import { Adam } from './optimizers.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint-folder.js';

/** Training configuration (zod, strict, with the reference defaults). */
export const ClassifierTrainConfig = z
  .object({
    /** Display name stored in the model manifest. */
    name: z.string().min(1).default('classifier'),
    model: ClassifierSpec,
    data: z
      .object({
        /**
         * Rot-MNIST (digits rotated by U[0, 2π)), Scale-MNIST (rescaled by U(0.3, 1), 28×28) or R2-MNIST (rotated,
         * then mirrored with probability 1/2; data/mnist.ts).
         */
        dataset: z.enum(['rot-mnist', 'scale-mnist', 'r2-mnist']).default('rot-mnist'),
        /** Seed of the split and of the per-digit rotations / scales (data/mnist.ts). */
        seed: z.number().int().default(0),
        /** Use the first n digits of the 10k training split (stratified + shuffled, so the prefix is balanced). */
        trainSize: z.number().int().positive().max(10000).default(10000),
        /** Validation digits evaluated after every epoch (first n of the 2k val split). */
        valSize: z.number().int().nonnegative().max(2000).default(2000),
        cacheDir: z.string().default('.cache/mnist'),
      })
      .strict()
      .default({}),
    epochs: z.number().int().positive().default(90),
    batchSize: z.number().int().min(2).default(64),
    lr: z
      .object({
        min: z.number().positive().default(1e-5),
        max: z.number().positive().default(5e-3),
        /** Fraction of the one-cycle part spent warming up (cosine). */
        peakFraction: z.number().gt(0).lt(1).default(0.25),
        /** Fraction of all steps at `min` after the cycle (reference: 20 of 90 epochs). */
        tailFraction: z.number().min(0).lt(1).default(20 / 90),
      })
      .strict()
      .default({}),
    weightDecay: z.number().min(0).default(1e-7),
    /**
     * 'rotate': every training digit is rotated by a fresh random angle U[0, 360) (bilinear, zero fill);
     * 'rotate-flip': the same, then mirrored left–right with probability 1/2 (CNN-aug for R2-MNIST).
     */
    augment: z.enum(['none', 'rotate', 'rotate-flip']).default('none'),
    /** β of the equivariance loss: one for all six conv layers or six values; 0 = no rotated copy at all. */
    betas: z.union([z.number().min(0), z.array(z.number().min(0)).length(6)]).default(0),
    /**
     * Group of the loss's transformed copy: C4 (exact 90° turns), C8 (45° steps, bilinear, masked), D4 (quarter
     * turns and mirrors, exact: the paper's R4R) or S4 (shrinks by 2^(−k/3), k = 1..3, box-prefiltered; features
     * enlarged back: the Scale-MNIST IEN).
     */
    lossGroup: z.enum(['C4', 'C8', 'D4', 'S4']).default('C4'),
    seed: z.number().int().default(1),
    /** Write a step line to log.jsonl every n steps. */
    logEvery: z.number().int().positive().default(10),
  })
  .strict();
export type ClassifierTrainConfig = z.infer<typeof ClassifierTrainConfig>;
export type ClassifierTrainConfigInput = z.input<typeof ClassifierTrainConfig>;

/** Parse a config; throws an Error naming the field. */
export function parseClassifierTrainConfig(input: unknown): ClassifierTrainConfig {
  const r = ClassifierTrainConfig.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`training config field "${i.path.join('.') || '(root)'}": ${i.message}`);
  }
  return r.data;
}

/**
 * Learning rate at step `step` of `total` (0-based): cosine one-cycle min → max (peak at `peakFraction` of the cycle)
 * → min over the first `(1 − tailFraction)·total` steps, then `min`.
 */
export function oneCycleLr(step: number, total: number, lr: ClassifierTrainConfig['lr']): number {
  const cycle = Math.max(1, Math.round(total * (1 - lr.tailFraction)));
  if (step >= cycle) return lr.min;
  const peak = Math.max(1, Math.round(cycle * lr.peakFraction));
  const cos = (from: number, to: number, pct: number) => to + ((from - to) / 2) * (1 + Math.cos(Math.PI * pct));
  if (step < peak) return cos(lr.min, lr.max, step / peak);
  return cos(lr.max, lr.min, (step - peak) / Math.max(1, cycle - 1 - peak));
}

/** Seeded Fisher–Yates permutation of 0..n−1. */
export function shuffled(n: number, seed: number): number[] {
  const rnd = mulberry32(seed);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Gather digits `idx` of `set` into `[n, S, S, 1]` float32 (0–1) and int32 labels `[n]`. */
export function gatherDigits(set: DigitSet, idx: readonly number[]): { x: Tensor4D; y: tf.Tensor1D } {
  const px = set.size * set.size;
  const buf = new Uint8Array(idx.length * px);
  const lab = new Int32Array(idx.length);
  idx.forEach((i, k) => {
    buf.set(set.images.subarray(i * px, (i + 1) * px), k * px);
    lab[k] = set.labels[i];
  });
  return { x: digitsToTensor(buf, set.size), y: tf.tensor1d(lab, 'int32') };
}

/** Accuracy and mean cross-entropy of `model` on the first `count` digits of `set`, in inference mode. */
export async function evaluateAccuracy(
  model: Classifier,
  set: DigitSet,
  count = set.count,
  batch = 250,
): Promise<{ accuracy: number; loss: number; count: number }> {
  const n = Math.min(count, set.count);
  let correct = 0, lossSum = 0;
  for (let s = 0; s < n; s += batch) {
    const idx = Array.from({ length: Math.min(batch, n - s) }, (_, k) => s + k);
    const { x, y } = gatherDigits(set, idx);
    const r = tf.tidy(() => {
      const logits = model.logits(x, false);
      const hit = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'));
      const ce = tf.sum(tf.losses.softmaxCrossEntropy(tf.oneHot(y, model.spec.classes), logits, undefined, 0,
        tf.Reduction.NONE));
      return tf.stack([hit, ce]);
    });
    const [h, l] = await r.data();
    tf.dispose([x, y, r]);
    correct += h;
    lossSum += l;
  }
  return { accuracy: n ? correct / n : 0, loss: n ? lossSum / n : 0, count: n };
}

/** Contents of checkpoint/state.json. */
const CheckpointState = z
  .object({
    format: z.literal('rot-track/classifier-checkpoint@1'),
    /** Epochs completed; training resumes with this epoch index. */
    epoch: z.number().int().nonnegative(),
    step: z.number().int().nonnegative(),
    config: z.record(z.unknown()),
    elapsedSeconds: z.number().nonnegative(),
    savedAt: z.string(),
    optimizer: z.array(z.object({ name: z.string() }).passthrough()),
  })
  .strict();
type CheckpointState = z.infer<typeof CheckpointState>;

async function saveCheckpoint(outDir: string, model: Classifier, opt: Adam, state: Omit<CheckpointState, 'format' | 'savedAt' | 'optimizer'>, name: string): Promise<void> {
  await writeCheckpoint(
    outDir,
    (dir) => saveClassifier(dir, model, { name, provenance: { checkpointEpoch: state.epoch } }),
    opt.state(),
    (specs) => CheckpointState.parse({ ...state, format: 'rot-track/classifier-checkpoint@1', savedAt: new Date().toISOString(), optimizer: specs }),
  );
}

async function loadCheckpoint(outDir: string): Promise<{ state: CheckpointState; model: Classifier; optimizer: Record<string, Tensor> }> {
  const { dir, state, optimizer } = await readCheckpoint(outDir, CheckpointState, (s) => s.optimizer);
  try {
    const { model } = await loadClassifier(path.join(dir, 'model'));
    return { state, model, optimizer };
  } catch (e) {
    tf.dispose(Object.values(optimizer));
    throw e;
  }
}

/** Options of `trainClassifier` besides the config. */
export interface TrainClassifierOptions {
  outDir: string;
  /** Continue from `<outDir>/checkpoint` (the saved config is used; `config.epochs` may extend it). */
  resume?: boolean;
  /** One-line progress (default: rewrite a line on stderr at most once a second). `null` disables it. */
  progress?: ((line: string) => void) | null;
  /** Provenance stored in the model manifest (command line, backend...). */
  provenance?: Record<string, unknown>;
  /** Stop after this many epochs in this call (for tests). */
  maxEpochsThisRun?: number;
  /** Use these digits instead of building Rot-MNIST from `config.data` (tests; the config's sizes still apply). */
  data?: DigitSplits;
}

/** Result of a training run. */
export interface TrainClassifierResult {
  modelDir: string;
  epochs: number;
  steps: number;
  seconds: number;
  valAccuracy: number | null;
  parameters: number;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60), sec = Math.round(s % 60);
  return m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/** Train a classifier as `config` says; writes checkpoints, logs and the final model into `opts.outDir`. */
export async function trainClassifier(configInput: ClassifierTrainConfigInput, opts: TrainClassifierOptions): Promise<TrainClassifierResult> {
  let cfg = parseClassifierTrainConfig(configInput);
  await mkdir(opts.outDir, { recursive: true });
  const logFile = path.join(opts.outDir, 'log.jsonl');
  const log = (o: Record<string, unknown>) => appendFile(logFile, JSON.stringify({ time: new Date().toISOString(), ...o }) + '\n');

  let model: Classifier;
  let startEpoch = 0, step = 0, elapsed = 0;
  let optState: Record<string, Tensor> | null = null;
  if (opts.resume) {
    const ck = await loadCheckpoint(opts.outDir);
    const saved = parseClassifierTrainConfig(ck.state.config);
    cfg = { ...saved, epochs: Math.max(saved.epochs, cfg.epochs) };
    model = ck.model;
    optState = ck.optimizer;
    startEpoch = ck.state.epoch;
    step = ck.state.step;
    elapsed = ck.state.elapsedSeconds;
    await log({ type: 'resume', epoch: startEpoch, step });
  } else {
    model = new Classifier(cfg.model);
    await writeFile(logFile, '');
    await log({ type: 'start', config: cfg, parameters: model.parameterCount(), channels: model.channelCounts() });
  }

  const build = DIGIT_DATASETS[cfg.data.dataset];
  const data = opts.data ?? build({ seed: cfg.data.seed, cacheDir: cfg.data.cacheDir });
  const train = data.train;
  const n = cfg.data.trainSize;
  if (n > train.count) throw new Error(`training config field "data.trainSize": ${n} > the ${train.count} training digits`);
  const stepsPerEpoch = Math.floor(n / cfg.batchSize);
  if (stepsPerEpoch < 1) throw new Error(`training config: trainSize ${n} is smaller than one batch of ${cfg.batchSize}`);
  const totalSteps = stepsPerEpoch * cfg.epochs;
  const betas = cfg.betas;
  const useEq = typeof betas === 'number' ? betas > 0 : betas.some((b) => b > 0);

  const vars = model.trainableVariables;
  // built inside tidy: Adam's constructor leaves its zero initial tensors registered (the variables keep the data)
  let opt!: Adam;
  tf.tidy(() => {
    opt = new Adam(vars, 0.9, 0.999, 1e-8, cfg.weightDecay);
  });
  if (optState) {
    opt.setState(optState, path.join(opts.outDir, 'checkpoint', 'optimizer.bin'));
    tf.dispose(Object.values(optState));
  }
  const progress = opts.progress === null ? null : opts.progress ?? (() => {
    let last = 0;
    return (line: string) => {
      const now = Date.now();
      if (now - last < 1000) return;
      last = now;
      process.stderr.write(`\r${line}\x1b[K`);
    };
  })();

  const t0 = Date.now();
  const runStartStep = step;
  let valAccuracy: number | null = null;
  const lastEpoch = opts.maxEpochsThisRun ? Math.min(cfg.epochs, startEpoch + opts.maxEpochsThisRun) : cfg.epochs;
  try {
    for (let epoch = startEpoch; epoch < lastEpoch; epoch++) {
      const order = shuffled(n, cfg.seed * 100003 + epoch);
      const sampler = makeAngleSampler(cfg.lossGroup, { seed: cfg.seed * 7919 + epoch });
      const augRnd = mulberry32(cfg.seed * 104729 + epoch);
      const sums = { loss: 0, task: 0, eq: 0 };
      for (let s = 0; s < stepsPerEpoch; s++, step++) {
        const lr = oneCycleLr(step, totalSteps, cfg.lr);
        const { x: x0, y } = gatherDigits(train, order.slice(s * cfg.batchSize, (s + 1) * cfg.batchSize));
        const x = cfg.augment === 'none' ? x0 : tf.tidy(() => {
          const turned = rotateBatch(x0, Array.from({ length: x0.shape[0] }, () => augRnd() * 360));
          if (cfg.augment === 'rotate') return turned;
          return d4Batch(turned, Array.from({ length: x0.shape[0] }, () => (augRnd() < 0.5 ? 4 : 0)));
        });
        let parts: Tensor | null = null;
        const { value, grads } = tf.variableGrads(() => {
          if (useEq) {
            const yy = tf.oneHot(tf.concat([y, y]), model.spec.classes);
            const r = equivarianceObjective(model, x, {
              betas, sampler, group: cfg.lossGroup, taskLoss: (out) => tf.losses.softmaxCrossEntropy(yy, out), training: true,
            });
            parts = tf.keep(tf.stack([r.total, r.task, ...r.layers]));
            return r.total;
          }
          const out = model.forwardFeatures(x, true).out;
          const task = tf.losses.softmaxCrossEntropy(tf.oneHot(y, model.spec.classes), out) as tf.Scalar;
          parts = tf.keep(tf.stack([task, task]));
          return task;
        }, vars);
        opt.apply(vars.map((v) => grads[v.name]), lr);
        const vals = Array.from(await (parts as unknown as Tensor).data());
        tf.dispose([value, ...Object.values(grads), parts as unknown as Tensor, y, x0]);
        if (x !== x0) x.dispose();
        const [loss, task, ...eqs] = vals;
        if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${step}: loss ${loss}`);
        const eqW = typeof betas === 'number' ? eqs.map(() => betas) : betas;
        const eq = eqs.reduce((a, v, i) => a + v * eqW[i], 0);
        sums.loss += loss; sums.task += task; sums.eq += eq;
        const done = step + 1 - runStartStep;
        const secPerStep = (Date.now() - t0) / 1000 / done;
        const eta = secPerStep * (stepsPerEpoch * lastEpoch - step - 1);
        progress?.(`epoch ${epoch + 1}/${cfg.epochs} step ${s + 1}/${stepsPerEpoch} loss ${loss.toFixed(4)} ` +
          `task ${task.toFixed(4)}${useEq ? ` eq ${eq.toExponential(2)}` : ''} lr ${lr.toExponential(2)} ` +
          `${secPerStep.toFixed(2)} s/step ETA ${fmtTime(eta)}`);
        if ((step + 1) % cfg.logEvery === 0) {
          await log({ type: 'step', epoch, step: step + 1, lr, loss, task, eqLayers: useEq ? eqs : undefined, secPerStep });
        }
      }
      const val = cfg.data.valSize > 0 ? await evaluateAccuracy(model, data.val, cfg.data.valSize) : null;
      valAccuracy = val?.accuracy ?? null;
      const secs = elapsed + (Date.now() - t0) / 1000;
      const k = stepsPerEpoch;
      await log({
        type: 'epoch', epoch: epoch + 1, step, loss: sums.loss / k, task: sums.task / k, eq: sums.eq / k,
        valAccuracy, valLoss: val?.loss ?? null, seconds: secs,
      });
      progress?.(`epoch ${epoch + 1}/${cfg.epochs} done: loss ${(sums.loss / k).toFixed(4)}` +
        `${val ? ` val acc ${(val.accuracy * 100).toFixed(2)}%` : ''} (${fmtTime(secs)})`);
      if (progress) process.stderr.write('\n');
      await saveCheckpoint(opts.outDir, model, opt, { epoch: epoch + 1, step, config: cfg as unknown as Record<string, unknown>, elapsedSeconds: secs }, cfg.name);
    }
    const seconds = elapsed + (Date.now() - t0) / 1000;
    const modelDir = path.join(opts.outDir, 'model');
    if (lastEpoch === cfg.epochs) {
      await saveClassifier(modelDir, model, {
        name: cfg.name,
        provenance: {
          ...opts.provenance, config: cfg, epochs: cfg.epochs, steps: step, trainSeconds: Math.round(seconds),
          backend: tf.getBackend(), finishedAt: new Date().toISOString(),
        },
        metrics: valAccuracy === null ? {} : { valAccuracy, valCount: cfg.data.valSize },
      });
      await log({ type: 'done', modelDir, seconds, valAccuracy });
    }
    return { modelDir, epochs: lastEpoch, steps: step, seconds, valAccuracy, parameters: model.parameterCount() };
  } finally {
    opt.dispose();
    model.dispose();
  }
}
