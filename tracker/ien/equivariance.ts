/**
 * IEN's equivariance loss and the per-layer equivariance error L_G (paper Eq. 6–8, Tables 5 and 9), for any model
 * that returns its group-pooled features per layer (`GroupedModel`).
 *
 * Procedure per batch (method.md, following github.com/transmuteAI/implicit-networks `IEN_R4_Rot-MNIST.py`):
 * one rotated copy ϕ_g x of every sample; the batch `[x; ϕ_g x]` runs through the model once; at each layer i with
 * β_i > 0 the pooled features of the rotated half are rotated back by −θ (spatially only) and compared by MSE with the
 * pooled features of the original half (masked to the valid region for non-90° angles; no detach);
 * total = task + Σ β_i · MSE_i.
 *
 * The same machinery runs with the scale action (loss group `S4`, Scale-MNIST, paper Table 8): the copy is the input
 * shrunk about its centre by a factor 2^(−k/3) (k = 1, 2, 3; box-prefiltered), and its pooled features are enlarged
 * back by the inverse factor before the MSE.
 */
import { tf } from '../tf.js';
import type { Tensor, Tensor4D } from '../tf.js';
import type { GroupLayout } from './groups.js';
import { isGridAligned, rotateBatch, rotationMask } from './rotate.js';
import { scaleBatch, scaleKeepsInside, scaleMask } from './scale.js';
import { d4Batch } from './dihedral.js';
import { mulberry32 } from '../random.js';

/** Result of a model's feature pass: pooled features per conv layer and the network output. */
export interface ForwardFeatures {
  /** Group-pooled features of each conv layer, `[B, H_i, W_i, pooled_i]` float32, in layer order. */
  layers: Tensor4D[];
  /** The network output (logits, embedding, ...), batch first. */
  out: Tensor;
}

/** Any model usable with the equivariance loss: a forward pass that also returns its per-layer pooled features. */
export interface GroupedModel {
  /** Forward `x` (`[B, H, W, C]` float32); `training` selects batch statistics / uncached filters. */
  forwardFeatures(x: Tensor4D, training: boolean): ForwardFeatures;
  /** Optional group layout of each conv layer (pre-pooling); when given, pooled widths are checked against it. */
  readonly layerLayouts?: readonly GroupLayout[];
}

/** Rotation group of the loss: C4 (exact 90° turns) or C8 (45° steps, bilinear). */
export type RotationGroup = 'C4' | 'C8';

/**
 * Group of the loss's transformed copy: a rotation group; `D4` — the paper's R4R, quarter turns and reflections
 * (tracker/ien/dihedral.ts, elements 1..7); or `S4` — scales 1, 2^(−1/3), 2^(−2/3), 1/2 (shrinks).
 */
export type LossGroup = RotationGroup | 'D4' | 'S4';

/**
 * How the loss's group acts, with one parameter per sample (degrees for rotations, a factor for scales): `apply` makes
 * the transformed copy of an input batch; `back` maps the copy's features onto the original's frame and gives the
 * pixels where that mapping had a source inside the map (null = all).
 */
export interface GroupAction {
  readonly name: 'rotation' | 'scale' | 'dihedral';
  apply(x: Tensor4D, params: readonly number[]): Tensor4D;
  back(f: Tensor4D, params: readonly number[]): { aligned: Tensor4D; mask: Tensor4D | null };
}

/** Rotations by `params` degrees (bilinear, zero fill; exact for quarter turns); back = rotation by −θ, masked. */
export const ROTATION_ACTION: GroupAction = {
  name: 'rotation',
  apply: (x, degs) => rotateBatch(x, degs),
  back: (f, degs) => {
    const [, h, w] = f.shape;
    const inv = degs.map((d) => -d);
    return { aligned: rotateBatch(f, inv), mask: isGridAligned(h, w, inv) ? null : rotationMask(h, w, inv) };
  },
};

/**
 * Rescaling by `params` factors about the centre (box-prefiltered shrink of the input); back = rescaling of the copy's
 * features by 1/factor (an enlargement for shrunk copies, whose source points all stay inside: no mask).
 */
export const SCALE_ACTION: GroupAction = {
  name: 'scale',
  apply: (x, fs) => scaleBatch(x, fs, { antialias: true }),
  back: (f, fs) => {
    const [, h, w] = f.shape;
    const inv = fs.map((v) => 1 / v);
    return { aligned: scaleBatch(f, inv), mask: scaleKeepsInside(h, w, inv) ? null : scaleMask(h, w, inv) };
  },
};

/** D4 elements (`d4Batch`: mirror, then quarter turns; exact); back = the inverse element, no mask. */
export const DIHEDRAL_ACTION: GroupAction = {
  name: 'dihedral',
  apply: (x, es) => d4Batch(x, es),
  back: (f, es) => ({ aligned: d4Batch(f, es, true), mask: null }),
};

/** The action of a loss group. */
export function actionOf(group: LossGroup): GroupAction {
  return group === 'S4' ? SCALE_ACTION : group === 'D4' ? DIHEDRAL_ACTION : ROTATION_ACTION;
}

/** Draws one rotation angle (degrees, counter-clockwise on screen) per sample of a batch of `n`. */
export type AngleSampler = (n: number) => number[];

/** Error thrown for inconsistent models, betas or angles. */
export class EquivarianceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EquivarianceError';
  }
}

/** Seeded PRNG in [0, 1): re-exported from tracker/random.ts for this module's users. */
export { mulberry32 };

/**
 * The angles a group's sampler draws from, in degrees. C4: {90, 180, 270} — the reference code draws
 * `random.choices(range(1, 4))` quarter turns (method.md says k ∈ {0..3}; `includeIdentity` adds 0, which only adds
 * zero-loss samples). C8: {45, 90, …, 315} (method.md).
 */
export function groupAngles(group: RotationGroup, includeIdentity = false): number[] {
  if (group !== 'C4' && group !== 'C8') throw new EquivarianceError(`unknown rotation group "${group as string}" (C4 or C8)`);
  const step = group === 'C4' ? 90 : 45;
  const n = group === 'C4' ? 4 : 8;
  return Array.from({ length: n }, (_, k) => k * step).filter((a) => includeIdentity || a !== 0);
}

/**
 * The parameters a loss group's sampler draws from: `groupAngles` for C4 / C8 (degrees); for D4 the elements 1..7
 * (`d4Batch`); for S4 the shrink factors 2^(−1/3), 2^(−2/3), 1/2 (with `includeIdentity`, the identity first).
 */
export function groupElements(group: LossGroup, includeIdentity = false): number[] {
  if (group === 'D4') return [0, 1, 2, 3, 4, 5, 6, 7].filter((e) => includeIdentity || e !== 0);
  if (group !== 'S4') return groupAngles(group, includeIdentity);
  return [0, 1, 2, 3].map((k) => 2 ** (-k / 3)).filter((_, k) => includeIdentity || k !== 0);
}

/** Seeded sampler drawing uniformly from `groupElements(group, includeIdentity)`; `random` overrides the PRNG. */
export function makeAngleSampler(
  group: LossGroup,
  opts: { seed?: number; random?: () => number; includeIdentity?: boolean } = {},
): AngleSampler {
  const angles = groupElements(group, opts.includeIdentity ?? false);
  const rnd = opts.random ?? mulberry32(opts.seed ?? 0);
  return (n) => Array.from({ length: n }, () => angles[Math.min(angles.length - 1, Math.floor(rnd() * angles.length))]);
}

/**
 * How an equivariance MSE is normalised: `none` = the absolute MSE; `energy` = divided by the mean square of the
 * original half's features (over the same masked region); `variance` = divided by their per-channel variance (over
 * samples and pixels, averaged over channels), which a constant offset per channel cannot raise.
 */
export type EquivarianceNormalisation = 'none' | 'energy' | 'variance';

/** Default ε added to the denominator of a normalised MSE (features are O(1) after BatchNorm). */
export const NORMALISED_MSE_EPSILON = 1e-6;

/** The aligned squared difference of a pair of halves and the validity mask (null = every pixel valid). */
function alignedParts(
  original: Tensor4D,
  rotated: Tensor4D,
  degs: readonly number[],
  action: GroupAction = ROTATION_ACTION,
): { sq: Tensor4D; mask: Tensor4D | null } {
  if (original.shape.join() !== rotated.shape.join()) {
    throw new EquivarianceError(
      `feature shapes differ between the original [${original.shape}] and rotated [${rotated.shape}] halves`,
    );
  }
  const b = original.shape[0];
  if (degs.length !== b) throw new EquivarianceError(`${degs.length} angles for ${b} samples`);
  // mask of the back-mapping: where the transformed half's map had a source point
  const { aligned, mask } = action.back(rotated, degs);
  return { sq: tf.squaredDifference(original, aligned) as Tensor4D, mask };
}

/** Mean of `t` `[B, H, W, C]` over the pixels where `mask` `[B, H, W, 1]` is 1 (all pixels for a null mask). */
function maskedMean(t: Tensor4D, mask: Tensor4D | null): tf.Scalar {
  if (!mask) return tf.mean(t);
  return tf.div(tf.sum(tf.mul(t, mask)), tf.maximum(tf.mul(tf.sum(mask), t.shape[3]), 1));
}

/**
 * Scale of the features `[B, H, W, C]` a normalised MSE divides by, over the pixels of `mask` (null = all): their mean
 * square (`energy`) or their per-channel variance averaged over channels (`variance`). Differentiable.
 */
export function featureScale(f: Tensor4D, mask: Tensor4D | null, kind: 'energy' | 'variance'): tf.Scalar {
  return tf.tidy(() => {
    if (kind === 'energy') return maskedMean(tf.square(f) as Tensor4D, mask);
    if (!mask) return tf.mean(tf.moments(f, [0, 1, 2]).variance);
    const count = tf.maximum(tf.sum(mask), 1);
    const mean = tf.div(tf.sum(tf.mul(f, mask), [0, 1, 2]), count); // [C]
    return tf.mean(tf.div(tf.sum(tf.mul(tf.squaredDifference(f, mean), mask), [0, 1, 2]), count));
  });
}

/**
 * MSE between `original` and `rotated` rotated back by −deg per sample: `[B, H, W, C]` float32 each → scalar. Averaged
 * over samples, pixels inside the valid rotation mask (all pixels for grid-aligned angles) and channels. With
 * `normalise` other than `none` the MSE is divided by `featureScale(original) + epsilon` (default ε 1e-6) on the same
 * pixels, so scaling both halves by any factor leaves it unchanged (the gradient flows through the denominator too).
 */
export function alignedMSE(
  original: Tensor4D,
  rotated: Tensor4D,
  degs: readonly number[],
  opts: { normalise?: EquivarianceNormalisation; epsilon?: number; action?: GroupAction } = {},
): tf.Scalar {
  return tf.tidy(() => {
    const { sq, mask } = alignedParts(original, rotated, degs, opts.action);
    const mse = maskedMean(sq, mask);
    const norm = opts.normalise ?? 'none';
    if (norm === 'none') return mse;
    return tf.div(mse, tf.add(featureScale(original, mask, norm), opts.epsilon ?? NORMALISED_MSE_EPSILON));
  });
}

const defaultSamplers = new Map<LossGroup, AngleSampler>();
function defaultSampler(group: LossGroup): AngleSampler {
  let s = defaultSamplers.get(group);
  if (!s) {
    s = makeAngleSampler(group, { seed: 0 });
    defaultSamplers.set(group, s);
  }
  return s;
}

/** Options of `equivarianceObjective`. */
export interface EquivarianceLossOptions {
  /** β_i per layer (length = number of layers) or one β for every layer. Layers with β_i = 0 are skipped. */
  betas: readonly number[] | number;
  /** Task loss on the output of the concatenated batch `[x; ϕ_g x]` (2B rows: labels must be repeated). */
  taskLoss: (out: Tensor) => tf.Scalar;
  /**
   * Group of the transformed copy (default C4): selects the action (rotation, or scale for S4) and, without `sampler`,
   * the default sampler.
   */
  group?: LossGroup;
  /** Parameter sampler (default: one module-wide stream per group, seed 0; pass your own for reproducible runs). */
  sampler?: AngleSampler;
  /** Training mode of the forward pass (default true). */
  training?: boolean;
}

/** Losses of one batch: all tensors are new (scalars) and owned by the caller. */
export interface EquivarianceLossResult {
  total: tf.Scalar;
  task: tf.Scalar;
  /** MSE_i per layer (unweighted); a zero scalar for layers with β_i = 0. */
  layers: tf.Scalar[];
  /** The angle (degrees) each sample was rotated by (the scale factor for S4). */
  angles: number[];
}

function resolveBetas(betas: readonly number[] | number, n: number): number[] {
  const bs = typeof betas === 'number' ? new Array<number>(n).fill(betas) : [...betas];
  if (bs.length !== n) throw new EquivarianceError(`${bs.length} betas for a model with ${n} layers`);
  if (bs.some((v) => !Number.isFinite(v) || v < 0)) throw new EquivarianceError(`betas must be finite and >= 0, got [${bs}]`);
  return bs;
}

function checkFeatures(model: GroupedModel, f: ForwardFeatures, batch: number): void {
  const lays = model.layerLayouts;
  if (lays && lays.length !== f.layers.length) {
    throw new EquivarianceError(`model declares ${lays.length} layer layouts but returned ${f.layers.length} feature maps`);
  }
  f.layers.forEach((t, i) => {
    if (t.rank !== 4 || t.shape[0] !== batch) {
      throw new EquivarianceError(`layer ${i} features must be [${batch}, H, W, C], got [${t.shape.join(', ')}]`);
    }
    if (lays && t.shape[3] !== lays[i].pooledChannels) {
      throw new EquivarianceError(
        `layer ${i} pooled features have ${t.shape[3]} channels, its layout ${lays[i].spec.name}×${lays[i].channels} ` +
          `pools to ${lays[i].pooledChannels}`,
      );
    }
  });
}

/**
 * IEN's training objective on a batch `x` (`[B, H, W, C]` float32): task loss on `[x; ϕ_g x]` plus Σ β_i · MSE_i.
 * Differentiable w.r.t. the model's variables (call it inside `optimizer.minimize(() => ...total)` or `tf.variableGrads`).
 */
export function equivarianceObjective(
  model: GroupedModel,
  x: Tensor4D,
  opts: EquivarianceLossOptions,
): EquivarianceLossResult {
  if (x.rank !== 4) throw new EquivarianceError(`input must be [B, H, W, C], got [${x.shape.join(', ')}]`);
  const b = x.shape[0];
  const group = opts.group ?? 'C4';
  const action = actionOf(group);
  const sampler = opts.sampler ?? defaultSampler(group);
  const angles = sampler(b);
  if (angles.length !== b) throw new EquivarianceError(`angle sampler returned ${angles.length} angles for ${b} samples`);
  const res = tf.tidy(() => {
    const both = tf.concat([x, action.apply(x, angles)], 0);
    const f = model.forwardFeatures(both, opts.training ?? true);
    checkFeatures(model, f, 2 * b);
    const betas = resolveBetas(opts.betas, f.layers.length);
    const task = opts.taskLoss(f.out);
    const layers = f.layers.map((t, i) => {
      if (betas[i] === 0) return tf.scalar(0);
      const [, h, w, c] = t.shape;
      const orig = tf.slice(t, [0, 0, 0, 0], [b, h, w, c]);
      const rot = tf.slice(t, [b, 0, 0, 0], [b, h, w, c]);
      return alignedMSE(orig, rot, angles, { action });
    });
    let total: tf.Scalar = task;
    layers.forEach((l, i) => {
      if (betas[i] > 0) total = tf.add(total, tf.mul(l, betas[i]));
    });
    return { total, task, layers };
  });
  return { ...res, angles };
}

/**
 * Per-layer equivariance error: mean over the angles of the per-angle MSE (`perAngle[a][i]`), plain numbers. The
 * normalised errors divide each angle's MSE by the scale of the unrotated features on the same pixels (`featureScale`:
 * mean square for `energy`, mean per-channel variance for `variance`) before averaging over the angles: unitless, the
 * same for any feature scale, ~1 for features unrelated to their rotated copies.
 */
export interface EquivarianceReport {
  perLayer: number[];
  perAngle: number[][];
  angles: number[];
  normalised: { energy: number[]; variance: number[] };
}

/**
 * Equivariance error L_G per layer (paper Tables 5 and 9) on fixed `inputs` (`[B, H, W, C]` float32) and rotations
 * `angles` (degrees; every input is rotated by every angle): for each angle the pooled features of ϕ_g x, rotated back,
 * are compared with those of x by (masked) MSE, absolute and normalised. With `action` = SCALE_ACTION the `angles` are
 * scale factors. Evaluation mode (`training = false`); no tensors are left behind.
 */
export async function equivarianceError(
  model: GroupedModel,
  inputs: Tensor4D,
  angles: readonly number[],
  action: GroupAction = ROTATION_ACTION,
): Promise<EquivarianceReport> {
  if (inputs.rank !== 4) throw new EquivarianceError(`inputs must be [B, H, W, C], got [${inputs.shape.join(', ')}]`);
  if (angles.length === 0) throw new EquivarianceError('equivarianceError needs at least one angle');
  const b = inputs.shape[0];
  // per angle: [3, layers] = MSE, MSE / energy, MSE / variance
  const rows: number[][][] = [];
  for (const a of angles) {
    const degs = new Array<number>(b).fill(a);
    const stacked = tf.tidy(() => {
      const f = model.forwardFeatures(tf.concat([inputs, action.apply(inputs, degs)], 0), false);
      checkFeatures(model, f, 2 * b);
      const ms = f.layers.map((t) => {
        const [, h, w, c] = t.shape;
        const orig = tf.slice(t, [0, 0, 0, 0], [b, h, w, c]);
        const { sq, mask } = alignedParts(orig, tf.slice(t, [b, 0, 0, 0], [b, h, w, c]), degs, action);
        const mse = maskedMean(sq, mask);
        const rel = (kind: 'energy' | 'variance') => tf.div(mse, tf.add(featureScale(orig, mask, kind), NORMALISED_MSE_EPSILON));
        return tf.stack([mse, rel('energy'), rel('variance')]);
      });
      return ms.length ? tf.stack(ms, 1) : tf.zeros([3, 0]);
    });
    const v = Array.from(await stacked.data());
    const n = stacked.shape[1] as number;
    stacked.dispose();
    rows.push([0, 1, 2].map((k) => v.slice(k * n, (k + 1) * n)));
  }
  const n = rows[0][0].length;
  const mean = (k: number) => Array.from({ length: n }, (_, i) => rows.reduce((s, r) => s + r[k][i], 0) / rows.length);
  return {
    perLayer: mean(0),
    perAngle: rows.map((r) => r[0]),
    angles: [...angles],
    normalised: { energy: mean(1), variance: mean(2) },
  };
}

/** How a group element acts on a tensor: `[B, H, W, C]` float32 → new tensor (caller disposes). */
export type TensorAction = (x: Tensor4D) => Tensor4D;

/** Result of `checkEquivariance`: max |f(ϕ_in x) − ϕ_out f(x)| and its MSE inside the mask, and max |f(x)| for scale. */
export interface EquivarianceCheck {
  maxAbsError: number;
  mse: number;
  maxAbsOutput: number;
}

/**
 * Reusable test helper: compare `f(inAction(x))` with `outAction(f(x))` (optionally only where `mask` `[1|B, H, W, 1]`
 * is 1) and throw EquivarianceError when the max abs error exceeds `tol` (default: never throws). Sync; leaves no
 * tensors behind; never disposes `x` or `mask`.
 */
export function checkEquivariance(
  f: (x: Tensor4D) => Tensor4D,
  x: Tensor4D,
  inAction: TensorAction,
  outAction: TensorAction,
  opts: { mask?: Tensor4D; tol?: number; label?: string } = {},
): EquivarianceCheck {
  const [errT, mseT, outT] = tf.tidy(() => {
    const a = f(inAction(x));
    const bb = outAction(f(x));
    if (a.shape.join() !== bb.shape.join()) {
      throw new EquivarianceError(`${opts.label ?? 'checkEquivariance'}: shapes differ [${a.shape}] vs [${bb.shape}]`);
    }
    let d = tf.abs(tf.sub(a, bb));
    let count: tf.Tensor = tf.scalar(d.size);
    if (opts.mask) {
      d = tf.mul(d, opts.mask);
      count = tf.mul(tf.sum(tf.mul(tf.onesLike(d), opts.mask)), 1);
    }
    return [tf.max(d), tf.div(tf.sum(tf.square(d)), tf.maximum(count, 1)), tf.max(tf.abs(bb))];
  });
  const r = { maxAbsError: errT.dataSync()[0], mse: mseT.dataSync()[0], maxAbsOutput: outT.dataSync()[0] };
  tf.dispose([errT, mseT, outT]);
  if (opts.tol !== undefined && !(r.maxAbsError <= opts.tol)) {
    throw new EquivarianceError(
      `${opts.label ?? 'checkEquivariance'}: max abs error ${r.maxAbsError} > tolerance ${opts.tol} ` +
        `(mse ${r.mse}, max |output| ${r.maxAbsOutput})`,
    );
  }
  return r;
}
