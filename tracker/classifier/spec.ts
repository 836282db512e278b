/**
 * Typed spec of the Rot-MNIST classifier (method.md, reference `models/CNNBasic.py` of
 * github.com/transmuteAI/implicit-networks) and its resolution into per-layer channel counts. Browser-safe.
 *
 * Variants (all share the 6-conv body and the head; they differ in the conv layers and their group layout):
 * - `cnn`:          plain convs, group spec `R1` by default (pooling is the identity; `groups` may say `R4` = "CNN4");
 * - `ien`:          plain convs read as feature groups, `R4` by default (or `R8`), trained with the equivariance loss;
 * - `het-ien`:      plain convs with heterogeneous groups, `R4-2-1` by default (widths 88,132,176,176,264,352 at ×1);
 * - `gcnn-c4`:      C4 lifting + C4 group convs (exact on the grid), fields of 4, BatchNorm shared per field;
 * - `gcnn-d4`:      D4 lifting + D4 group convs (quarter turns and mirrors, exact: the R4R baseline), fields of 8;
 * - `steerable-c8`: C8 steerable convs (circular-harmonic basis), fields of 8, BatchNorm shared per field.
 */
import { z } from 'zod';
import { applyGroupSpec, channelStep, maxGroupSize, parseGroupSpec, type GroupLayout } from '../ien/groups.js';

/** Classifier variants. */
export const CLASSIFIER_VARIANTS = ['cnn', 'ien', 'het-ien', 'gcnn-c4', 'gcnn-d4', 'steerable-c8'] as const;
export type ClassifierVariant = (typeof CLASSIFIER_VARIANTS)[number];

/** R4 channel counts of the six conv layers at width multiplier 1 (method.md). */
export const BASE_WIDTHS = [128, 192, 256, 256, 384, 512] as const;
/** Kernel size and symmetric zero padding of the six convs (CNNBasic.py). */
export const CONV_KERNELS = [7, 5, 5, 5, 5, 5] as const;
export const CONV_PADDINGS = [1, 2, 2, 2, 2, 0] as const;
/** A 2×2 max pool (stride 2) follows these conv layers (0-based). */
export const MAXPOOL_AFTER = [1, 3] as const;
/** Hidden width of the head's first FC at multiplier 1 (FC 128→128→10). */
export const BASE_HIDDEN = 128;

/** The classifier spec (zod, strict). Unset fields take the variant's defaults (see `resolveClassifierSpec`). */
export const ClassifierSpec = z
  .object({
    variant: z.enum(CLASSIFIER_VARIANTS),
    /** Group spec of plain-conv variants (`cnn` R1, `ien` R4, `het-ien` R4-2-1); not allowed for gcnn-c4/steerable-c8. */
    groups: z.string().min(1).optional(),
    /** Scales BASE_WIDTHS (and the hidden width) for CPU-sized runs; widths are rounded to whole groups. */
    widthMultiplier: z.number().positive().max(8).default(1),
    /** Explicit output channel counts of the six convs (overrides the multiplier for the convs). */
    widths: z.array(z.number().int().positive()).length(6).optional(),
    /** Hidden width of the head (default max(8, round(128 × multiplier))). */
    hidden: z.number().int().positive().optional(),
    classes: z.number().int().min(2).default(10),
    /** Image channels (1 for MNIST). */
    inputChannels: z.number().int().positive().default(1),
    bnEps: z.number().positive().default(1e-5),
    /** PyTorch momentum convention (new = (1−m)·old + m·batch). */
    bnMomentum: z.number().gt(0).max(1).default(0.1),
    /** Seed of the weight initialisation (unset: tfjs's global RNG). */
    seed: z.number().int().optional(),
  })
  .strict();
export type ClassifierSpec = z.infer<typeof ClassifierSpec>;
export type ClassifierSpecInput = z.input<typeof ClassifierSpec>;

/** Error for a spec that cannot be built (names the field). */
export class ClassifierSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClassifierSpecError';
  }
}

/** A spec resolved to concrete layers. */
export interface ResolvedClassifier {
  spec: ClassifierSpec;
  /** Group spec name of the conv layers (`R4` for gcnn-c4, `R8` for steerable-c8). */
  groups: string;
  /** Output channels of each conv layer (for gcnn/steerable: fields × N). */
  channels: number[];
  /** Group layout of each conv layer's output. */
  layouts: GroupLayout[];
  /** Channels after group pooling per layer. */
  pooled: number[];
  /** Channels sharing one BatchNorm (1, or the field size N of gcnn-c4/steerable-c8). */
  fieldSize: number;
  hidden: number;
}

const DEFAULT_GROUPS: Record<ClassifierVariant, string> = {
  cnn: 'R1', ien: 'R4', 'het-ien': 'R4-2-1', 'gcnn-c4': 'R4', 'gcnn-d4': 'R8', 'steerable-c8': 'R8',
};

function roundTo(x: number, q: number): number {
  return Math.max(q, Math.round(x / q) * q);
}

/**
 * Resolve a spec (parsed here; throws ClassifierSpecError naming the field) into channel counts per layer. Widths at
 * multiplier m: homogeneous `R<Λ>` and gcnn/steerable: `round(BASE·m)` to a multiple of the channel step (Λ, 4 or 8);
 * heterogeneous specs: `BASE·m·(step / (pooled per step · Λmax))` to a multiple of the step, which is exactly the
 * paper's 88,132,176,176,264,352 for R4-2-1 at m = 1 (same pooled width as R4).
 */
export function resolveClassifierSpec(input: ClassifierSpecInput | ClassifierSpec): ResolvedClassifier {
  const r = ClassifierSpec.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ClassifierSpecError(`classifier spec field "${i.path.join('.') || '(root)'}": ${i.message}`);
  }
  const spec = r.data;
  const explicitGroups = spec.variant === 'gcnn-c4' || spec.variant === 'gcnn-d4' || spec.variant === 'steerable-c8';
  if (explicitGroups && spec.groups !== undefined && spec.groups !== DEFAULT_GROUPS[spec.variant]) {
    throw new ClassifierSpecError(`classifier spec field "groups": ${spec.variant} has fixed fields ` +
      `(${DEFAULT_GROUPS[spec.variant]}), got "${spec.groups}"`);
  }
  let groups: string;
  try {
    groups = parseGroupSpec(spec.groups ?? DEFAULT_GROUPS[spec.variant]).name;
  } catch (e) {
    throw new ClassifierSpecError(`classifier spec field "groups": ${(e as Error).message}`);
  }
  const gs = parseGroupSpec(groups);
  if (spec.variant === 'het-ien' && gs.sizes.length < 2) {
    throw new ClassifierSpecError(`classifier spec field "groups": het-ien needs a heterogeneous spec (e.g. R4-2-1), got ${groups}`);
  }
  if ((spec.variant === 'ien' || spec.variant === 'cnn') && gs.sizes.length > 1) {
    throw new ClassifierSpecError(`classifier spec field "groups": ${spec.variant} takes a homogeneous spec R<n>, got ${groups} (use het-ien)`);
  }
  const step = channelStep(gs);
  // channels per pooled channel relative to the homogeneous spec of the largest Λ (R4-2-1: 11 / (4 · 4) = 0.6875)
  const stepLayout = applyGroupSpec(gs, step);
  const hetRatio = step / (stepLayout.pooledChannels * maxGroupSize(gs));
  const m = spec.widthMultiplier;
  const channels = spec.widths
    ? [...spec.widths]
    : BASE_WIDTHS.map((b) => roundTo(b * m * hetRatio, step));
  const layouts = channels.map((c, i) => {
    try {
      return applyGroupSpec(gs, c);
    } catch (e) {
      throw new ClassifierSpecError(`classifier spec field "widths.${i}": ${(e as Error).message}`);
    }
  });
  const hidden = spec.hidden ?? Math.max(8, Math.round(BASE_HIDDEN * m));
  return {
    spec, groups, channels, layouts, pooled: layouts.map((l) => l.pooledChannels),
    fieldSize: explicitGroups ? gs.sizes[0] : 1, hidden,
  };
}
