/**
 * The Rot-MNIST classification network of method.md (reference `models/CNNBasic.py`,
 * github.com/transmuteAI/implicit-networks), built from a typed spec on the same tracker/ien layers the trackers use.
 * Browser-safe. Serialisation: tracker/classifier/weights.ts (bytes) and tracker/node/classifier-files.ts (Node files).
 *
 * Body: six bias-free convs, each + BatchNorm + ELU:
 *   7×7 pad 1 → 5×5 pad 2 → maxpool 2 → 5×5 pad 2 → 5×5 pad 2 → maxpool 2 → 5×5 pad 2 → 5×5 pad 0
 *   (28×28 input: maps 24, 24→12, 12, 12→6, 6, 2).
 * Head: group pooling of the last block → global average pool → FC → BatchNorm → ELU → FC → logits.
 *
 * `forwardFeatures` returns the group-pooled output (after BN + ELU, before the max pool) of every conv block, so
 * `equivarianceObjective` / `equivarianceError` of tracker/ien work on every variant. ELU is monotone, so pooling
 * after it equals pooling before it. For gcnn-c4 / steerable-c8 BatchNorm statistics and affine parameters are shared
 * by the N orientations of a field (e2cnn's InnerBatchNorm), which keeps the C4 network exactly invariant to 90° turns.
 */
import { tf } from './tf.js';
import type { Tensor, Tensor2D, Tensor4D, Variable } from './tf.js';
import { applyBatchNorm, makeBatchNorm, type BatchNormParams } from './batchnorm.js';
import { IenConv2d, initTensor, ownedVariable, zeroVariable, type GroupedLayer } from './ien/conv.js';
import { C4GroupConv, C4LiftingConv, D4GroupConv, D4LiftingConv } from './ien/gconv.js';
import { SteerableGroupConv, SteerableLiftingConv } from './ien/steerable.js';
import { groupPool } from './ien/pool.js';
import type { ForwardFeatures, GroupedModel } from './ien/equivariance.js';
import type { GroupLayout } from './ien/groups.js';
import {
  CONV_KERNELS, CONV_PADDINGS, MAXPOOL_AFTER, resolveClassifierSpec, type ClassifierSpec, type ClassifierSpecInput,
  type ResolvedClassifier,
} from './classifier/spec.js';

export * from './classifier/spec.js';

/** A named tensor of the model (trainable or BatchNorm moving statistic). */
export interface ClassifierWeight {
  name: string;
  variable: Variable;
  trainable: boolean;
}

/** Error for an input or weight set that does not fit the model (names the field / weight). */
export class ClassifierError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClassifierError';
  }
}

interface Dense {
  kernel: Variable;
  bias: Variable;
}

function dense(inputs: number, outputs: number, seed?: number): Dense {
  return {
    kernel: ownedVariable(initTensor([inputs, outputs], inputs, outputs, 'xavier', seed)),
    bias: zeroVariable([outputs]),
  };
}

function convWeight(layer: GroupedLayer): Variable {
  if (layer instanceof SteerableLiftingConv || layer instanceof SteerableGroupConv) return layer.coefficients;
  if (layer instanceof IenConv2d || layer instanceof C4LiftingConv || layer instanceof C4GroupConv ||
    layer instanceof D4LiftingConv || layer instanceof D4GroupConv) return layer.kernel;
  throw new ClassifierError('unknown conv layer type');
}

/** Build the six conv layers of a resolved spec. */
function buildConvs(r: ResolvedClassifier): GroupedLayer[] {
  const { spec } = r;
  const seedOf = (i: number) => (spec.seed === undefined ? undefined : spec.seed * 1009 + i);
  return r.channels.map((c, i) => {
    const inC = i === 0 ? spec.inputChannels : r.channels[i - 1];
    const common = { kernelSize: CONV_KERNELS[i], padding: CONV_PADDINGS[i], bias: false, seed: seedOf(i) };
    switch (spec.variant) {
      case 'gcnn-c4':
        return i === 0
          ? new C4LiftingConv({ ...common, inChannels: inC, outFields: c / 4 })
          : new C4GroupConv({ ...common, inChannels: inC / 4, outFields: c / 4 });
      case 'gcnn-d4':
        return i === 0
          ? new D4LiftingConv({ ...common, inChannels: inC, outFields: c / 8 })
          : new D4GroupConv({ ...common, inChannels: inC / 8, outFields: c / 8 });
      case 'steerable-c8':
        return i === 0
          ? new SteerableLiftingConv({ ...common, inChannels: inC, outFields: c / 8, order: 8 })
          : new SteerableGroupConv({ ...common, inChannels: inC / 8, outFields: c / 8, order: 8 });
      default:
        // 'he' init: the reference uses PyTorch's default conv init; Xavier makes deep ELU stacks start too small
        return new IenConv2d({ ...common, inChannels: inC, outChannels: c, groups: r.groups, init: 'he' });
    }
  });
}

/**
 * The classifier. Owns its variables (release with `dispose()`). Inputs: `[B, H, W, inputChannels]` float32 images in
 * [0, 1] (28×28 for Rot-MNIST). Implements `GroupedModel`.
 */
export class Classifier implements GroupedModel {
  readonly spec: ClassifierSpec;
  readonly resolved: ResolvedClassifier;
  /** Group layout of each conv layer's output (what its pooled features pool). */
  readonly layerLayouts: readonly GroupLayout[];
  private readonly convs: GroupedLayer[];
  private readonly bns: BatchNormParams[];
  private readonly fc1: Dense;
  private readonly bnFc: BatchNormParams;
  private readonly fc2: Dense;
  private disposed = false;

  constructor(spec: ClassifierSpecInput | ClassifierSpec) {
    this.resolved = resolveClassifierSpec(spec);
    this.spec = this.resolved.spec;
    this.layerLayouts = this.resolved.layouts;
    this.convs = buildConvs(this.resolved);
    this.bns = this.resolved.channels.map((c) => makeBatchNorm(c / this.resolved.fieldSize));
    const last = this.resolved.pooled[5];
    const seed = this.spec.seed === undefined ? undefined : this.spec.seed * 1009 + 100;
    this.fc1 = dense(last, this.resolved.hidden, seed);
    this.bnFc = makeBatchNorm(this.resolved.hidden);
    this.fc2 = dense(this.resolved.hidden, this.spec.classes, seed === undefined ? undefined : seed + 1);
  }

  private checkInput(x: Tensor): asserts x is Tensor4D {
    if (this.disposed) throw new ClassifierError('classifier used after dispose()');
    if (x.rank !== 4 || x.shape[3] !== this.spec.inputChannels) {
      throw new ClassifierError(
        `classifier input must be [B, H, W, ${this.spec.inputChannels}] float32, got [${x.shape.join(', ')}]`);
    }
    const [, h, w] = x.shape as number[];
    if (h < 16 || w < 16) {
      throw new ClassifierError(`classifier input must be at least 16×16 (two 2× pools and a valid 5×5), got ${h}×${w}`);
    }
  }

  /**
   * Forward pass: pooled features of the six conv blocks (`[B, H_i, W_i, pooled_i]` float32) and the logits
   * (`[B, classes]` float32). `training` uses batch statistics (and updates the moving averages) in BatchNorm.
   */
  forwardFeatures(x: Tensor4D, training: boolean): ForwardFeatures {
    this.checkInput(x);
    const { bnEps, bnMomentum } = this.spec;
    const fs = this.resolved.fieldSize;
    return tf.tidy(() => {
      let h: Tensor4D = x;
      const layers: Tensor4D[] = [];
      this.convs.forEach((conv, i) => {
        const y = applyBatchNorm(conv.apply(h, training), this.bns[i], training, bnEps, bnMomentum, fs);
        h = tf.elu(y) as Tensor4D;
        layers.push(groupPool(h, this.layerLayouts[i]));
        if ((MAXPOOL_AFTER as readonly number[]).includes(i)) h = tf.maxPool(h, 2, 2, 'valid');
      });
      const pooled = tf.mean(layers[5], [1, 2]) as Tensor2D;
      const z1 = tf.add(tf.matMul(pooled, this.fc1.kernel as unknown as Tensor2D), this.fc1.bias);
      const [b, hd] = z1.shape;
      const n1 = applyBatchNorm(tf.reshape(z1, [b, 1, 1, hd]) as Tensor4D, this.bnFc, training, bnEps, bnMomentum);
      const a1 = tf.elu(tf.reshape(n1, [b, hd])) as Tensor2D;
      const out = tf.add(tf.matMul(a1, this.fc2.kernel as unknown as Tensor2D), this.fc2.bias) as Tensor2D;
      return { layers, out };
    });
  }

  /** Logits `[B, classes]` float32 (inference mode unless `training`). */
  logits(x: Tensor4D, training = false): Tensor2D {
    return tf.tidy(() => {
      const f = this.forwardFeatures(x, training);
      return f.out as Tensor2D;
    });
  }

  /** Class probabilities `[B, classes]` float32 (softmax of the inference-mode logits). */
  predict(images: Tensor4D): Tensor2D {
    return tf.tidy(() => tf.softmax(this.logits(images, false)));
  }

  /** Every model tensor with a stable name (`conv3/kernel`, `bn3/moving_mean`, `fc1/bias`, ...), in a fixed order. */
  namedWeights(): ClassifierWeight[] {
    const out: ClassifierWeight[] = [];
    const bn = (prefix: string, p: BatchNormParams) => {
      out.push({ name: `${prefix}/gamma`, variable: p.gamma, trainable: true });
      out.push({ name: `${prefix}/beta`, variable: p.beta, trainable: true });
      out.push({ name: `${prefix}/moving_mean`, variable: p.movingMean, trainable: false });
      out.push({ name: `${prefix}/moving_var`, variable: p.movingVar, trainable: false });
    };
    this.convs.forEach((c, i) => {
      const w = convWeight(c);
      out.push({ name: `conv${i + 1}/${w === (c as { kernel?: Variable }).kernel ? 'kernel' : 'coefficients'}`, variable: w, trainable: true });
      bn(`bn${i + 1}`, this.bns[i]);
    });
    out.push({ name: 'fc1/kernel', variable: this.fc1.kernel, trainable: true });
    out.push({ name: 'fc1/bias', variable: this.fc1.bias, trainable: true });
    bn('bn_fc', this.bnFc);
    out.push({ name: 'fc2/kernel', variable: this.fc2.kernel, trainable: true });
    out.push({ name: 'fc2/bias', variable: this.fc2.bias, trainable: true });
    return out;
  }

  /** The trainable variables in `namedWeights()` order (the optimiser's order). */
  get trainableVariables(): Variable[] {
    return this.namedWeights().filter((w) => w.trainable).map((w) => w.variable);
  }

  /** Number of trainable parameters (conv weights / basis coefficients, BN γ/β, FC weights and biases). */
  parameterCount(): number {
    return this.trainableVariables.reduce((s, v) => s + v.size, 0);
  }

  /** Output channels and pooled channels of the six conv layers, and their sums. */
  channelCounts(): { channels: number[]; pooled: number[]; totalChannels: number; totalPooled: number } {
    const { channels, pooled } = this.resolved;
    return {
      channels: [...channels], pooled: [...pooled],
      totalChannels: channels.reduce((a, b) => a + b, 0), totalPooled: pooled.reduce((a, b) => a + b, 0),
    };
  }

  /**
   * Assign weights by name (all of `namedWeights()` must be present with matching shapes; extra names are an error).
   * Does not take ownership of `tensors`. `where` names the source in errors.
   */
  loadWeights(tensors: Record<string, Tensor>, where: string): void {
    const named = this.namedWeights();
    const known = new Set(named.map((w) => w.name));
    const extra = Object.keys(tensors).filter((k) => !known.has(k));
    if (extra.length) throw new ClassifierError(`${where}: unexpected weight "${extra[0]}" for a ${this.spec.variant} classifier`);
    for (const w of named) {
      const t = tensors[w.name];
      if (!t) throw new ClassifierError(`${where}: weight "${w.name}" is missing`);
      if (t.shape.join(',') !== w.variable.shape.join(',')) {
        throw new ClassifierError(`${where}: weight "${w.name}" has shape [${t.shape}], the model expects [${w.variable.shape}]`);
      }
    }
    tf.tidy(() => named.forEach((w) => w.variable.assign(tf.cast(tensors[w.name], 'float32'))));
  }

  /** Release all variables and cached filter banks. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.convs.forEach((c) => c.dispose());
    for (const p of [...this.bns, this.bnFc]) tf.dispose([p.gamma, p.beta, p.movingMean, p.movingVar]);
    tf.dispose([this.fc1.kernel, this.fc1.bias, this.fc2.kernel, this.fc2.bias]);
  }
}

/** Build a classifier from a spec (parsed; throws ClassifierSpecError naming the field). */
export function createClassifier(spec: ClassifierSpecInput | ClassifierSpec): Classifier {
  return new Classifier(spec);
}

/**
 * Digits as network input: `images` `[N, S, S]` uint8 (row-major, 0–255) → `[N, S, S, 1]` float32 in [0, 1].
 * `start`/`count` select a slice of the N images.
 */
export function digitsToTensor(images: Uint8Array, size: number, start = 0, count?: number): Tensor4D {
  const n = count ?? images.length / (size * size) - start;
  const px = size * size;
  if (!Number.isInteger(n) || n < 0 || (start + n) * px > images.length) {
    throw new ClassifierError(`digitsToTensor: cannot take ${n} images of ${size}×${size} from offset ${start} of ${images.length} bytes`);
  }
  const f = new Float32Array(n * px);
  const src = images.subarray(start * px, (start + n) * px);
  for (let i = 0; i < f.length; i++) f[i] = src[i] / 255;
  return tf.tensor4d(f, [n, size, size, 1]);
}
