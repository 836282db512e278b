/**
 * tracker/ien — Implicitly Equivariant Networks (IEN) and the explicit equivariant baselines. Browser-safe.
 *
 * Usage (a two-layer IEN feature extractor trained with the equivariance loss):
 * ```ts
 * import { tf } from '../tf.js';
 * import { IenConv2d, groupPool, hetWidth, equivarianceObjective, equivarianceError, makeAngleSampler,
 *          type GroupedModel } from './ien/index.js';
 *
 * const c1 = new IenConv2d({ inChannels: 1, outChannels: 128, kernelSize: 7, groups: 'R4' });
 * const c2 = new IenConv2d({ inChannels: 128, outChannels: hetWidth('R4-2-1', 192), kernelSize: 5, groups: 'R4-2-1' });
 * const model: GroupedModel = {
 *   layerLayouts: [c1.outLayout, c2.outLayout],
 *   forwardFeatures(x, training) {
 *     const h1 = tf.elu(c1.apply(x, training));
 *     const h2 = tf.elu(c2.apply(h1, training));          // the next layer gets all channels
 *     const p2 = c2.pool(h2);                              // group pooling: max over each group's Λ maps
 *     return { layers: [c1.pool(h1), p2], out: tf.mean(p2, [1, 2]) };
 *   },
 * };
 * const sampler = makeAngleSampler('C4', { seed: 1 });   // C8: 45° steps, bilinear, masked
 * const opt = tf.train.adam(1e-3);
 * opt.minimize(() => equivarianceObjective(model, xBatch, {
 *   betas: 1, sampler, taskLoss: (out) => tf.losses.softmaxCrossEntropy(labelsTwice, out),
 * }).total);
 * const { perLayer } = await equivarianceError(model, xFixed, [90, 180, 270]);   // L_G per layer (Tables 5, 9)
 * ```
 * Baselines: `C4LiftingConv`/`C4GroupConv` (GCNN, exact on the grid) and `SteerableLiftingConv`/`SteerableGroupConv`
 * (E2CNN-style C8). Their outputs are regular fields (channel `o·N + r`); `groupPool(y, layer.outLayout)` makes them
 * invariant. Rotation sense everywhere: positive = counter-clockwise on screen (as geometry.rotateBoxBounds).
 */
export {
  type GroupSpec, type GroupBlock, type GroupLayout, GroupSpecError, makeGroupSpec, homogeneousSpec, parseGroupSpec,
  channelStep, applyGroupSpec, maxGroupSize, channelSaving, hetWidth, describeLayout,
} from './groups.js';
export { GroupLayoutError, checkLayout, groupPool, rollOrientation } from './pool.js';
export {
  type RotationSampling, RotationError, normalizeDegrees, rotationSampling, rot90, flipHorizontal, rotateBatch, rotate,
  rotationMask, isGridAligned,
} from './rotate.js';
export {
  type ForwardFeatures, type GroupedModel, type RotationGroup, type AngleSampler, type EquivarianceLossOptions,
  type EquivarianceLossResult, type EquivarianceReport, type TensorAction, type EquivarianceCheck, EquivarianceError,
  mulberry32, groupAngles, makeAngleSampler, alignedMSE, equivarianceObjective, equivarianceError, checkEquivariance,
} from './equivariance.js';
export {
  type Padding, type InitKind, type GroupedLayer, type IenConvOptions, LayerError, checkPositiveInt, checkInput,
  initTensor, ownedVariable, zeroVariable, IenConv2d,
} from './conv.js';
export { ExpandedFilterCache } from './filtercache.js';
export {
  type C4ConvOptions, rot90Filter, expandC4Lifting, expandC4Group, C4LiftingConv, C4GroupConv,
} from './gconv.js';
export {
  type BasisElement, type CircularHarmonicBasis, type SteerableConvOptions, e2cnnBasisParams, circularHarmonicBasis,
  SteerableLiftingConv, SteerableGroupConv,
} from './steerable.js';
