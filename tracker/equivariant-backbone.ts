/**
 * Rotation-aware SiamFC backbones from the same `BackboneSpec` as the plain one (tracker/backbones.ts):
 * - `ien`: every conv is an ordinary conv (IenConv2d) whose output channels form feature groups (`R4`, `R8`, or a
 *   heterogeneous spec such as `R4-2-1` whose widths shrink by `hetWidth`); the final features are group-pooled.
 *   Trained with the IEN equivariance loss, it becomes nearly rotation-equivariant (the paper's IEN-/Het-SiamFC).
 * - `c4` / `c8`: C4 group convolutions (exact on the grid) or C8 steerable convolutions (our stand-in for RE-SiamFC),
 *   with field-wise BatchNorm and group pooling at the end.
 * AlexNet's two-GPU channel `groups` are not used by these backbones (feature groups take their place), so their
 * parameter counts differ from the plain AlexNet's; `parameterCount()` reports them.
 * Implements both `FeatureExtractor` (SiamFC) and `GroupedModel` (the equivariance loss and L_G report).
 */
import { tf } from './tf.js';
import type { Tensor, Tensor4D, Variable } from './tf.js';
import { type BackboneSpec, type ConvLayerSpec, scaledWidth } from './backbone-spec.js';
import { type BatchNormParams, applyBatchNorm, assignNamedWeights, makeBatchNorm } from './batchnorm.js';
import type { FeatureExtractor } from './siamfc/network.js';
import {
  C4GroupConv, C4LiftingConv, IenConv2d, SteerableGroupConv, SteerableLiftingConv, groupPool, hetWidth, maxGroupSize,
  type ForwardFeatures, type GroupLayout, type GroupedLayer, type GroupedModel,
} from './ien/index.js';

interface ConvStage {
  layer: ConvLayerSpec;
  conv: GroupedLayer;
  bn?: BatchNormParams;
  /** Channels sharing one BN statistic: 1 for IEN (per channel), N for C4/C8 fields. */
  fieldSize: number;
}

/** Output width of a conv stage for an equivariance kind (before the conv is built). */
export function equivariantWidth(spec: BackboneSpec, layer: ConvLayerSpec): number {
  const { kind, groups } = spec.equivariance;
  if (kind === 'c4' || kind === 'c8') return scaledWidth({ ...layer, fixedWidth: false }, spec.widthMultiplier, kind === 'c4' ? 4 : 8);
  // ien: the homogeneous width of the largest Λ, then the heterogeneous width with the same pooled channels. A scaled
  // width may have no heterogeneous counterpart (R4-2-1 needs 16 | width): take the nearest one that has.
  const lam = maxGroupSize(groups);
  const base = scaledWidth({ ...layer, fixedWidth: false }, spec.widthMultiplier, lam);
  for (let d = 0; d <= 64; d++) {
    for (const w of d === 0 ? [base] : [base + d * lam, base - d * lam]) {
      if (w < lam) continue;
      try {
        return hetWidth(groups, w);
      } catch {
        // no exact heterogeneous width for this homogeneous width: try the next candidate
      }
    }
  }
  return hetWidth(groups, base); // throws, naming the spec and width
}

/** A SiamFC backbone whose conv outputs are feature groups (IEN) or rotation fields (C4/C8). */
export class EquivariantBackbone implements FeatureExtractor, GroupedModel {
  readonly spec: BackboneSpec;
  /** Output channels of each conv stage (before pooling). */
  readonly widths: number[] = [];
  private readonly stages: (ConvStage | null)[] = [];
  private disposed = false;

  /** Build from a spec whose `equivariance.kind` is `ien`, `c4` or `c8`. */
  constructor(spec: BackboneSpec, seed = 1) {
    const kind = spec.equivariance.kind;
    if (kind === 'none') throw new Error(`backbone "${spec.name}": equivariance kind "none" is the plain Backbone`);
    this.spec = spec;
    let cin = spec.inChannels;
    let first = true;
    let s = seed;
    for (const layer of spec.layers) {
      if (layer.type !== 'conv') {
        this.stages.push(null);
        continue;
      }
      const width = equivariantWidth(spec, layer);
      const common = { kernelSize: layer.kernel, stride: layer.stride, padding: 'valid' as const, bias: layer.bias, seed: s++ };
      let conv: GroupedLayer;
      let fieldSize = 1;
      if (kind === 'ien') {
        conv = new IenConv2d({ ...common, inChannels: cin, outChannels: width, groups: spec.equivariance.groups });
      } else if (kind === 'c4') {
        fieldSize = 4;
        conv = first
          ? new C4LiftingConv({ ...common, inChannels: cin, outFields: width / 4 })
          : new C4GroupConv({ ...common, inChannels: cin / 4, outFields: width / 4 });
      } else {
        fieldSize = 8;
        conv = first
          ? new SteerableLiftingConv({ ...common, inChannels: cin, outFields: width / 8, order: 8 })
          : new SteerableGroupConv({ ...common, inChannels: cin / 8, outFields: width / 8, order: 8 });
      }
      this.stages.push({ layer, conv, fieldSize, bn: layer.bn ? makeBatchNorm(width / fieldSize) : undefined });
      this.widths.push(width);
      cin = width;
      first = false;
    }
    if (!this.widths.length) throw new Error(`backbone "${spec.name}": an equivariant backbone needs at least one conv`);
  }

  /** Group layouts of the conv stages' outputs, in order (what the equivariance loss pools). */
  get layerLayouts(): GroupLayout[] {
    return this.convStages().map((st) => st.conv.outLayout);
  }

  /** Channels of the output features: the pooled channels of the last conv. */
  get outChannels(): number {
    const l = this.layerLayouts;
    return l[l.length - 1].pooledChannels;
  }

  /** Final pooled features `[B, h, w, outChannels]` of `[B, H, W, 3]` float32 0–255 crops. */
  apply(x: Tensor4D, training = false): Tensor4D {
    return tf.tidy(() => this.run(x, training, false).out as Tensor4D);
  }

  /** Pooled features after every conv stage (for the equivariance loss) and the final pooled features. */
  forwardFeatures(x: Tensor4D, training: boolean): ForwardFeatures {
    return this.run(x, training, true);
  }

  private run(x: Tensor4D, training: boolean, keepLayers: boolean): ForwardFeatures {
    this.assertAlive();
    if (x.rank !== 4 || x.shape[3] !== this.spec.inChannels) {
      throw new Error(`backbone "${this.spec.name}": input must be [B, H, W, ${this.spec.inChannels}], got [${x.shape}]`);
    }
    const layers: Tensor4D[] = [];
    let h: Tensor4D = x;
    let lastLayout: GroupLayout | null = null;
    this.spec.layers.forEach((layer, i) => {
      const st = this.stages[i];
      if (layer.type === 'conv' && st) {
        h = st.conv.apply(h, training);
        // BatchNorm takes the Relu that follows it (one fused pass on backends that have the kernel).
        if (st.bn) h = applyBatchNorm(h, st.bn, training, this.spec.bnEps, this.spec.bnMomentum, st.fieldSize, layer.act === 'relu');
        if (layer.act === 'relu' && !st.bn) h = tf.relu(h);
        else if (layer.act === 'elu') h = tf.elu(h);
        lastLayout = st.conv.outLayout;
        if (keepLayers) layers.push(groupPool(h, lastLayout));
      } else if (layer.type === 'maxpool') {
        h = tf.maxPool(h, layer.size, layer.stride, 'valid');
      } else if (layer.type === 'avgpool') {
        h = tf.avgPool(h, layer.size, layer.stride, 'valid');
      } else if (layer.type === 'center') {
        const { mean, variance } = tf.moments(h, [1, 2], true);
        h = tf.sub(h, mean) as Tensor4D;
        if (layer.scale) h = tf.div(h, tf.sqrt(tf.add(variance, 1e-5))) as Tensor4D;
      }
    });
    const lastIsConv = this.spec.layers[this.spec.layers.length - 1].type === 'conv';
    const out = keepLayers && lastIsConv ? layers[layers.length - 1] : groupPool(h, lastLayout as unknown as GroupLayout);
    return { layers, out };
  }

  private convStages(): ConvStage[] {
    return this.stages.filter((s): s is ConvStage => s !== null);
  }

  /** Trainable variables (conv weights, BN γ/β). */
  trainableVariables(): Variable[] {
    this.assertAlive();
    return this.convStages().flatMap((st) => [...st.conv.trainableVariables, ...(st.bn ? [st.bn.gamma, st.bn.beta] : [])]);
  }

  /** Every weight including BN moving statistics, named by stage index and role. */
  namedWeights(): { name: string; tensor: Tensor }[] {
    this.assertAlive();
    const out: { name: string; tensor: Tensor }[] = [];
    this.stages.forEach((st, i) => {
      if (!st) return;
      st.conv.trainableVariables.forEach((v, j) => out.push({ name: `layer${i}/conv${j}`, tensor: v }));
      if (st.bn) for (const [k, v] of Object.entries(st.bn)) out.push({ name: `layer${i}/${k}`, tensor: v });
    });
    return out;
  }

  /** Number of trainable parameters. */
  parameterCount(): number {
    return this.trainableVariables().reduce((s, v) => s + v.size, 0);
  }

  /** Assign saved weights by name; throws naming the missing or mismatched weight. */
  loadWeights(weights: Record<string, Tensor>, where = 'weights'): void {
    this.assertAlive();
    // cached expanded filters (C4/C8) notice the new weights through their variables' data ids
    assignNamedWeights(this.namedWeights(), weights, where);
  }

  /** Release every variable and cached filter bank. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const st of this.convStages()) {
      st.conv.dispose();
      if (st.bn) for (const v of Object.values(st.bn)) v.dispose();
    }
  }

  private assertAlive(): void {
    if (this.disposed) throw new Error(`backbone "${this.spec.name}" was disposed`);
  }
}
