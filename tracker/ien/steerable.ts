/**
 * C_N steerable convolution (default N = 8) with filters from a circular-harmonic basis, as E2CNN
 * (Weiler & Cesa 2019, github.com/QUVA-Lab/e2cnn) builds them: Gaussian radial rings × cos/sin(μφ).
 *
 * A filter is a linear combination of the basis; rotating it by θ is a phase shift μθ of each angular part (exact in
 * the continuum, sampled on the grid — exact on the grid for multiples of 90°). Regular-representation fields use
 * channel `o·N + r` (r fastest; `R8` group pooling gives invariant maps), and the expanded banks are
 * - lifting (image → C_N): output (o, r) = ρ_{r·360°/N}(W[o; c]);
 * - group (C_N → C_N): `W̃[o,r; i,s] = ρ_{r·360°/N}(W[o; i, (s−r) mod N])`,
 * where ρ_θ rotates a filter counter-clockwise on screen (the sense of tracker/ien/rotate.ts). So a rotation of the
 * input by 360°/N rotates the output and rolls its orientation axis by +1 (`rollOrientation(·, N, 1)`).
 *
 * e2cnn defaults (e2cnn/nn/modules/r2_conv/r2convolution.py, `compute_basis_params`, `_manual_fco1`): rings at
 * `linspace(0, (k−1)//2, ceil(k/2))`; σ = 0.6 per ring, 0.4 for the last, 0.005 at radius 0; maximum angular frequency
 * 0 at radius 0, else `min(2r, 2 if r = k//2 else 2r − (r+1) mod 2)` (5×5: rings [0,1,2], frequencies [0,2,2]).
 * Sampling grid as e2cnn `get_grid_coords`: x to the right, y up, origin at the kernel centre.
 * Difference from e2cnn: we parameterise the regular→regular kernel space by N free band-limited filters (the row
 * r = 0 of the constraint solution) instead of e2cnn's irrep-block basis; both span the equivariant kernels.
 */
import { tf } from '../tf.js';
import type { Tensor4D, Variable } from '../tf.js';
import { applyGroupSpec, homogeneousSpec, type GroupLayout } from './groups.js';
import { checkInput, checkPositiveInt, LayerError, ownedVariable, zeroVariable, type GroupedLayer, type Padding } from './conv.js';
import { ExpandedFilterCache } from './filtercache.js';

/** One basis element: a Gaussian ring times cos or sin of μ·(φ − θ). */
export interface BasisElement {
  readonly ring: number;
  readonly radius: number;
  readonly sigma: number;
  readonly frequency: number;
  readonly kind: 'cos' | 'sin';
}

/** A sampled circular-harmonic basis, rotated to each of the N orientations. */
export interface CircularHarmonicBasis {
  readonly kernelSize: number;
  readonly order: number;
  readonly rings: readonly number[];
  readonly sigmas: readonly number[];
  readonly maxFrequencies: readonly number[];
  readonly elements: readonly BasisElement[];
  /**
   * `[N, k·k, nB]` row-major: element b of orientation r (rotated by r·360°/N counter-clockwise) at kernel pixel
   * (row i, col j) = `sampled[(r·k·k + i·k + j)·nB + b]`. Each element has unit L2 norm at r = 0.
   */
  readonly sampled: Float32Array;
}

/** e2cnn's default rings, sigmas and maximum frequencies for a k×k kernel (see the file comment). */
export function e2cnnBasisParams(kernelSize: number): { rings: number[]; sigmas: number[]; maxFrequencies: number[] } {
  const n = Math.ceil(kernelSize / 2);
  const last = Math.floor((kernelSize - 1) / 2);
  const rings = Array.from({ length: n }, (_, i) => (n === 1 ? 0 : (i * last) / (n - 1)));
  const sigmas = rings.map((r, i) => (r === 0 ? 0.005 : i === n - 1 ? 0.4 : 0.6));
  const maxRadius = Math.floor(kernelSize / 2);
  const maxFrequencies = rings.map((r) =>
    r === 0 ? 0 : Math.floor(Math.min(2 * r, r === maxRadius ? 2 : 2 * r - ((r + 1) % 2))));
  return { rings, sigmas, maxFrequencies };
}

const basisCache = new Map<string, CircularHarmonicBasis>();

/**
 * The circular-harmonic basis of a k×k kernel (odd k) sampled at N orientations, with e2cnn's default rings, sigmas
 * and frequency cut-off. Elements with no support on the grid are dropped; for μ > 0 the value at the kernel centre is
 * 0 (the angle is undefined there). Cached per (k, N); do not modify the result.
 */
export function circularHarmonicBasis(kernelSize: number, order = 8): CircularHarmonicBasis {
  checkPositiveInt('steerable kernelSize', kernelSize);
  checkPositiveInt('steerable order N', order);
  if (kernelSize % 2 === 0) {
    throw new LayerError(`steerable kernelSize must be odd (the filter rotates about its centre pixel), got ${kernelSize}`);
  }
  const key = `${kernelSize}/${order}`;
  const hit = basisCache.get(key);
  if (hit) return hit;
  const { rings, sigmas, maxFrequencies } = e2cnnBasisParams(kernelSize);
  const k = kernelSize, c = (k - 1) / 2, kk = k * k;
  const candidates: BasisElement[] = [];
  rings.forEach((radius, ring) => {
    for (let mu = 0; mu <= maxFrequencies[ring]; mu++) {
      candidates.push({ ring, radius, sigma: sigmas[ring], frequency: mu, kind: 'cos' });
      if (mu > 0) candidates.push({ ring, radius, sigma: sigmas[ring], frequency: mu, kind: 'sin' });
    }
  });
  const value = (e: BasisElement, i: number, j: number, theta: number): number => {
    const x = j - c, y = c - i; // e2cnn grid: x right, y up
    const d = Math.hypot(x, y);
    const radial = Math.exp(-0.5 * ((d - e.radius) / e.sigma) ** 2);
    if (e.frequency === 0) return radial;
    if (d === 0) return 0;
    // rotated filter ψ(R_{−θ} p): angle φ − θ
    const a = e.frequency * (Math.atan2(y, x) - theta);
    return radial * (e.kind === 'cos' ? Math.cos(a) : Math.sin(a));
  };
  const elements: BasisElement[] = [];
  const norms: number[] = [];
  for (const e of candidates) {
    let s = 0;
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) s += value(e, i, j, 0) ** 2;
    if (Math.sqrt(s) > 1e-6) { elements.push(e); norms.push(Math.sqrt(s)); }
  }
  const nB = elements.length;
  const sampled = new Float32Array(order * kk * nB);
  for (let r = 0; r < order; r++) {
    const theta = (2 * Math.PI * r) / order;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        elements.forEach((e, b) => {
          sampled[(r * kk + i * k + j) * nB + b] = value(e, i, j, theta) / norms[b];
        });
      }
    }
  }
  const out: CircularHarmonicBasis = { kernelSize: k, order, rings, sigmas, maxFrequencies, elements, sampled };
  basisCache.set(key, out);
  return out;
}

/** Options of the steerable layers. */
export interface SteerableConvOptions {
  /** Lifting: image channels. Group: input regular fields (the input has N× as many channels). */
  inChannels: number;
  /** Output regular fields (N channels each). */
  outFields: number;
  /** Odd kernel size. */
  kernelSize: number;
  /** Rotation order N (default 8: C8). */
  order?: number;
  stride?: number;
  /** Default 'same'. */
  padding?: Padding;
  /** One bias per output field, shared over orientations (default false). */
  bias?: boolean;
  seed?: number;
  name?: string;
}

abstract class SteerableConvBase implements GroupedLayer {
  readonly inChannels: number;
  readonly outLayout: GroupLayout;
  readonly order: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: Padding;
  readonly outFields: number;
  readonly basis: CircularHarmonicBasis;
  /** Basis coefficients: lifting `[nB, Cin, O]`, group `[nB, I, N, O]` float32. */
  readonly coefficients: Variable;
  /** `[O]` float32 or null. */
  readonly bias: Variable | null;
  /** The sampled rotated basis `[N, k·k, nB]` (constant, owned). */
  protected readonly basisTensor: tf.Tensor3D;
  protected readonly cache: ExpandedFilterCache<Tensor4D>;

  protected constructor(readonly kind: 'lifting' | 'group', opts: SteerableConvOptions) {
    checkPositiveInt(`steerable ${kind} inChannels`, opts.inChannels);
    checkPositiveInt(`steerable ${kind} outFields`, opts.outFields);
    this.order = opts.order ?? 8;
    this.basis = circularHarmonicBasis(opts.kernelSize, this.order);
    const n = this.order, nB = this.basis.elements.length;
    this.kernelSize = opts.kernelSize;
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 'same';
    this.outFields = opts.outFields;
    this.inChannels = kind === 'lifting' ? opts.inChannels : opts.inChannels * n;
    this.outLayout = applyGroupSpec(homogeneousSpec(n), opts.outFields * n);
    const shape = kind === 'lifting' ? [nB, opts.inChannels, opts.outFields] : [nB, opts.inChannels, n, opts.outFields];
    // He-style init: unit-norm basis elements, so Var(coef) = 2 / (fan-in channels · nB) gives filter entries of
    // variance ≈ 2 / (fan-in channels · k²)
    const init = tf.randomNormal(shape, 0, Math.sqrt(2 / (this.inChannels * nB)), 'float32', opts.seed);
    this.coefficients = ownedVariable(init, opts.name ? `${opts.name}/coefficients` : undefined);
    this.bias = opts.bias ? zeroVariable([opts.outFields], opts.name ? `${opts.name}/bias` : undefined) : null;
    this.basisTensor = tf.tensor3d(this.basis.sampled, [n, opts.kernelSize ** 2, nB]);
    this.cache = new ExpandedFilterCache(() => this.trainableVariables, () => this.expand());
  }

  /** The expanded bank `[k, k, inChannels, O·N]` from the current coefficients (differentiable, new tensor). */
  abstract expand(): Tensor4D;

  /** Expanded bank: fresh when training, cached (owned by the layer, do not dispose) at inference. */
  expandedFilter(training = false): Tensor4D {
    return this.cache.get(training);
  }

  /** `[B, H, W, inChannels]` float32 → `[B, H', W', O·N]` float32 (regular fields, channel `o·N + r`). */
  apply(x: Tensor4D, training = false): Tensor4D {
    checkInput(`steerable ${this.kind} conv`, x, this.inChannels);
    return tf.tidy(() => {
      const y = tf.conv2d(x, this.expandedFilter(training), this.stride, this.padding);
      if (!this.bias) return y;
      return tf.add(y, tf.reshape(tf.tile(tf.reshape(this.bias, [-1, 1]), [1, this.order]), [-1]));
    });
  }

  get trainableVariables(): Variable[] {
    return this.bias ? [this.coefficients, this.bias] : [this.coefficients];
  }

  /** Drop the cached inference bank. */
  invalidate(): void {
    this.cache.clear();
  }

  dispose(): void {
    this.cache.clear();
    this.coefficients.dispose();
    this.bias?.dispose();
    this.basisTensor.dispose();
  }
}

/** Steerable lifting layer: image `[B, H, W, Cin]` → C_N regular fields `[B, H', W', O·N]`. */
export class SteerableLiftingConv extends SteerableConvBase {
  constructor(opts: SteerableConvOptions) {
    super('lifting', opts);
  }

  expand(): Tensor4D {
    const n = this.order, k = this.kernelSize, nB = this.basis.elements.length;
    const cin = this.inChannels, o = this.outFields;
    return tf.tidy(() => {
      // [N·k², nB] × [nB, Cin·O] → [N, k, k, Cin, O] → [k, k, Cin, O, N]
      const f = tf.matMul(tf.reshape(this.basisTensor, [n * k * k, nB]), tf.reshape(this.coefficients, [nB, cin * o]));
      return tf.reshape(tf.transpose(tf.reshape(f, [n, k, k, cin, o]), [1, 2, 3, 4, 0]), [k, k, cin, o * n]) as Tensor4D;
    });
  }
}

/** Steerable group layer: C_N regular fields `[B, H, W, I·N]` → C_N regular fields `[B, H', W', O·N]`. */
export class SteerableGroupConv extends SteerableConvBase {
  constructor(opts: SteerableConvOptions) {
    super('group', opts);
  }

  expand(): Tensor4D {
    const n = this.order, k = this.kernelSize, nB = this.basis.elements.length;
    const fields = this.inChannels / n, o = this.outFields;
    return tf.tidy(() => {
      // rolled[b, i, r, s, o] = coef[b, i, (s − r) mod N, o]
      const idx: number[] = [];
      for (let r = 0; r < n; r++) for (let s = 0; s < n; s++) idx.push((s - r + n) % n);
      const rolled = tf.gather(this.coefficients, tf.tensor1d(idx, 'int32'), 2); // [nB, I, N·N, O]
      const perR = tf.transpose(tf.reshape(rolled, [nB, fields, n, n, o]), [2, 0, 1, 3, 4]); // [N(r), nB, I, N(s), O]
      // batched over r: [N, k², nB] × [N, nB, I·N·O] → [N(r), k, k, I, N(s), O]
      const f = tf.matMul(this.basisTensor, tf.reshape(perR, [n, nB, fields * n * o]));
      const f6 = tf.reshape(f, [n, k, k, fields, n, o]);
      return tf.reshape(tf.transpose(f6, [1, 2, 3, 4, 5, 0]), [k, k, fields * n, o * n]) as Tensor4D;
    });
  }
}
