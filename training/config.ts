/**
 * Typed training configuration of the SiamFC trackers (zod `.strict()` schemas with defaults; types from `z.infer`).
 * Defaults are siamfc-pytorch's (`TrackerSiamFC.parse_args`, `SiamFCTransforms`, `Pair`): AlexNetV1 127/255, batch 8,
 * SGD momentum 0.9, weight decay 5e-4, lr 1e-2 → 1e-5 exponentially over 50 epochs, r_pos 16 px, max gap 100.
 * Experiment JSON files (training/experiments/*.json) override them; `parseTrainConfig` names the bad field.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  type BackboneSpec, type BackboneSpecInput, alexnetSpec, parseBackboneSpec,
} from '../tracker/backbone-spec.js';
import { anyBeta } from './losses.js';
import { ValidationConfig } from './validation.js';

/** The five tracker variants of the paper's Table 3. */
export const VARIANTS = ['siamfc', 'cnn4-siamfc', 're-siamfc', 'ien-siamfc', 'het-siamfc'] as const;
/** A tracker variant name. */
export const Variant = z.enum(VARIANTS);
export type Variant = z.infer<typeof Variant>;

/** Dataset layouts the trainer reads (`synthetic` = generated into the data root in GOT-10k layout first). */
export const DataLayout = z.enum(['got10k', 'otb', 'synthetic']);
export type DataLayout = z.infer<typeof DataLayout>;

/**
 * Rotation augmentation of the crops (the CNN4-SiamFC variant): `quarter` = a random multiple of 90° (exact, no
 * resampling loss), `uniform` = a random angle in [−maxDegrees, maxDegrees]. `independent`: exemplar and search crops
 * get their own angles (the relative rotation a tracker meets on Rot-OTB); otherwise one angle per pair.
 */
export const RotationAugment = z
  .object({
    kind: z.enum(['none', 'quarter', 'uniform']).default('none'),
    maxDegrees: z.number().min(0).max(180).default(180),
    independent: z.boolean().default(true),
  })
  .strict();

/** Crop augmentation: the reference's RandomStretch (±maxStretch) plus optional rotation. */
export const AugmentConfig = z
  .object({
    /** siamfc-pytorch RandomStretch: scale 1 + U(−0.05, 0.05). */
    maxStretch: z.number().min(0).max(0.5).default(0.05),
    rotation: RotationAugment.default({}),
  })
  .strict();

/** Logistic labels (siamfc-pytorch `_create_labels`): radii in pixels of the search crop, divided by the stride. */
export const LabelConfig = z
  .object({
    /** Cells with L1 distance ≤ rPos/stride from the centre are positive (reference: 16 px at stride 8 → 2 cells).
     * Default: 2 × the backbone's total stride (2 cells for any spec). */
    rPos: z.number().nonnegative().optional(),
    /** Cells with rPos/stride < L1 distance < rNeg/stride get label 0.5 (reference: 0, i.e. none). */
    rNeg: z.number().nonnegative().default(0),
  })
  .strict();

/** SGD with momentum (PyTorch convention: v ← μv + (g + λw); w ← w − lr·v), the reference optimiser. */
export const SgdConfig = z
  .object({
    kind: z.literal('sgd'),
    lr: z.number().positive().default(1e-2),
    finalLr: z.number().positive().default(1e-5),
    momentum: z.number().min(0).max(1).default(0.9),
    weightDecay: z.number().min(0).default(5e-4),
  })
  .strict();

/** Adam (PyTorch convention; weight decay added to the gradient), offered for short CPU-scale runs. */
export const AdamConfig = z
  .object({
    kind: z.literal('adam'),
    lr: z.number().positive().default(1e-3),
    finalLr: z.number().positive().default(1e-5),
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.999),
    epsilon: z.number().positive().default(1e-8),
    weightDecay: z.number().min(0).default(5e-4),
  })
  .strict();

/** Optimiser; the learning rate decays exponentially per epoch from `lr` to `finalLr` (torch ExponentialLR). */
export const OptimizerConfig = z.discriminatedUnion('kind', [SgdConfig, AdamConfig]);
export type OptimizerConfig = z.infer<typeof OptimizerConfig>;

/**
 * IEN equivariance loss (method.md) and the rotated copies it runs on. Every field is optional; the defaults reproduce
 * the original behaviour (one copy per pair, exemplar and search turned by the same random C4 quarter turn, absolute
 * MSE, constant β, copies only when some β > 0).
 */
export const IenLossConfig = z
  .object({
    /** β per backbone conv layer, or one β for all layers. */
    betas: z.union([z.number().min(0), z.array(z.number().min(0))]).default(0),
    /** Angles of the copies when `angles` is `group`: C4 = 90/180/270° (exact), C8 = 45…315° (bilinear, masked). */
    group: z.enum(['C4', 'C8']).default('C4'),
    /** `group`: angles of `group`; `uniform`: continuous angles U[−maxDegrees, maxDegrees) (bilinear, masked MSE). */
    angles: z.enum(['group', 'uniform']).default('group'),
    /** Largest |angle| in degrees of `angles: "uniform"`. */
    maxDegrees: z.number().positive().max(180).default(180),
    /** Exemplar and search copies get independent angles (a relative rotation the task loss sees); else one per pair. */
    independent: z.boolean().default(false),
    /** `none`: absolute MSE; `energy`: MSE ÷ mean square of the original half's pooled features at that layer;
     * `variance`: MSE ÷ their mean per-channel variance. Normalised, one β means the same at every layer and scale. */
    normalise: z.enum(['none', 'energy', 'variance']).default('none'),
    /** ε added to the normalising denominator. */
    epsilon: z.number().positive().default(1e-6),
    /** β ramps linearly from 0 (step 0) to its value at step `warmupSteps`; 0 = constant β. */
    warmupSteps: z.number().int().min(0).default(0),
    /** Run the rotated copies (task loss on both halves) even when every β is 0 — the paper's CNN-aug = IEN with
     * β = 0. Default: copies exactly when some β > 0. */
    rotatedCopies: z.boolean().optional(),
  })
  .strict();
/** A parsed `ien` block. */
export type IenLossConfig = z.infer<typeof IenLossConfig>;

/**
 * One source of a training mix. `stills` is the GOT-10k-layout set `npm run data:real` builds from real photographs;
 * `otb` reads real annotated sequences, restricted to the `train` side of `sequenceSplit` when given (the way the
 * sequences under ../shared/data must be used); `synthetic` is generated into its root when missing.
 * `weight`: the source's share of each epoch's pairs is weight / Σ weights.
 */
export const DataSource = z
  .object({
    /** Name used in logs, sequence names (`<name>/<sequence>`) and the manifest; default `<layout><index>`. */
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').optional(),
    layout: z.enum(['got10k', 'otb', 'synthetic', 'stills']),
    root: z.string().min(1),
    split: z.enum(['train', 'val']).default('train'),
    /** A split file (data/splits/*.json): only its `train` sequences of this root are used. */
    sequenceSplit: z.string().min(1).optional(),
    maxSequences: z.number().int().positive().optional(),
    synthetic: z.record(z.unknown()).default({}),
    weight: z.number().positive().default(1),
  })
  .strict();
export type DataSource = z.infer<typeof DataSource>;

/** Where the training sequences come from. */
export const DataConfig = z
  .object({
    /** A mix of sources (overrides root/layout/split when given). */
    sources: z.array(DataSource).min(1).optional(),
    root: z.string().min(1).optional(),
    layout: DataLayout.default('got10k'),
    /** GOT-10k split read for training. */
    split: z.enum(['train', 'val']).default('train'),
    /** Use only the first N sequences (in the dataset's order); all when absent. */
    maxSequences: z.number().int().positive().optional(),
    /** Parameters of the generator for layout `synthetic` (data/synthetic.ts SyntheticConfigSchema fields). */
    synthetic: z.record(z.unknown()).default({}),
  })
  .strict();

/** Named backbone presets; a config may also give a full BackboneSpec object. */
export const BACKBONE_PRESETS = ['alexnet', 'cpu-small', 'tiny'] as const;
export type BackbonePreset = (typeof BACKBONE_PRESETS)[number];

/** The whole training configuration. */
export const TrainConfig = z
  .object({
    variant: Variant.default('siamfc'),
    /** A preset name or a full backbone spec object (tracker/backbone-spec.ts). */
    backbone: z.union([z.enum(BACKBONE_PRESETS), z.record(z.unknown())]).default('alexnet'),
    /** Overrides the spec's width multiplier when given. */
    widthMultiplier: z.number().positive().optional(),
    /** Cross-correlation response scale (siamfc-pytorch out_scale). */
    outScale: z.number().positive().default(0.001),
    /** Context margin: crop side = sqrt((w + p)(h + p)), p = context·(w + h). */
    context: z.number().nonnegative().default(0.5),
    batchSize: z.number().int().positive().default(8),
    epochs: z.number().int().positive().default(50),
    /** Total optimiser steps; default `epochs × stepsPerEpoch` (drop_last over sequences × pairsPerSequence). */
    steps: z.number().int().positive().optional(),
    /** Pairs drawn from each sequence per epoch (siamfc-pytorch Pair.pairs_per_seq = 1). */
    pairsPerSequence: z.number().int().positive().default(1),
    /** Exemplar and search frames are fewer than maxGap frames apart. */
    maxGap: z.number().int().positive().default(100),
    augment: AugmentConfig.default({}),
    labels: LabelConfig.default({}),
    optimizer: OptimizerConfig.default({ kind: 'sgd' }),
    ien: IenLossConfig.default({}),
    seed: z.number().int().default(1),
    data: DataConfig.default({}),
    /** Write a checkpoint every N steps (and always at the end). */
    checkpointEvery: z.number().int().positive().default(500),
    /** Append a JSONL log line every N steps. */
    logEvery: z.number().int().positive().default(1),
    /** Batches decoded ahead of the one being trained on. */
    prefetch: z.number().int().min(0).max(16).default(2),
    /** tfjs backend: 'auto' picks the fastest available one. */
    backend: z.enum(['auto', 'tensorflow', 'native-cpu', 'wasm', 'cpu']).default('auto'),
    /** Held-out sequences tracked every few epochs; the best-scoring weights become the final model. */
    validation: ValidationConfig.optional(),
  })
  .strict();

/** A parsed training config (defaults filled in). */
export type TrainConfig = z.infer<typeof TrainConfig>;
/** A training config as written in JSON (defaults may be omitted). */
export type TrainConfigInput = z.input<typeof TrainConfig>;

/** Error for a bad configuration; the message names the source and the field path. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parse a config object; `where` names its source (a file or "command line") in errors. */
export function parseTrainConfig(input: unknown, where = 'config'): TrainConfig {
  const r = TrainConfig.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `field "${i.path.join('.') || '(root)'}": ${i.message}`).join('; ');
    throw new ConfigError(`${where}: ${msg}`);
  }
  const cfg = r.data;
  resolveBackbone(cfg, where); // validates the backbone early
  if (Array.isArray(cfg.ien.betas) && cfg.ien.betas.length === 0) {
    throw new ConfigError(`${where}: field "ien.betas": give one β or one per conv layer, not an empty list`);
  }
  if (cfg.ien.rotatedCopies === false && anyBeta(cfg.ien.betas)) {
    throw new ConfigError(`${where}: field "ien.rotatedCopies": the equivariance loss (some β > 0) needs the rotated copies`);
  }
  return cfg;
}

/** Read and parse an experiment JSON file; errors name the file and field. */
export function loadTrainConfig(file: string, overrides: Record<string, unknown> = {}): TrainConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`${file}: cannot read config file`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`${file}: a config must be a JSON object`);
  }
  return parseTrainConfig(mergeDeep(json as Record<string, unknown>, overrides), file);
}

/** Deep merge of plain objects (`b` wins; arrays and scalars replace). */
export function mergeDeep(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
    out[k] = isObj(prev) && isObj(v) ? mergeDeep(prev, v) : v;
  }
  return out;
}

/**
 * A CPU-scale AlexNet-like backbone: total stride 4, exemplar 63 / search 127 (search crop 119 in training), 6×6
 * exemplar and 22×22 search features → 15×15 training / 17×17 inference responses, as AlexNet gives at 127/255.
 */
export function cpuSmallSpec(overrides: Partial<BackboneSpecInput> = {}): BackboneSpec {
  return parseBackboneSpec({
    name: 'alexnet-cpu-small',
    layers: [
      { type: 'conv', out: 96, kernel: 5, stride: 2 },
      { type: 'maxpool', size: 3, stride: 2 },
      { type: 'conv', out: 256, kernel: 5 },
      { type: 'conv', out: 384, kernel: 3 },
      { type: 'conv', out: 256, kernel: 3, bn: false, act: 'none' },
    ],
    widthMultiplier: 0.25,
    exemplarSize: 63,
    instanceSize: 127,
    ...overrides,
  });
}

/**
 * A test-sized backbone: total stride 4, exemplar 47 / search 79 (training search crop 71) → 7×7 training response;
 * width multiplier 1/16 (6, 16, 16 channels). Trains a step in tens of milliseconds on the cpu backend.
 */
export function tinySpec(overrides: Partial<BackboneSpecInput> = {}): BackboneSpec {
  return parseBackboneSpec({
    name: 'tiny',
    layers: [
      { type: 'conv', out: 96, kernel: 5, stride: 2 },
      { type: 'maxpool', size: 2, stride: 2 },
      { type: 'conv', out: 256, kernel: 3 },
      { type: 'conv', out: 256, kernel: 3, bn: false, act: 'none' },
    ],
    widthMultiplier: 1 / 16,
    exemplarSize: 47,
    instanceSize: 79,
    ...overrides,
  });
}

/** The backbone spec a config describes (preset or object, then the width-multiplier override). */
export function resolveBackbone(cfg: TrainConfig, where = 'config'): BackboneSpec {
  const over: Partial<BackboneSpecInput> = cfg.widthMultiplier !== undefined ? { widthMultiplier: cfg.widthMultiplier } : {};
  try {
    if (typeof cfg.backbone === 'string') {
      if (cfg.backbone === 'alexnet') return alexnetSpec(over);
      if (cfg.backbone === 'cpu-small') return cpuSmallSpec(over);
      return tinySpec(over);
    }
    return parseBackboneSpec({ ...cfg.backbone, ...over }, `${where}: field "backbone"`);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`${where}: field "backbone": ${(e as Error).message}`);
  }
}

/** Learning rate at `epoch` (0-based): lr·γ^epoch with γ = (finalLr/lr)^(1/epochs), as torch ExponentialLR. */
export function learningRateAt(opt: OptimizerConfig, epoch: number, epochs: number): number {
  const gamma = Math.pow(opt.finalLr / opt.lr, 1 / epochs);
  return opt.lr * Math.pow(gamma, Math.min(epoch, epochs));
}

