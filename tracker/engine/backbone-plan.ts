/**
 * The inference-time computation of a SiamFC backbone as a flat list of layers with plain Float32Array weights, read
 * from a tfjs FeatureExtractor (plain `Backbone`, or `EquivariantBackbone` of kind ien / c4 / c8):
 * - conv weights in ONNX layout `[Cout, Cin/groups, k, k]`; C4/C8 filters expanded from their base weights with the
 *   very expansion code the tfjs layers use; per-field biases repeated over the field's orientations;
 * - BatchNorm (moving statistics, inference mode) folded into the conv: `W' = W·s`, `b' = (b − μ)·s + β`,
 *   `s = γ / √(σ² + ε)` (per field for C4/C8, as tracker/batchnorm.ts shares them);
 * - the final group pooling of IEN / C4 / C8 backbones as a list of channel blocks (max over each group's Λ maps).
 * Browser-safe (tfjs only).
 */
import { tf } from '../tf.js';
import type { Tensor, Tensor4D } from '../tf.js';
import type { BackboneSpec } from '../backbone-spec.js';
import type { FeatureExtractor } from '../siamfc/network.js';
import type { GroupBlock, GroupLayout } from '../ien/groups.js';
import { expandC4Group, expandC4Lifting } from '../ien/gconv.js';
import { SteerableGroupConv, SteerableLiftingConv } from '../ien/steerable.js';

/** One layer of the inference plan. */
export type PlanLayer =
  | { type: 'conv'; weight: Float32Array; dims: [number, number, number, number]; bias: Float32Array; stride: number;
      group: number; act: 'relu' | 'elu' | 'none' }
  | { type: 'maxpool' | 'avgpool'; size: number; stride: number }
  | { type: 'center'; scale: boolean }
  | { type: 'groupPool'; blocks: readonly GroupBlock[] };

/** The plan of a backbone: layers in order, input and output channels. */
export interface BackbonePlan {
  spec: BackboneSpec;
  layers: PlanLayer[];
  outChannels: number;
}

/** Error for a backbone the plan cannot describe; names the backbone and the weight or layer. */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

function get(weights: Map<string, Tensor>, name: string, spec: BackboneSpec): Tensor {
  const t = weights.get(name);
  if (!t) throw new PlanError(`backbone "${spec.name}": weight "${name}" not found (have ${[...weights.keys()].join(', ')})`);
  return t;
}

/** Each of `v`'s values repeated `n` times (field value → its n orientation channels, channel f·n + r). */
function repeatEach(v: Float32Array, n: number): Float32Array {
  if (n === 1) return v;
  const out = new Float32Array(v.length * n);
  for (let i = 0; i < out.length; i++) out[i] = v[Math.floor(i / n)];
  return out;
}

/** The expanded tfjs filter `[k, k, Cin, Cout]` of an IEN or C4 conv stage from its base weight (new tensor). */
function expandedFilter(kind: string, first: boolean, base: Tensor): Tensor4D {
  if (kind === 'ien') return tf.clone(base) as Tensor4D;
  if (kind === 'c4') return first ? expandC4Lifting(base as Tensor4D) : expandC4Group(base as Tensor4D);
  throw new PlanError(`equivariance kind "${kind}" has no filter expansion here`);
}

/** Expansion for C8 (steerable): needs the kernel size, which the coefficients' shape does not carry. */
function expandSteerable(first: boolean, base: Tensor, kernelSize: number): Tensor4D {
  const s = base.shape as number[];
  const layer = first
    ? new SteerableLiftingConv({ inChannels: s[1], outFields: s[2], kernelSize, order: 8, padding: 'valid' })
    : new SteerableGroupConv({ inChannels: s[1], outFields: s[3], kernelSize, order: 8, padding: 'valid' });
  try {
    if (layer.coefficients.shape.join(',') !== s.join(',')) {
      throw new PlanError(`steerable coefficients [${s}] do not fit a ${kernelSize}×${kernelSize} C8 layer [${layer.coefficients.shape}]`);
    }
    layer.coefficients.assign(base);
    return tf.tidy(() => layer.expand());
  } finally {
    layer.dispose();
  }
}

/**
 * tfjs `[k, k, Cin/g, Cout]` → ONNX `[Cout, Cin/g, k, k]` (also PyTorch's Conv2d weight layout), each output channel
 * scaled by `scale[o]` (null: unscaled).
 */
export function toOnnxFilter(f: Float32Array, shape: number[], scale: Float64Array | null): Float32Array {
  const [kh, kw, ci, co] = shape;
  const out = new Float32Array(f.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let c = 0; c < ci; c++) {
        const src = ((y * kw + x) * ci + c) * co;
        for (let o = 0; o < co; o++) {
          const v = f[src + o];
          out[((o * ci + c) * kh + y) * kw + x] = scale ? v * scale[o] : v;
        }
      }
    }
  }
  return out;
}

/** Read the inference plan of `backbone` (weights copied out of tfjs; the backbone is not modified). */
export function backbonePlan(backbone: FeatureExtractor): BackbonePlan {
  const spec = backbone.spec;
  const kind = spec.equivariance.kind;
  const weights = new Map(backbone.namedWeights().map((w) => [w.name, w.tensor]));
  const layouts: GroupLayout[] | null = kind === 'none' ? null
    : ((backbone as unknown as { layerLayouts?: GroupLayout[] }).layerLayouts ?? null);
  if (kind !== 'none' && !layouts) throw new PlanError(`backbone "${spec.name}": kind ${kind} but no layerLayouts`);
  const fieldSize = kind === 'c4' ? 4 : kind === 'c8' ? 8 : 1;
  const layers: PlanLayer[] = [];
  let first = true;
  spec.layers.forEach((layer, i) => {
    if (layer.type === 'maxpool' || layer.type === 'avgpool') {
      layers.push({ type: layer.type, size: layer.size, stride: layer.stride });
      return;
    }
    if (layer.type === 'center') {
      layers.push({ type: 'center', scale: layer.scale });
      return;
    }
    const plain = kind === 'none';
    const base = get(weights, plain ? `layer${i}/filter` : `layer${i}/conv0`, spec);
    const filter = plain ? (tf.clone(base) as Tensor4D)
      : kind === 'c8' ? expandSteerable(first, base, layer.kernel) : expandedFilter(kind, first, base);
    const fshape = filter.shape;
    const fdata = filter.dataSync() as Float32Array;
    filter.dispose();
    const cout = fshape[3];
    const group = plain ? layer.groups : 1;
    let bias: Float32Array = new Float32Array(cout);
    if (layer.bias) bias = repeatEach(get(weights, plain ? `layer${i}/bias` : `layer${i}/conv1`, spec).dataSync() as Float32Array, plain ? 1 : fieldSize);
    if (bias.length !== cout) throw new PlanError(`backbone "${spec.name}" layer ${i}: ${bias.length} biases for ${cout} channels`);
    let scale: Float64Array | null = null;
    if (layer.bn) {
      const n = plain ? 1 : fieldSize;
      const [g, b, m, v] = ['gamma', 'beta', 'movingMean', 'movingVar'].map((k) =>
        repeatEach(get(weights, `layer${i}/${k}`, spec).dataSync() as Float32Array, n));
      if (g.length !== cout) throw new PlanError(`backbone "${spec.name}" layer ${i}: BatchNorm has ${g.length} channels, conv ${cout}`);
      scale = new Float64Array(cout);
      const folded = new Float32Array(cout);
      for (let o = 0; o < cout; o++) {
        scale[o] = g[o] / Math.sqrt(v[o] + spec.bnEps);
        folded[o] = (bias[o] - m[o]) * scale[o] + b[o];
      }
      bias = folded;
    }
    layers.push({
      type: 'conv', weight: toOnnxFilter(fdata, fshape, scale), dims: [cout, fshape[2], fshape[0], fshape[1]], bias,
      stride: layer.stride, group, act: layer.act,
    });
    first = false;
  });
  if (layouts) {
    const last = layouts[layouts.length - 1];
    if (last.blocks.some((b) => b.size > 1)) layers.push({ type: 'groupPool', blocks: last.blocks });
  }
  return { spec, layers, outChannels: backbone.outChannels };
}

/** Conv FLOPs (2 × multiply-adds) of one crop of side `size` through `plan` (grouped convs count their own inputs). */
export function convFlops(plan: BackbonePlan, size: number): number {
  let s = size;
  let flops = 0;
  for (const l of plan.layers) {
    if (l.type === 'conv') {
      const [O, I, k] = l.dims;
      s = Math.floor((s - k) / l.stride) + 1;
      flops += 2 * O * I * k * k * s * s;
    } else if (l.type === 'maxpool' || l.type === 'avgpool') {
      s = Math.floor((s - l.size) / l.stride) + 1;
    }
  }
  return flops;
}
