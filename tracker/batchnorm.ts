/**
 * BatchNorm shared by every backbone: batch statistics and moving-average updates (PyTorch momentum convention) in
 * training, moving averages at inference. With `fieldSize` N > 1 the statistics and affine parameters are shared by
 * the N orientation channels of each field (channel `f·N + r`), as e2cnn's InnerBatchNorm does, so that a per-channel
 * normalisation does not break the rotation equivariance of C4/C8 fields.
 */
import { tf } from './tf.js';
import type { Tensor, Tensor1D, Tensor4D, Variable } from './tf.js';
import { BN_TRAIN_KERNEL, hasFusedKernel, runFused } from './fused-kernels.js';

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** BatchNorm parameters of one layer: γ/β trainable, moving mean/variance not; each `[C / fieldSize]`. */
export interface BatchNormParams {
  gamma: Variable;
  beta: Variable;
  movingMean: Variable;
  movingVar: Variable;
}

/** A variable that takes over `t`'s data (tf.variable keeps a reference; the initial tensor is released). */
export function ownVariable(t: Tensor, trainable = true): Variable {
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
}

/** Fresh BatchNorm parameters for `n` features: γ = 1, β = 0, mean 0, variance 1. */
export function makeBatchNorm(n: number): BatchNormParams {
  return {
    gamma: ownVariable(tf.ones([n])),
    beta: ownVariable(tf.zeros([n])),
    movingMean: ownVariable(tf.zeros([n]), false),
    movingVar: ownVariable(tf.ones([n]), false),
  };
}

/** Repeat each of F per-field values N times → `[F·N]` (channel `f·N + r`). */
function perChannel(v: Tensor, n: number): Tensor1D {
  return n === 1 ? (v as Tensor1D) : (tf.reshape(tf.tile(tf.reshape(v, [-1, 1]), [1, n]), [-1]) as Tensor1D);
}

/**
 * Apply BatchNorm to `y` `[B, H, W, C]`, then Relu when `relu`; in training, also update the moving averages. Call
 * inside a tidy.
 */
export function applyBatchNorm(
  y: Tensor4D,
  p: BatchNormParams,
  training: boolean,
  eps: number,
  momentum: number,
  fieldSize = 1,
  relu = false,
): Tensor4D {
  if (training && hasFusedKernel(BN_TRAIN_KERNEL) && y.dtype === 'float32') {
    // One kernel for statistics, normalisation and the Relu, and one for the whole gradient (through the statistics).
    const [out, mean, variance] = runFused(BN_TRAIN_KERNEL, { x: y, gamma: p.gamma, beta: p.beta }, { eps, fieldSize, relu });
    updateMovingAverages(p, mean, variance, size(y.shape) / (y.shape[3] / fieldSize), momentum);
    return out as Tensor4D;
  }
  const out = normalise(y, p, training, eps, momentum, fieldSize);
  return relu ? tf.relu(out) : out;
}

/** BatchNorm through the tfjs op chain (see applyBatchNorm). */
function normalise(y: Tensor4D, p: BatchNormParams, training: boolean, eps: number, momentum: number, fieldSize: number): Tensor4D {
  if (!training) {
    return tf.batchNorm(y, perChannel(p.movingMean, fieldSize), perChannel(p.movingVar, fieldSize),
      perChannel(p.beta, fieldSize), perChannel(p.gamma, fieldSize), eps) as Tensor4D;
  }
  const [B, H, W, C] = y.shape;
  const grouped = fieldSize === 1 ? y : tf.reshape(y, [B, H, W, C / fieldSize, fieldSize]);
  const axes = fieldSize === 1 ? [0, 1, 2] : [0, 1, 2, 4];
  const { mean, variance } = tf.moments(grouped, axes);
  const out = tf.batchNorm(y, perChannel(mean, fieldSize), perChannel(variance, fieldSize),
    perChannel(p.beta, fieldSize), perChannel(p.gamma, fieldSize), eps) as Tensor4D;
  updateMovingAverages(p, mean, variance, B * H * W * fieldSize, momentum);
  return out;
}

/**
 * Moving averages from a batch's `mean` and biased `variance` over `n` values per statistic (PyTorch convention: the
 * unbiased variance is averaged). Plain assignments: the gradient tape never records Variable.assign.
 */
function updateMovingAverages(p: BatchNormParams, mean: Tensor, variance: Tensor, n: number, momentum: number): void {
  const unbiased = tf.mul(variance, n / Math.max(1, n - 1));
  p.movingMean.assign(tf.add(tf.mul(p.movingMean, 1 - momentum), tf.mul(mean, momentum)));
  p.movingVar.assign(tf.add(tf.mul(p.movingVar, 1 - momentum), tf.mul(unbiased, momentum)));
}

/**
 * Assign saved weights to named variables: every name and shape is checked first (an error names `where`, the weight
 * and the shapes), then all are assigned, so a bad file never leaves a half-loaded model.
 */
export function assignNamedWeights(
  named: { name: string; tensor: Tensor }[],
  weights: Record<string, Tensor>,
  where: string,
): void {
  for (const { name, tensor } of named) {
    const w = weights[name];
    if (!w) throw new Error(`${where}: missing weight "${name}"`);
    if (w.shape.join(',') !== tensor.shape.join(',')) {
      throw new Error(`${where}: weight "${name}" has shape [${w.shape}] but the spec needs [${tensor.shape}]`);
    }
  }
  for (const { name, tensor } of named) (tensor as Variable).assign(weights[name]);
}
