/**
 * Training losses of SiamFC and the hook through which the IEN equivariance loss (or any auxiliary loss) joins them.
 *
 * Balanced logistic loss, as siamfc-pytorch `BalancedLoss` (neg_weight 1): over the whole batch tensor, cells with
 * label 1 get weight 1/#positives, cells with label 0 get 1/#negatives (label-0.5 cells get 0), the weights are
 * normalised to sum 1 (`weight /= weight.sum()`), and the loss is `binary_cross_entropy_with_logits(..., weight,
 * reduction='sum')`. So loss = ½·mean BCE over positives + ½·mean BCE over negatives (when both exist).
 */
import { tf } from '../tracker/tf.js';
import type { Tensor4D } from '../tracker/tf.js';
import type { EquivarianceNormalisation, ForwardFeatures, RotationGroup } from '../tracker/ien/equivariance.js';
import { NORMALISED_MSE_EPSILON, alignedMSE } from '../tracker/ien/equivariance.js';
import type { LabelMap } from './labels.js';

type Scalar = tf.Scalar;

/**
 * Per-cell weights of a batch of `batch` identical label maps, `[size·size]` float32 (one map's worth; every sample
 * has the same). Sum over the batch is 1.
 */
export function balancedWeights(labels: LabelMap, batch: number): Float32Array {
  const w = new Float32Array(labels.values.length);
  const pos = labels.positives * batch;
  const neg = labels.negatives * batch;
  labels.values.forEach((v, i) => {
    if (v === 1) w[i] = 1 / pos;
    else if (v === 0) w[i] = 1 / neg;
  });
  const total = w.reduce((s, v) => s + v, 0) * batch;
  if (!(total > 0)) throw new Error('balanced loss: the label map has neither positive nor negative cells');
  for (let i = 0; i < w.length; i++) w[i] /= total;
  return w;
}

/** Element-wise binary cross-entropy with logits, numerically stable: max(s, 0) − s·y + log(1 + e^(−|s|)). */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))),
  );
}

/**
 * Balanced logistic loss of responses `[B, r, r, 1]` float32 (logits) against one label map repeated over the batch
 * → scalar (siamfc-pytorch `BalancedLoss`).
 */
export function balancedLogisticLoss(responses: Tensor4D, labels: LabelMap): Scalar {
  const [b, h, w, c] = responses.shape;
  if (h !== labels.size || w !== labels.size || c !== 1) {
    throw new Error(`balanced loss: responses [${responses.shape}] do not match a ${labels.size}×${labels.size} label map`);
  }
  const weights = balancedWeights(labels, b);
  return tf.tidy(() => {
    const y = tf.tensor4d(labels.values, [1, h, w, 1]);
    const wt = tf.tensor4d(weights, [1, h, w, 1]);
    return tf.sum(tf.mul(bceWithLogits(responses, y), wt)) as Scalar;
  });
}

/** What an auxiliary loss sees of one training step. Tensors belong to the step (do not dispose them). */
export interface AuxContext {
  step: number;
  /** Number of pairs B; with rotated copies the tensors hold 2B rows: `[originals; rotated]`. */
  batch: number;
  /** Network inputs: exemplar `[B|2B, E, E, 3]` and search `[B|2B, S, S, 3]` crops. */
  z: Tensor4D;
  x: Tensor4D;
  /** Response logits `[B|2B, r, r, 1]`. */
  response: Tensor4D;
  /** Per-layer group-pooled features of each branch, when the hook asked for them. */
  zFeatures?: ForwardFeatures;
  xFeatures?: ForwardFeatures;
  /** Rotation (degrees, counter-clockwise on screen) of exemplar row B + i relative to row i, when rotated copies
   * exist: the same array as `anglesZ` (and as `anglesX` unless the copies are turned independently). */
  angles?: number[];
  /** Rotation of each exemplar copy (row B + i of `z`), degrees. */
  anglesZ?: number[];
  /** Rotation of each search copy (row B + i of `x`), degrees; differs from `anglesZ` with independent copies. */
  anglesX?: number[];
}

/** One named loss term; `value` is already weighted and is added to the total. */
export interface AuxTerm {
  name: string;
  value: Scalar;
}

/** An auxiliary loss: terms computed from a step's context (inside the gradient tape). */
export type AuxLoss = (ctx: AuxContext) => AuxTerm[];

/**
 * How the rotated copies of a step are drawn: angles of `group` (C4 90/180/270°, C8 45…315°) or continuous
 * U[−maxDegrees, maxDegrees) (`uniform`); `independent`: exemplar and search copies get their own angles.
 */
export interface CopyRotation {
  angles: 'group' | 'uniform';
  group: RotationGroup;
  /** Largest |angle| in degrees for `uniform`. */
  maxDegrees: number;
  independent: boolean;
}

/** A group name as a CopyRotation (one C4/C8 angle per pair, shared by both branches), or the spec itself. */
export function copyRotation(r: RotationGroup | CopyRotation): CopyRotation {
  return typeof r === 'string' ? { angles: 'group', group: r, maxDegrees: 180, independent: false } : r;
}

/** An auxiliary loss with what it needs from the forward pass. */
export interface AuxLossHook {
  name: string;
  /** Run the batch together with one rotated copy per pair, angles drawn from this group (or as the spec says). */
  rotations?: RotationGroup | CopyRotation;
  /** Ask the backbone for per-layer pooled features (its `forwardFeatures`, tracker/ien GroupedModel). */
  features?: boolean;
  loss: AuxLoss;
}

/** β_i per layer from one β or a list; throws naming the mismatch. */
export function resolveBetas(betas: number | readonly number[], layers: number): number[] {
  const bs = typeof betas === 'number' ? new Array<number>(layers).fill(betas) : [...betas];
  if (bs.length !== layers) throw new Error(`ien.betas: ${bs.length} values for a backbone with ${layers} conv layers`);
  return bs;
}

/** True when some β of `betas` (one or per layer) is > 0. */
export function anyBeta(betas: number | readonly number[]): boolean {
  return typeof betas === 'number' ? betas > 0 : betas.some((v) => v > 0);
}

/** Factor of β at `step` (0-based) for a linear warm-up over `warmupSteps` steps: 0 at step 0, 1 from the last on. */
export function warmupFactor(step: number, warmupSteps: number): number {
  return warmupSteps > 0 ? Math.min(1, Math.max(0, step) / warmupSteps) : 1;
}

/** Options of `ienEquivarianceHook` beyond β (config `ien` fields; every one optional, defaults as there). */
export interface IenHookOptions extends Partial<CopyRotation> {
  /** `none` (default): absolute MSE; `energy` / `variance`: MSE ÷ that scale of the original half (+ `epsilon`). */
  normalise?: EquivarianceNormalisation;
  epsilon?: number;
  /** β ramps linearly from 0 to its value over this many steps (default 0 = constant). */
  warmupSteps?: number;
}

/**
 * IEN equivariance loss on both branches (method.md): at every backbone layer i with β_i > 0, the pooled features of
 * the rotated half are rotated back by that branch's own angle (`anglesZ` / `anglesX`) and compared by (masked,
 * optionally normalised) MSE with those of the original half (tracker/ien `alignedMSE`); terms `equiv_z` and
 * `equiv_x` = w(step) · Σ_i β_i · MSE_i of each branch, w the warm-up factor. With every β = 0 the hook only asks for
 * the rotated copies (the paper's CNN-aug) and adds no term. `opts` may be just the rotation group (the old signature).
 */
export function ienEquivarianceHook(
  betas: number | readonly number[],
  opts: RotationGroup | IenHookOptions = 'C4',
): AuxLossHook {
  const o: IenHookOptions = typeof opts === 'string' ? { group: opts } : opts;
  const rotations = copyRotation({
    angles: o.angles ?? 'group', group: o.group ?? 'C4', maxDegrees: o.maxDegrees ?? 180, independent: o.independent ?? false,
  });
  const active = anyBeta(betas);
  const mseOpts = { normalise: o.normalise ?? 'none', epsilon: o.epsilon ?? NORMALISED_MSE_EPSILON };
  return {
    name: 'ien-equivariance',
    rotations,
    features: active,
    loss: (ctx) => {
      if (!active) return [];
      const anglesZ = ctx.anglesZ ?? ctx.angles;
      const anglesX = ctx.anglesX ?? ctx.angles;
      if (!ctx.zFeatures || !ctx.xFeatures || !anglesZ || !anglesX) {
        throw new Error('ien-equivariance: the step did not provide features and rotated copies');
      }
      const b = ctx.batch;
      const w = warmupFactor(ctx.step, o.warmupSteps ?? 0);
      const branch = (f: ForwardFeatures, angles: number[]): Scalar => {
        const bs = resolveBetas(betas, f.layers.length);
        let sum: Scalar = tf.scalar(0);
        f.layers.forEach((t, i) => {
          if (bs[i] === 0) return;
          const [, h, wd, c] = t.shape;
          const orig = tf.slice(t, [0, 0, 0, 0], [b, h, wd, c]);
          const rot = tf.slice(t, [b, 0, 0, 0], [b, h, wd, c]);
          sum = tf.add(sum, tf.mul(alignedMSE(orig, rot, angles, mseOpts), bs[i] * w));
        });
        return sum;
      };
      return [
        { name: 'equiv_z', value: branch(ctx.zFeatures, anglesZ) },
        { name: 'equiv_x', value: branch(ctx.xFeatures, anglesX) },
      ];
    },
  };
}
