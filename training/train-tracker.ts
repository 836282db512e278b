/**
 * The SiamFC training loop (siamfc-pytorch `TrackerSiamFC.train_over`, plus what a long CPU run needs): batches from
 * the pair sampler with bounded prefetch, `tf.variableGrads` + our optimiser with explicit weight decay, the
 * per-epoch exponential learning rate, auxiliary losses (the IEN equivariance loss) through hooks, atomic
 * checkpoints every N steps and at the end, `resume` from the last checkpoint (bit-identical to an uninterrupted run on
 * a deterministic backend), a progress line and JSONL logs, and the final model with its provenance.
 *
 * Output folder: `checkpoint/` (training/checkpoint.ts), `model/` (final model.json + weights.bin), `log.jsonl`.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../tracker/tf.js';
import type { Tensor, Variable } from '../tracker/tf.js';
import type { BackboneSpec } from '../tracker/backbone-spec.js';
import { SiamFCNet } from '../tracker/siamfc/network.js';
import { createBackbone, type ModelManifest } from '../tracker/weights.js';
import { loadModel, saveModel } from '../tracker/node/model-files.js';
import { describeBackend } from '../tracker/backend.js';
import type { SequenceDataset } from '../data/dataset.js';
import { type TrainConfig, learningRateAt, resolveBackbone } from './config.js';
import { trainingGeometry, trainingLabels } from './labels.js';
import { type PreparedSequences, prepareSequences, stepsPerEpoch } from './pairs.js';
import { BatchProducer, batchTensors } from './batches.js';
import { type AuxLossHook, anyBeta, ienEquivarianceHook } from './losses.js';
import { stepLosses } from './objective.js';
import { createOptimizer } from './optimizers.js';
import { findCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { isMixedDataset, openTrainingDataset, openValidationDataset } from './data.js';
import { RNG_PURPOSE, derivedRng } from './rng.js';
import {
  type ValidationRecord, type ValidationSet, bestRecord, loadValidationSet, validate, validationDue, validationSummary,
} from './validation.js';
import { writeCurves } from './curves.js';

/** Options of `trainTracker`. */
export interface TrainOptions {
  config: TrainConfig;
  /** Output folder (created). */
  outDir: string;
  /** Continue from `outDir`'s checkpoint when there is one. */
  resume?: boolean;
  /** The dataset to train on; default: opened from `config.data`. */
  dataset?: SequenceDataset;
  /** Extra auxiliary losses (added after the IEN loss the config asks for). */
  auxHooks?: AuxLossHook[];
  /** Stop after this step index is done, without the final save (simulates a crash in tests). */
  stopAfter?: number;
  /** Progress lines (default: stderr; a carriage-return bar when it is a TTY). */
  progress?: (line: string, final: boolean) => void;
  /** The command line, recorded in the model's provenance. */
  commandLine?: string[];
  /** The validation dataset; default: opened from `config.validation` when present. */
  validationDataset?: SequenceDataset;
  /** Called after every step with its number (0-based) and loss components (tests: memory checks). */
  onStep?: (step: number, losses: Record<string, number>) => void;
}

/** What a run did. */
export interface TrainResult {
  /** Steps completed in total (including those before a resume). */
  steps: number;
  /** Step index this segment started at (> 0 after a resume). */
  startStep: number;
  /** Total loss of each step run in this segment. */
  losses: number[];
  /** Mean wall-clock seconds per step in this segment (data included). */
  secondsPerStep: number;
  /** Final model folder (absent when stopped early). */
  modelDir?: string;
  manifest?: ModelManifest;
  checkpointDir?: string;
}

/**
 * The auxiliary losses the config asks for: the IEN equivariance loss when some β > 0, or only its rotated copies when
 * `ien.rotatedCopies` is set with every β = 0 (the paper's CNN-aug).
 */
export function configHooks(cfg: TrainConfig): AuxLossHook[] {
  const { betas, rotatedCopies, ...opts } = cfg.ien;
  return rotatedCopies ?? anyBeta(betas) ? [ienEquivarianceHook(betas, opts)] : [];
}

/** Check that the config's variant and its backbone/loss agree; throws naming the field. */
export function checkVariant(cfg: TrainConfig, spec: BackboneSpec): void {
  const kind = spec.equivariance.kind;
  const need: Record<TrainConfig['variant'], readonly string[]> = {
    siamfc: ['none'],
    // 'ien' = the paper's CNN-aug: the IEN network trained on rotated copies with β = 0 (checked below)
    'cnn4-siamfc': ['none', 'ien'],
    're-siamfc': ['c4', 'c8'],
    'ien-siamfc': ['ien'],
    'het-siamfc': ['ien'],
  };
  if (!need[cfg.variant].includes(kind)) {
    throw new Error(
      `config field "variant": "${cfg.variant}" needs a backbone with equivariance kind ${need[cfg.variant].join(' or ')}, ` +
        `but "backbone" has "${kind}"`,
    );
  }
  if (cfg.variant === 'cnn4-siamfc' && cfg.augment.rotation.kind === 'none' && !cfg.ien.rotatedCopies) {
    throw new Error(
      'config field "augment.rotation.kind": the cnn4-siamfc variant is rotation-augmented; set "quarter" or "uniform" ' +
        '(or "ien.rotatedCopies": true)',
    );
  }
  if (cfg.variant === 'cnn4-siamfc' && kind === 'ien' && (anyBeta(cfg.ien.betas) || !cfg.ien.rotatedCopies)) {
    throw new Error(
      'config field "ien": cnn4-siamfc on an IEN backbone is the paper\'s CNN-aug: set "rotatedCopies": true and every β to 0',
    );
  }
}

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

function defaultProgress(): (line: string, final: boolean) => void {
  const tty = process.stderr.isTTY;
  let last = 0;
  return (line, final) => {
    if (tty) process.stderr.write(`\r${line.padEnd(110)}${final ? '\n' : ''}`);
    else if (final || Date.now() - last > 5000) {
      last = Date.now();
      process.stderr.write(line + '\n');
    }
  };
}

/** Gradients in `vars` order; a variable the loss does not reach gets zeros (e.g. an unused BN β). */
function orderedGrads(vars: readonly Variable[], grads: Record<string, Tensor>): Tensor[] {
  return vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
}

/** Train a SiamFC tracker as `opts.config` says. See the file comment for the output folder. */
export async function trainTracker(opts: TrainOptions): Promise<TrainResult> {
  const cfg = opts.config;
  const spec = resolveBackbone(cfg);
  checkVariant(cfg, spec);
  const geometry = trainingGeometry(spec);
  const labels = trainingLabels(spec, cfg.labels.rPos, cfg.labels.rNeg);
  const progress = opts.progress ?? defaultProgress();
  await mkdir(opts.outDir, { recursive: true });
  const logFile = path.join(opts.outDir, 'log.jsonl');
  const log = (rec: Record<string, unknown>) => appendFile(logFile, JSON.stringify(rec) + '\n');

  const dataset = opts.dataset ?? (await openTrainingDataset(cfg.data, (l) => progress(l, true)));
  let prepared: PreparedSequences;
  try {
    prepared = await prepareSequences(dataset, cfg.data.maxSequences);
  } catch (e) {
    throw new Error(`${cfg.data.root ?? dataset.name}: ${(e as Error).message}`);
  }
  const { sequences, skipped } = prepared;
  if (skipped.length) {
    progress(`[data] ${skipped.length} of ${sequences.length + skipped.length} sequences skipped by the frame filter: ` +
      `${skipped.slice(0, 6).map((k) => `${k.name} (${k.reason})`).join(', ')}${skipped.length > 6 ? ', …' : ''}`, true);
  }
  const perEpoch = stepsPerEpoch(sequences.length, cfg.pairsPerSequence, cfg.batchSize);
  const totalSteps = cfg.steps ?? cfg.epochs * perEpoch;
  const hooks = [...configHooks(cfg), ...(opts.auxHooks ?? [])];
  const trainingNames = isMixedDataset(dataset)
    ? dataset.sources.flatMap((s) => s.names.map((name) => ({ root: s.root, name })))
    : cfg.data.root ? dataset.names().map((name) => ({ root: cfg.data.root!, name })) : undefined;
  const valSet = await openValidation(cfg, opts.validationDataset, (l) => progress(l, true), trainingNames);
  const bestDir = path.join(opts.outDir, 'best');

  const net = new SiamFCNet(createBackbone(spec, cfg.seed), cfg.outScale);
  const vars = net.backbone.trainableVariables();
  const optimizer = createOptimizer(cfg.optimizer, vars);
  let startStep = 0;
  let elapsedBefore = 0;
  let resumes: number[] = [];
  let history: ValidationRecord[] = [];
  try {
    const existing = findCheckpoint(opts.outDir);
    if (existing && !opts.resume) {
      throw new Error(`${existing}: the output folder already holds a checkpoint; pass --resume to continue it or choose another --out`);
    }
    if (opts.resume && !existing) progress(`[train] no checkpoint in ${opts.outDir}: starting from step 0`, true);
    if (opts.resume && existing) {
      const ck = await loadCheckpoint(opts.outDir);
      try {
        const saved = resolveBackbone(ck.state.config as TrainConfig, `${ck.dir}/state.json`);
        if (JSON.stringify(saved) !== JSON.stringify(spec)) {
          throw new Error(`${ck.dir}/state.json: the checkpoint's backbone differs from the config's; use another --out`);
        }
        net.backbone.loadWeights(ck.weights, `${ck.dir}/model`);
        optimizer.setState(ck.optimizer, `${ck.dir}/optimizer.bin`);
      } finally {
        tf.dispose([...Object.values(ck.weights), ...Object.values(ck.optimizer)]);
      }
      startStep = ck.state.step;
      elapsedBefore = ck.state.elapsedSeconds;
      resumes = [...ck.state.resumes, startStep];
      history = ck.state.validation;
      progress(`[train] resumed from ${ck.dir} at step ${startStep}/${totalSteps}`, true);
      await log({ event: 'resume', step: startStep, checkpoint: ck.dir, time: new Date().toISOString() });
    } else {
      await log({
        event: 'start', time: new Date().toISOString(), config: cfg, sequences: sequences.length,
        skipped: skipped.length, stepsPerEpoch: perEpoch, totalSteps, backend: describeBackend().summary,
      });
    }

    const producer = new BatchProducer(sequences, geometry, {
      batchSize: cfg.batchSize, pairsPerSequence: cfg.pairsPerSequence, maxGap: cfg.maxGap, augment: cfg.augment,
      seed: cfg.seed, stride: geometry.stride, context: cfg.context, prefetch: cfg.prefetch,
      ...(isMixedDataset(dataset) ? { sourceWeights: dataset.sources.map((s) => s.weight) } : {}),
    });
    const losses: number[] = [];
    const t0 = Date.now();
    let checkpointPath: string | undefined;
    const elapsed = () => elapsedBefore + (Date.now() - t0) / 1000;
    const checkpoint = async (step: number) => {
      checkpointPath = await saveCheckpoint(
        opts.outDir, net, optimizer, cfg.optimizer.kind,
        { step, rng: { seed: cfg.seed, step }, config: cfg as unknown as Record<string, unknown>, elapsedSeconds: elapsed(), resumes, validation: history },
        cfg.variant,
      );
      await log({ event: 'checkpoint', step, dir: checkpointPath, time: new Date().toISOString() });
    };

    for (let step = startStep; step < totalSteps; step++) {
      const batch = await producer.get(step);
      const epoch = Math.floor(step / perEpoch);
      const lr = learningRateAt(cfg.optimizer, epoch, cfg.epochs);
      const rng = derivedRng(cfg.seed, RNG_PURPOSE.aux, step);
      const values: Record<string, number> = {};
      try {
        tf.tidy(() => {
          const { z, x } = batchTensors(batch);
          const kept: { name: string; value: tf.Scalar }[] = [];
          const { value, grads } = tf.variableGrads(() => {
            const l = stepLosses(net, z, x, labels, hooks, step, rng);
            for (const c of l.components) kept.push({ name: c.name, value: tf.keep(c.value) });
            return l.total;
          }, vars);
          optimizer.apply(orderedGrads(vars, grads), lr);
          values.total = value.dataSync()[0];
          for (const k of kept) values[k.name] = (values[k.name] ?? 0) + k.value.dataSync()[0];
          tf.dispose(kept.map((k) => k.value));
        });
      } catch (e) {
        throw explainStepError(e as Error, step, cfg.batchSize);
      }
      if (!Number.isFinite(values.total)) {
        throw new Error(`step ${step}: the loss is ${values.total} (diverged); lower optimizer.lr`);
      }
      losses.push(values.total);
      opts.onStep?.(step, values);
      const done = step + 1;
      const rate = (done - startStep) / Math.max(1e-9, (Date.now() - t0) / 1000);
      const comps = Object.entries(values).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' · ');
      progress(
        `[train] step ${done}/${totalSteps} (epoch ${epoch + 1}) ${comps} · lr ${lr.toExponential(2)} · ` +
          `${rate.toFixed(2)} steps/s · ETA ${fmtSeconds((totalSteps - done) / rate)}`,
        false,
      );
      if (done % cfg.logEvery === 0 || done === totalSteps) {
        await log({ event: 'step', step: done, epoch: epoch + 1, lr, losses: values, stepsPerSecond: rate, elapsedSeconds: elapsed(), time: new Date().toISOString() });
      }
      if (valSet && cfg.validation && validationDue(done, perEpoch, totalSteps, cfg.validation.every)) {
        const score = await validate(net, valSet);
        const rec: ValidationRecord = { step: done, epoch: Math.ceil(done / perEpoch), ...score };
        const improved = rec.auc > (bestRecord(history)?.auc ?? -Infinity);
        history = [...history, rec];
        if (improved) {
          await saveModel(bestDir, net, { variant: cfg.variant, metrics: { validation: rec }, provenance: { step: done } });
        }
        await log({ event: 'validation', ...rec, best: improved, time: new Date().toISOString() });
        progress(`[validate] step ${done} (epoch ${rec.epoch}): success AUC ${rec.auc.toFixed(3)} ` +
          `(${Object.entries(rec.perDelta).map(([d, a]) => `Δ${d} ${a.toFixed(3)}`).join(', ')}) in ${rec.seconds.toFixed(1)} s` +
          `${improved ? ' · best so far' : ` · best ${bestRecord(history)!.auc.toFixed(3)} at step ${bestRecord(history)!.step}`}`, true);
        await writeCurves(opts.outDir, cfg.variant).catch((e: Error) => progress(`[train] curves not written: ${e.message}`, true));
        // Checkpoint with the history right away: a resume then never replays a validation whose record it lacks
        // (and if a crash falls between best/ and this checkpoint, the replay recomputes the same record).
        if (done < totalSteps) await checkpoint(done);
      } else if (done % cfg.checkpointEvery === 0 && done < totalSteps) {
        await checkpoint(done);
      }
      if (opts.stopAfter !== undefined && done >= opts.stopAfter && done < totalSteps) {
        return { steps: done, startStep, losses, secondsPerStep: (Date.now() - t0) / 1000 / losses.length, checkpointDir: checkpointPath };
      }
    }

    await checkpoint(totalSteps);
    const secondsPerStep = losses.length ? (Date.now() - t0) / 1000 / losses.length : 0;
    const modelDir = path.join(opts.outDir, 'model');
    // With validation, the final model is the best-scoring one (its weights are in best/).
    const best = bestRecord(history);
    const finalNet = best ? (await loadModel(bestDir)).net : net;
    const manifest = await saveModel(modelDir, finalNet, {
      variant: cfg.variant,
      metrics: valSet && cfg.validation
        ? { validation: validationSummary({ ...cfg.validation, root: cfg.validation.root ?? cfg.data.root }, valSet, history) } : {},
      provenance: {
        config: cfg,
        data: {
          layout: cfg.data.layout, root: cfg.data.root, dataset: dataset.name, split: cfg.data.split,
          sequences: sequences.length, skipped: skipped.length, sequenceNames: sequences.map((s) => s.seq.name),
          ...(isMixedDataset(dataset) ? {
            sources: dataset.sources.map((src, k) => ({
              name: src.name, layout: src.layout, root: src.root, weight: src.weight,
              ...(src.sequenceSplit ? { sequenceSplit: src.sequenceSplit } : {}),
              sequenceNames: sequences.filter((s) => s.source === k).map((s) => s.seq.name.slice(src.name.length + 1)),
            })),
          } : {}),
        },
        steps: totalSteps,
        selectedStep: best ? best.step : totalSteps,
        stepsPerEpoch: perEpoch,
        trainingSeconds: elapsed(),
        secondsPerStep,
        resumedAt: resumes,
        backend: describeBackend().summary,
        commandLine: opts.commandLine ?? [],
        finishedAt: new Date().toISOString(),
      },
    });
    if (finalNet !== net) finalNet.dispose();
    await writeCurves(opts.outDir, cfg.variant).catch((e: Error) => progress(`[train] curves not written: ${e.message}`, true));
    progress(`[train] done: ${totalSteps} steps in ${fmtSeconds(elapsed())}; model in ${modelDir}` +
      (best ? ` (the weights of step ${best.step}, validation success AUC ${best.auc.toFixed(3)})` : ''), true);
    await log({ event: 'done', step: totalSteps, model: modelDir, elapsedSeconds: elapsed(), time: new Date().toISOString() });
    return { steps: totalSteps, startStep, losses, secondsPerStep, modelDir, manifest, checkpointDir: checkpointPath };
  } finally {
    optimizer.dispose();
    net.dispose();
  }
}

/**
 * The validation set a config asks for (null without `validation`): its dataset must not be the training data.
 * Synthetic validation sequences are generated into their root when missing, as the training data's are.
 */
async function openValidation(
  cfg: TrainConfig, given: SequenceDataset | undefined, log: (line: string) => void,
  trainingNames?: { root: string; name: string }[],
): Promise<ValidationSet | null> {
  const v = cfg.validation;
  if (!v) return null;
  // Without a root of its own, validation reads the training root's other split (GOT-10k: train / val).
  const root = v.root ?? cfg.data.root;
  if (!given) {
    if (!root) throw new Error('config field "validation.root": no validation data root given (use --val-data)');
    if (!v.sequenceSplit && cfg.data.root && path.resolve(root) === path.resolve(cfg.data.root) && (v.split === cfg.data.split || v.layout !== 'got10k')) {
      throw new Error(`config field "validation.root": ${root} (split ${v.split}) is the training data; validate on held-out sequences`);
    }
  }
  const ds = given ?? (await openValidationDataset(root!, v, log));
  if (trainingNames) {
    // the same sequence (by root and name) must never both train and select the model
    const trainedHere = new Set(trainingNames.filter((t) => path.resolve(t.root) === path.resolve(root ?? '')).map((t) => t.name));
    const both = ds.names().slice(0, v.maxSequences).filter((n) => trainedHere.has(n));
    if (both.length) throw new Error(`config field "validation": ${both.join(', ')} of ${root} are also training sequences`);
  }
  const t0 = Date.now();
  const set = await loadValidationSet(ds, v);
  log(`[validate] ${set.items.length} sequence runs (${new Set(set.items.map((i) => i.name)).size} sequences × Δ ${v.deltas.join(', ')}, ` +
    `≤ ${v.maxFrames} frames) from ${ds.name} loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return set;
}

/**
 * A step that failed inside the wasm backend: its heap is capped at 4 GB (wasm32), which a full-size IEN or Het step
 * (both branches twice, for the rotated copies) exceeds; XNNPACK then reports "status 6" or the module "memory access
 * out of bounds". Say so, and what to do, instead of the bare message.
 */
export function explainStepError(e: Error, step: number, batchSize: number): Error {
  const msg = e.message ?? String(e);
  if (tf.getBackend() === 'wasm' && /memory access out of bounds|XNN|status 6|Cannot enlarge memory|out of memory|Aborted\(/i.test(msg)) {
    return new Error(`step ${step}: the wasm backend ran out of memory (its heap is capped at 4 GB; batch ${batchSize}): ${msg}. ` +
      'Train this config on native-cpu or tensorflow (--backend native-cpu), or lower batchSize.');
  }
  return e;
}
