/**
 * The IEN conv layer — an ordinary conv whose output channels are read as feature groups (a GroupLayout) — and the
 * small pieces every conv layer of tracker/ien shares (padding type, initialisers, the `GroupedLayer` interface).
 * Parameters are plain `tf.Variable`s owned by the layer and released by `dispose()`.
 */
import { tf } from '../tf.js';
import type { Tensor4D, Variable } from '../tf.js';
import { applyGroupSpec, type GroupLayout, type GroupSpec } from './groups.js';
import { groupPool } from './pool.js';

/** Conv padding as tf.conv2d takes it: 'same', 'valid' or a symmetric pixel count. */
export type Padding = 'same' | 'valid' | number;

/** Weight initialisers: Xavier/Glorot uniform (the reference code's `xavier_uniform`) or He normal (ReLU/ELU nets). */
export type InitKind = 'xavier' | 'he';

/** A conv layer whose output channels are feature groups; shared by IEN, GCNN and steerable layers. */
export interface GroupedLayer {
  /** Input channel count expected in `[B, H, W, C]`. */
  readonly inChannels: number;
  /** Group layout of the output channels (what `groupPool` pools). */
  readonly outLayout: GroupLayout;
  /** `[B, H, W, inChannels]` float32 → `[B, H', W', outLayout.channels]` float32. */
  apply(x: Tensor4D, training?: boolean): Tensor4D;
  /** The trainable variables (owned by the layer). */
  readonly trainableVariables: Variable[];
  /** Release the variables and any cached tensors. */
  dispose(): void;
}

/** Error thrown for bad layer options or an input that does not fit the layer. */
export class LayerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LayerError';
  }
}

/** Throw LayerError unless `n` is a positive integer; `what` names it. */
export function checkPositiveInt(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new LayerError(`${what} must be a positive integer, got ${n}`);
}

/** Throw LayerError unless `x` is `[B, H, W, channels]`; `layer` names the layer in the message. */
export function checkInput(layer: string, x: tf.Tensor, channels: number): asserts x is Tensor4D {
  if (x.rank !== 4) throw new LayerError(`${layer}: input must be [B, H, W, C], got shape [${x.shape.join(', ')}]`);
  if (x.shape[3] !== channels) {
    throw new LayerError(`${layer}: input has ${x.shape[3]} channels, the layer expects ${channels}`);
  }
}

/**
 * Random initial values of a `shape` tensor with the given fans: Xavier uniform U(±√(6/(fanIn+fanOut))) or He normal
 * N(0, 2/fanIn). Seeded when `seed` is given. New tensor owned by the caller.
 */
export function initTensor(shape: number[], fanIn: number, fanOut: number, kind: InitKind, seed?: number): tf.Tensor {
  if (kind === 'xavier') {
    const lim = Math.sqrt(6 / (fanIn + fanOut));
    return tf.randomUniform(shape, -lim, lim, 'float32', seed);
  }
  return tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed);
}

/** A trainable variable initialised from `init` (the initial tensor is consumed: disposed here). */
export function ownedVariable(init: tf.Tensor, name?: string): Variable {
  const v = tf.variable(init, true, name);
  init.dispose();
  return v;
}

/** A trainable zero-initialised float32 variable of `shape` (biases). */
export function zeroVariable(shape: number[], name?: string): Variable {
  return ownedVariable(tf.zeros(shape), name);
}

/** Options of `IenConv2d`. */
export interface IenConvOptions {
  inChannels: number;
  outChannels: number;
  /** Square kernel size in pixels. */
  kernelSize: number;
  stride?: number;
  /** Default 'same'. */
  padding?: Padding;
  dilation?: number;
  /** Add a bias (initialised to 0); default false (the reference Rot-MNIST model is bias-free, BN follows). */
  bias?: boolean;
  /** Default 'xavier' (reference code). */
  init?: InitKind;
  /** Feature-group spec of the output channels (default 'R1': a plain CNN layer). */
  groups?: GroupSpec | string;
  seed?: number;
  /** Variable name prefix (tfjs names must be globally unique; default: tfjs auto names). */
  name?: string;
}

/**
 * IEN conv layer: `y = conv2d(x, W) (+ b)` with `W` `[k, k, Cin, Cout]`, no weight sharing; its output channels are
 * interpreted as feature groups (`outLayout`), pooled by `pool()` for the equivariance loss and the final features.
 */
export class IenConv2d implements GroupedLayer {
  readonly inChannels: number;
  readonly outLayout: GroupLayout;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: Padding;
  readonly dilation: number;
  /** `[k, k, Cin, Cout]` float32. */
  readonly kernel: Variable;
  /** `[Cout]` float32, or null. */
  readonly bias: Variable | null;

  constructor(opts: IenConvOptions) {
    checkPositiveInt('IenConv2d inChannels', opts.inChannels);
    checkPositiveInt('IenConv2d outChannels', opts.outChannels);
    checkPositiveInt('IenConv2d kernelSize', opts.kernelSize);
    this.inChannels = opts.inChannels;
    this.outLayout = applyGroupSpec(opts.groups ?? 'R1', opts.outChannels);
    this.kernelSize = opts.kernelSize;
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 'same';
    this.dilation = opts.dilation ?? 1;
    const k = opts.kernelSize;
    const w = initTensor([k, k, opts.inChannels, opts.outChannels], k * k * opts.inChannels, k * k * opts.outChannels,
      opts.init ?? 'xavier', opts.seed);
    this.kernel = ownedVariable(w, opts.name ? `${opts.name}/kernel` : undefined);
    this.bias = opts.bias
      ? zeroVariable([opts.outChannels], opts.name ? `${opts.name}/bias` : undefined)
      : null;
  }

  /** `[B, H, W, Cin]` float32 → `[B, H', W', Cout]` float32 (`training` is unused: no cached state). */
  apply(x: Tensor4D, _training = false): Tensor4D {
    checkInput('IenConv2d', x, this.inChannels);
    return tf.tidy(() => {
      const y = tf.conv2d(x, this.kernel as unknown as tf.Tensor4D, this.stride, this.padding, 'NHWC', this.dilation);
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }

  /** Group pooling of this layer's output: `[B, H, W, Cout]` → `[B, H, W, outLayout.pooledChannels]`. */
  pool(y: Tensor4D): Tensor4D {
    return groupPool(y, this.outLayout);
  }

  get trainableVariables(): Variable[] {
    return this.bias ? [this.kernel, this.bias] : [this.kernel];
  }

  dispose(): void {
    this.kernel.dispose();
    this.bias?.dispose();
  }
}
