/**
 * C4 group convolution (Cohen & Welling 2016, "Group Equivariant Convolutional Networks"; reference
 * github.com/tscohen/GrouPy): the explicit, exactly equivariant baseline to IEN on the pixel grid.
 *
 * Channel layout of C4 fields: `o·4 + r` (r = orientation, fastest), so group pooling with Λ = 4 (`R4`) gives
 * rotation-invariant maps. Rotation sense: `rot90` of tracker/ien/rotate.ts (counter-clockwise on screen).
 * - Lifting (image → C4): output (o, r) uses `rot90^r(W[o; c])`.
 * - Group (C4 → C4): `W̃[o,r; i,s] = rot90^r(W[o; i, (s−r) mod 4])`.
 * Then `conv(rot90 x) = rot90(conv x)` with the orientation axis rolled by +1 (`rollOrientation(·, 4, 1)`), exactly,
 * for odd kernels with 'same' padding, or 'valid' padding, at stride 1 on square maps.
 *
 * D4 (the paper's R4R: quarter turns and mirrors, elements e = k + 4m of tracker/ien/dihedral.ts) works the same way
 * with fields of 8: lifting channel (o, e) uses `g_e · W[o]`, the group bank `W̃[o,g; i,h] = g · W[o; i, g⁻¹h]`.
 */
import { tf } from '../tf.js';
import type { Tensor4D, Variable } from '../tf.js';
import { applyGroupSpec, homogeneousSpec, type GroupLayout } from './groups.js';
import {
  checkInput, checkPositiveInt, initTensor, ownedVariable, zeroVariable, type GroupedLayer, type InitKind, type Padding,
} from './conv.js';
import { ExpandedFilterCache } from './filtercache.js';
import { d4Compose, d4Inverse } from './dihedral.js';

/**
 * Spatial rotation of a filter bank `[kh, kw, in, out]` by k·90° counter-clockwise (same sense as `rot90` of maps):
 * `out[i][j] = w[j][k−1−i]` for k = 1. Differentiable; new tensor.
 */
export function rot90Filter(w: Tensor4D, k: number): Tensor4D {
  const q = ((k % 4) + 4) % 4;
  return tf.tidy(() => {
    switch (q) {
      case 0: return tf.clone(w);
      case 1: return tf.transpose(tf.reverse(w, 1), [1, 0, 2, 3]);
      case 2: return tf.reverse(w, [0, 1]);
      default: return tf.reverse(tf.transpose(w, [1, 0, 2, 3]), 1);
    }
  });
}

/**
 * Lifting bank of a group of order n: `[k, k, Cin, O]` → `[k, k, Cin, O·n]`, channel `o·n + g` = `transform(W[..., o], g)`.
 */
function expandLifting(w: Tensor4D, n: number, transform: (w: Tensor4D, g: number) => Tensor4D): Tensor4D {
  const [kh, kw, cin, o] = w.shape;
  return tf.tidy(() => tf.reshape(tf.stack(Array.from({ length: n }, (_, g) => transform(w, g)), 4), [kh, kw, cin, o * n]) as Tensor4D);
}

/**
 * Group bank of a group of order n: `[k, k, I·n, O]` (input channel `i·n + h`) → `[k, k, I·n, O·n]` with
 * `W̃[o·n+g; i·n+h] = transform(W[o; i·n + slot(g, h)], g)`, where slot(g, h) = g⁻¹h.
 */
function expandGroup(w: Tensor4D, group: 'C4' | 'D4', n: number, slot: (g: number, h: number) => number,
  transform: (w: Tensor4D, g: number) => Tensor4D): Tensor4D {
  const [kh, kw, cin, o] = w.shape;
  if (cin % n !== 0) throw new Error(`expand${group}Group: ${cin} input channels are not ${group} fields (multiple of ${n})`);
  return tf.tidy(() => {
    const w5 = tf.reshape(w, [kh, kw, cin / n, n, o]);
    const banks = Array.from({ length: n }, (_, g) => {
      const permuted = tf.gather(w5, tf.tensor1d(Array.from({ length: n }, (_, h) => slot(g, h)), 'int32'), 3);
      return transform(tf.reshape(permuted, [kh, kw, cin, o]) as Tensor4D, g);
    });
    return tf.reshape(tf.stack(banks, 4), [kh, kw, cin, o * n]) as Tensor4D;
  });
}

/** Lifting bank: `[k, k, Cin, O]` → `[k, k, Cin, O·4]`, channel `o·4 + r` = `rot90^r(W[..., o])`. Differentiable. */
export function expandC4Lifting(w: Tensor4D): Tensor4D {
  return expandLifting(w, 4, rot90Filter);
}

/**
 * Group bank: `[k, k, I·4, O]` (input channel `i·4 + s`) → `[k, k, I·4, O·4]` with
 * `W̃[o·4+r; i·4+s] = rot90^r(W[o; i·4 + (s−r) mod 4])`. Differentiable.
 */
export function expandC4Group(w: Tensor4D): Tensor4D {
  return expandGroup(w, 'C4', 4, (r, s) => (s - r + 4) % 4, rot90Filter);
}

/** A filter bank `[kh, kw, in, out]` transformed by D4 element e (`d4Batch`'s sense: mirror, then k quarter turns). */
export function d4Filter(w: Tensor4D, e: number): Tensor4D {
  return tf.tidy(() => rot90Filter(e >= 4 ? tf.reverse(w, 1) : w, e % 4));
}

/** Lifting bank: `[k, k, Cin, O]` → `[k, k, Cin, O·8]`, channel `o·8 + e` = `g_e · W[..., o]`. Differentiable. */
export function expandD4Lifting(w: Tensor4D): Tensor4D {
  return expandLifting(w, 8, d4Filter);
}

/**
 * Group bank: `[k, k, I·8, O]` (input channel `i·8 + h`) → `[k, k, I·8, O·8]` with
 * `W̃[o·8+g; i·8+h] = g · W[o; i·8 + g⁻¹h]`. Differentiable.
 */
export function expandD4Group(w: Tensor4D): Tensor4D {
  return expandGroup(w, 'D4', 8, (g, h) => d4Compose(d4Inverse(g), h), d4Filter);
}

/** Options of the C4 (and D4) layers. */
export interface C4ConvOptions {
  /** Lifting: image channels. Group: input C4 fields (the input has 4× as many channels). */
  inChannels: number;
  /** Output C4 fields (the output has 4× as many channels). */
  outFields: number;
  kernelSize: number;
  stride?: number;
  /** Default 'same'. */
  padding?: Padding;
  /** One bias per output field, shared over orientations (default false). */
  bias?: boolean;
  /** Default 'he'. */
  init?: InitKind;
  seed?: number;
  name?: string;
}

abstract class GroupConvBase implements GroupedLayer {
  readonly inChannels: number;
  /** Group order: channels per field. */
  readonly order: number;
  readonly outLayout: GroupLayout;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: Padding;
  /** Base weights: lifting `[k, k, Cin, O]`, group `[k, k, I·4, O]` float32. */
  readonly kernel: Variable;
  /** `[O]` float32 or null. */
  readonly bias: Variable | null;
  protected readonly cache: ExpandedFilterCache<Tensor4D>;

  /**
   * `group`: 'C4' (fields of 4) or 'D4' (fields of 8); `kind`: lifting (image → fields) or group (fields → fields).
   */
  protected constructor(readonly kind: 'lifting' | 'group', opts: C4ConvOptions, readonly group: 'C4' | 'D4' = 'C4') {
    const n = group === 'C4' ? 4 : 8;
    this.order = n;
    checkPositiveInt(`${group} ${kind} inChannels`, opts.inChannels);
    checkPositiveInt(`${group} ${kind} outFields`, opts.outFields);
    checkPositiveInt(`${group} ${kind} kernelSize`, opts.kernelSize);
    this.inChannels = kind === 'lifting' ? opts.inChannels : opts.inChannels * n;
    this.outLayout = applyGroupSpec(homogeneousSpec(n), opts.outFields * n);
    this.kernelSize = opts.kernelSize;
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 'same';
    const k = opts.kernelSize;
    const w = initTensor([k, k, this.inChannels, opts.outFields], k * k * this.inChannels, k * k * opts.outFields * n,
      opts.init ?? 'he', opts.seed);
    this.kernel = ownedVariable(w, opts.name ? `${opts.name}/kernel` : undefined);
    this.bias = opts.bias ? zeroVariable([opts.outFields], opts.name ? `${opts.name}/bias` : undefined) : null;
    this.cache = new ExpandedFilterCache(() => this.trainableVariables, () => this.expand());
  }

  /** The expanded bank `[k, k, inChannels, O·order]` from the current base weights (differentiable, new tensor). */
  abstract expand(): Tensor4D;

  /** Expanded bank: fresh when training, cached (owned by the layer, do not dispose) at inference. */
  expandedFilter(training = false): Tensor4D {
    return this.cache.get(training);
  }

  /** `[B, H, W, inChannels]` float32 → `[B, H', W', O·order]` float32 (fields, channel `o·order + r`). */
  apply(x: Tensor4D, training = false): Tensor4D {
    checkInput(`${this.group} ${this.kind} conv`, x, this.inChannels);
    return tf.tidy(() => {
      const y = tf.conv2d(x, this.expandedFilter(training), this.stride, this.padding);
      if (!this.bias) return y;
      // each field's bias repeated over its orientations
      return tf.add(y, tf.reshape(tf.tile(tf.reshape(this.bias, [-1, 1]), [1, this.order]), [-1]));
    });
  }

  get trainableVariables(): Variable[] {
    return this.bias ? [this.kernel, this.bias] : [this.kernel];
  }

  /** Drop the cached inference bank (it is rebuilt on the next inference call). */
  invalidate(): void {
    this.cache.clear();
  }

  dispose(): void {
    this.cache.clear();
    this.kernel.dispose();
    this.bias?.dispose();
  }
}

/** C4 lifting layer: image `[B, H, W, Cin]` → C4 fields `[B, H', W', O·4]`. */
export class C4LiftingConv extends GroupConvBase {
  constructor(opts: C4ConvOptions) {
    super('lifting', opts);
  }

  expand(): Tensor4D {
    return expandC4Lifting(this.kernel as unknown as Tensor4D);
  }
}

/** C4 group layer: C4 fields `[B, H, W, I·4]` → C4 fields `[B, H', W', O·4]`. */
export class C4GroupConv extends GroupConvBase {
  constructor(opts: C4ConvOptions) {
    super('group', opts);
  }

  expand(): Tensor4D {
    return expandC4Group(this.kernel as unknown as Tensor4D);
  }
}

/** D4 lifting layer: image `[B, H, W, Cin]` → D4 fields `[B, H', W', O·8]` (`outFields` counts fields of 8). */
export class D4LiftingConv extends GroupConvBase {
  constructor(opts: C4ConvOptions) {
    super('lifting', opts, 'D4');
  }

  expand(): Tensor4D {
    return expandD4Lifting(this.kernel as unknown as Tensor4D);
  }
}

/** D4 group layer: D4 fields `[B, H, W, I·8]` → D4 fields `[B, H', W', O·8]` (`inChannels` counts input fields). */
export class D4GroupConv extends GroupConvBase {
  constructor(opts: C4ConvOptions) {
    super('group', opts, 'D4');
  }

  expand(): Tensor4D {
    return expandD4Group(this.kernel as unknown as Tensor4D);
  }
}
