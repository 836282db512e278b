/**
 * Names of the fused training-step kernels that a backend may register (native-cpu does: tracker/node/native-fused.ts),
 * and the check the model and training code use to take them. Browser-safe: nothing here depends on a backend; when
 * the active backend has no such kernel (cpu, wasm, webgl, or native-cpu without the add-on) the callers run their
 * ordinary tfjs op chains, which compute the same values.
 */
import { tf } from './tf.js';

/** SiamFC's per-sample cross-correlation: inputs `z` `[B, h, w, C]`, `x` `[B·k, H, W, C]` → `[B·k, H−h+1, W−w+1, 1]`. */
export const XCORR_KERNEL = 'RotTrackXcorr';
/** Its gradient: inputs `dy`, `z`, `x` → `[dz, dx]`. */
export const XCORR_GRAD_KERNEL = 'RotTrackXcorrGrad';
/**
 * BatchNorm with batch statistics: inputs `x` `[…, C]`, `gamma`, `beta` `[C / fieldSize]`; attrs `eps`, `fieldSize`,
 * `relu` (apply the Relu that follows in the same pass) → `[y, mean, variance]` (biased variance; statistics per field
 * of `fieldSize` adjacent channels).
 */
export const BN_TRAIN_KERNEL = 'RotTrackBatchNormTrain';
/** Its gradient: inputs `dy`, `x`, `mean`, `variance`, `gamma`, `dMean`, `dVariance` (and `y` with relu) → `[dx, dGamma, dBeta]`. */
export const BN_TRAIN_GRAD_KERNEL = 'RotTrackBatchNormTrainGrad';
/** One Adam step of one variable: inputs `w`, `g`, `m`, `v`; attrs as `AdamAttrs` → `[w', m', v']`. */
export const ADAM_KERNEL = 'RotTrackAdamUpdate';
/** One SGD-with-momentum step of one variable: inputs `w`, `g`, `vel`; attrs as `SgdAttrs` → `[w', vel']`. */
export const SGD_KERNEL = 'RotTrackSgdUpdate';
/** The gradient of Relu in one pass: inputs `dy`, `x` → `dx`. */
export const RELU_GRAD_KERNEL = 'RotTrackReluGrad';
/** The gradient of Max over trailing axes in one pass: inputs `dy`, `x`, `y` → `dx`. */
export const MAX_GRAD_KERNEL = 'RotTrackMaxGrad';
/**
 * A grouped conv, 'valid' padding (tracker/group-conv.ts): inputs `x` `[B, H, W, C]`, `filter` `[k, k, C/G, OC]`, optional
 * `bias` `[OC]`; attrs as `GroupConvAttrs` → `[B, OH, OW, OC]`.
 */
export const GROUP_CONV_KERNEL = 'RotTrackGroupConv2D';
/** Its input gradient: inputs `dy`, `filter`; attrs `GroupConvAttrs` and `inputShape` → `dx`. */
export const GROUP_CONV_GRAD_INPUT_KERNEL = 'RotTrackGroupConv2DBackpropInput';
/** Its filter gradient: inputs `x`, `dy`; attrs `GroupConvAttrs` and `filterShape` → `dw`. */
export const GROUP_CONV_GRAD_FILTER_KERNEL = 'RotTrackGroupConv2DBackpropFilter';

/** Attributes of GROUP_CONV_KERNEL: one stride for both axes, the group count G. */
export interface GroupConvAttrs {
  strides: number;
  groups: number;
}

/** Attributes of ADAM_KERNEL (training/optimizers.ts Adam; c1, c2 the bias corrections of this step). */
export interface AdamAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  c1: number;
  c2: number;
}

/** Attributes of SGD_KERNEL (training/optimizers.ts SgdMomentum). */
export interface SgdAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
}

/** True when the active backend registered the fused kernel `name`. */
export function hasFusedKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}

/** Runs a registered kernel by name (recorded on the gradient tape when it has a registered gradient). */
export function runFused(name: string, inputs: Record<string, tf.Tensor>, attrs: object = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? out : [out as tf.Tensor];
}
