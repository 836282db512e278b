/**
 * The objective of one training step: forward both branches (with rotated copies and per-layer features when an
 * auxiliary loss asks for them), the balanced logistic loss on the responses, plus every auxiliary term.
 * Everything runs inside the caller's gradient tape (`tf.variableGrads`).
 */
import { tf } from '../tracker/tf.js';
import type { Tensor4D } from '../tracker/tf.js';
import type { SiamFCNet } from '../tracker/siamfc/network.js';
import type { ForwardFeatures, GroupedModel, RotationGroup } from '../tracker/ien/equivariance.js';
import { groupAngles } from '../tracker/ien/equivariance.js';
import { rotateBatch } from '../tracker/ien/rotate.js';
import type { LabelMap } from './labels.js';
import { type AuxContext, type AuxLossHook, type CopyRotation, balancedLogisticLoss, copyRotation } from './losses.js';
import type { Rng } from './rng.js';

type Scalar = tf.Scalar;

/** Losses of one step: `total` and its named components (`logistic`, then each auxiliary term). */
export interface StepLosses {
  total: Scalar;
  components: { name: string; value: Scalar }[];
}

/** True when the backbone exposes per-layer pooled features (an IEN / C4 / C8 backbone from tracker/ien). */
export function hasFeatures(backbone: unknown): backbone is GroupedModel {
  return typeof (backbone as Partial<GroupedModel>).forwardFeatures === 'function';
}

/** One rotation angle per pair for the hooks' group, from the step's generator (C4: 90/180/270, C8: 45…315). */
export function drawAuxAngles(group: RotationGroup, n: number, rng: Rng): number[] {
  const angles = groupAngles(group);
  return Array.from({ length: n }, () => rng.pick(angles));
}

/**
 * Angles of the rotated copies of `n` pairs (degrees): `z` for the exemplar copies, `x` for the search copies (the same
 * array unless `spec.independent`). Group angles as `drawAuxAngles`; `uniform` draws U[−maxDegrees, maxDegrees). The
 * exemplar angles are drawn first, so a shared-angle spec draws exactly what `drawAuxAngles` did before.
 */
export function drawCopyAngles(spec: CopyRotation, n: number, rng: Rng): { z: number[]; x: number[] } {
  const draw = () =>
    spec.angles === 'uniform'
      ? Array.from({ length: n }, () => rng.uniform(-spec.maxDegrees, spec.maxDegrees))
      : drawAuxAngles(spec.group, n, rng);
  const z = draw();
  return { z, x: spec.independent ? draw() : z };
}

/**
 * Rotate image crops `[B, H, W, 3]` (0–255) per sample; pixels that come from outside the crop (non-90° angles) take
 * the sample's mean colour, as the crops' own padding does, rather than black.
 */
export function rotateCrops(x: Tensor4D, angles: readonly number[]): Tensor4D {
  return tf.tidy(() => {
    if (angles.every((a) => a % 90 === 0)) return rotateBatch(x, angles);
    const mean = tf.mean(x, [1, 2], true);
    return tf.add(rotateBatch(tf.sub(x, mean) as Tensor4D, angles), mean) as Tensor4D;
  });
}

/**
 * Losses of a step. `z` `[B, E, E, 3]`, `x` `[B, S, S, 3]` float32 0–255; `labels` the training label map; `hooks`
 * the auxiliary losses; `rng` draws their rotation angles. Call inside `tf.variableGrads`; returns new scalars.
 */
export function stepLosses(
  net: SiamFCNet,
  z: Tensor4D,
  x: Tensor4D,
  labels: LabelMap,
  hooks: readonly AuxLossHook[],
  step: number,
  rng: Rng,
): StepLosses {
  const b = z.shape[0];
  const specs = new Map<string, CopyRotation>();
  for (const h of hooks) {
    if (h.rotations === undefined) continue;
    const r = copyRotation(h.rotations);
    specs.set(JSON.stringify(r), r);
  }
  if (specs.size > 1) throw new Error(`auxiliary losses ask for different rotated copies: ${[...specs.keys()].join(', ')}`);
  const spec = specs.size ? [...specs.values()][0] : undefined;
  const wantFeatures = hooks.some((h) => h.features);
  if (wantFeatures && !hasFeatures(net.backbone)) {
    throw new Error(
      `auxiliary loss "${hooks.find((h) => h.features)!.name}" needs per-layer features, but backbone ` +
        `"${net.backbone.spec.name}" (equivariance kind "${net.backbone.spec.equivariance.kind}") has no forwardFeatures()`,
    );
  }
  // Crops are centred on the target, so with independent angles the label map stays valid for the rotated half.
  const angles = spec ? drawCopyAngles(spec, b, rng) : undefined;
  const zz = angles ? (tf.concat([z, rotateCrops(z, angles.z)], 0) as Tensor4D) : z;
  const xx = angles ? (tf.concat([x, rotateCrops(x, angles.x)], 0) as Tensor4D) : x;
  let zFeatures: ForwardFeatures | undefined;
  let xFeatures: ForwardFeatures | undefined;
  let response: Tensor4D;
  if (wantFeatures) {
    const model = net.backbone as unknown as GroupedModel;
    zFeatures = model.forwardFeatures(zz, true);
    xFeatures = model.forwardFeatures(xx, true);
    response = net.xcorr(zFeatures.out as Tensor4D, xFeatures.out as Tensor4D);
  } else {
    response = net.forward(zz, xx, true);
  }
  const logistic = balancedLogisticLoss(response, labels);
  const ctx: AuxContext = {
    step, batch: b, z: zz, x: xx, response, zFeatures, xFeatures, angles: angles?.z, anglesZ: angles?.z, anglesX: angles?.x,
  };
  const components = [{ name: 'logistic', value: logistic }, ...hooks.flatMap((h) => h.loss(ctx))];
  const total = components.slice(1).reduce<Scalar>((s, c) => tf.add(s, c.value), logistic);
  return { total, components };
}
