/**
 * AlexNet-style backbones built from a typed `BackboneSpec` (backbone-spec.ts). Functional tf ops, parameters are
 * `tf.Variable`s owned by the backbone and released in `dispose()`. Input `[B, H, W, inChannels]` float32 with raw
 * 0–255 values (SiamFC uses no mean subtraction); output `[B, h, w, C]` float32.
 */
import { tf } from './tf.js';
import type { Tensor, Tensor1D, Tensor4D, Variable } from './tf.js';
import { type BackboneSpec, type ConvLayerSpec, scaledWidth } from './backbone-spec.js';
import { type BatchNormParams, applyBatchNorm, assignNamedWeights, makeBatchNorm, ownVariable as own } from './batchnorm.js';
import { groupedConv2d } from './group-conv.js';

/** Parameters of one conv layer (+ BatchNorm). Filter `[k, k, Cin/groups, Cout]`. */
interface ConvParams {
  filter: Variable;
  bias?: Variable;
  bn?: BatchNormParams;
}

/** A named weight, as saved in model files. */
export interface NamedWeight {
  name: string;
  tensor: Tensor;
}

/** Deterministic PRNG seed source for initialisation (xorshift over a counter). */
function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

/** A backbone: the feature extractor shared by both SiamFC branches. */
export class Backbone {
  readonly spec: BackboneSpec;
  /** Output channel count of each conv layer after the width multiplier, in layer order. */
  readonly widths: number[] = [];
  private readonly params: (ConvParams | null)[] = [];
  private disposed = false;

  /** Build a backbone with Xavier-uniform filters (siamfc-pytorch init), zero biases, BN γ=1, β=0. */
  constructor(spec: BackboneSpec, seed = 1) {
    this.spec = spec;
    if (spec.equivariance.kind !== 'none') {
      throw new Error(
        `backbone "${spec.name}": equivariance kind "${spec.equivariance.kind}" is built by the IEN backbone, not Backbone`,
      );
    }
    const next = seeded(seed);
    let cin = spec.inChannels;
    spec.layers.forEach((layer, i) => {
      if (layer.type !== 'conv') {
        this.params.push(null);
        return;
      }
      const cout = scaledWidth(layer, spec.widthMultiplier, layer.groups);
      if (cin % layer.groups !== 0) {
        throw new Error(`backbone "${spec.name}" layer ${i}: ${cin} input channels not divisible by groups ${layer.groups}`);
      }
      this.widths.push(cout);
      this.params.push(this.makeConv(layer, cin, cout, next()));
      cin = cout;
    });
  }

  private makeConv(layer: ConvLayerSpec, cin: number, cout: number, seed: number): ConvParams {
    const fanIn = (cin / layer.groups) * layer.kernel * layer.kernel;
    const fanOut = (cout / layer.groups) * layer.kernel * layer.kernel;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const p: ConvParams = {
      filter: own(tf.randomUniform([layer.kernel, layer.kernel, cin / layer.groups, cout], -limit, limit, 'float32', seed)),
    };
    if (layer.bias) p.bias = own(tf.zeros([cout]));
    if (layer.bn) p.bn = makeBatchNorm(cout);
    return p;
  }

  /** Number of output channels of the features. */
  get outChannels(): number {
    return this.widths.length ? this.widths[this.widths.length - 1] : this.spec.inChannels;
  }

  /**
   * Features of a batch. `x`: `[B, H, W, inChannels]` float32 (0–255). In training mode BatchNorm uses batch
   * statistics and updates its moving averages (PyTorch momentum convention); otherwise the moving averages.
   */
  apply(x: Tensor4D, training = false): Tensor4D {
    return tf.tidy(() => this.run(x, training, null));
  }

  /**
   * The output of every conv layer (after its activation) and the features, for the per-layer equivariance error of a
   * plain backbone: with no feature groups these are compared unpooled (Λ = 1). Deliberately not `forwardFeatures`:
   * a plain backbone is no GroupedModel, and the IEN loss refuses it.
   */
  layerOutputs(x: Tensor4D, training = false): { layers: Tensor4D[]; out: Tensor4D } {
    const layers: Tensor4D[] = [];
    const out = this.run(x, training, layers);
    return { layers, out };
  }

  private run(x: Tensor4D, training: boolean, collect: Tensor4D[] | null): Tensor4D {
    this.assertAlive();
    if (x.rank !== 4 || x.shape[3] !== this.spec.inChannels) {
      throw new Error(`backbone "${this.spec.name}": input must be [B, H, W, ${this.spec.inChannels}], got [${x.shape}]`);
    }
    let h: Tensor4D = x;
    let dataInput = true; // until the first conv, h is the input (or pooled input): nothing differentiates it
    this.spec.layers.forEach((layer, i) => {
      switch (layer.type) {
        case 'conv':
          h = this.conv(h, layer, this.params[i] as ConvParams, training, dataInput);
          dataInput = false;
          collect?.push(h);
          break;
        case 'maxpool':
          h = tf.maxPool(h, layer.size, layer.stride, 'valid');
          break;
        case 'avgpool':
          h = tf.avgPool(h, layer.size, layer.stride, 'valid');
          break;
        case 'center': {
          const { mean, variance } = tf.moments(h, [1, 2], true);
          h = tf.sub(h, mean) as Tensor4D;
          if (layer.scale) h = tf.div(h, tf.sqrt(tf.add(variance, 1e-5))) as Tensor4D;
          break;
        }
      }
    });
    return h;
  }

  private conv(x: Tensor4D, layer: ConvLayerSpec, p: ConvParams, training: boolean, dataInput: boolean): Tensor4D {
    if (layer.groups === 1 && p.bias && !dataInput) {
      // The bias in the conv's own output pass (FusedConv2D; linear, so it fuses under gradients too): one full-size
      // Add and its allocation fewer per conv, the same float sums. Not on the first conv: the fused op's gradient
      // always computes the input's, which for the image nobody needs (the plain conv's tape skips it).
      return this.finishConv(tf.fused.conv2d({ x, filter: p.filter as Tensor4D, strides: layer.stride, pad: 'valid', bias: p.bias }), layer, p, training);
    }
    // AlexNet's grouped convs: one native kernel with the bias where the backend has it, else split → convs → concat.
    const y = groupedConv2d(x, p.filter as Tensor4D, layer.stride, layer.groups, p.bias as Tensor1D | undefined);
    return this.finishConv(y, layer, p, training);
  }

  /** BatchNorm and activation after a conv's bias. */
  private finishConv(y: Tensor4D, layer: ConvLayerSpec, p: ConvParams, training: boolean): Tensor4D {
    // BatchNorm takes the Relu that follows it (one fused pass on backends that have the kernel).
    if (p.bn) y = applyBatchNorm(y, p.bn, training, this.spec.bnEps, this.spec.bnMomentum, 1, layer.act === 'relu');
    if (layer.act === 'relu' && !p.bn) y = tf.relu(y);
    else if (layer.act === 'elu') y = tf.elu(y);
    return y;
  }

  /** Trainable variables (filters, biases, BN γ/β). */
  trainableVariables(): Variable[] {
    this.assertAlive();
    const out: Variable[] = [];
    for (const p of this.params) {
      if (!p) continue;
      for (const v of [p.filter, p.bias, p.bn?.gamma, p.bn?.beta]) if (v) out.push(v);
    }
    return out;
  }

  /** Every weight including BN moving statistics, with stable names (for model files). */
  namedWeights(): NamedWeight[] {
    this.assertAlive();
    // tf.Variable names are global in tfjs, so stable names come from the layer index instead.
    const out: NamedWeight[] = [];
    this.params.forEach((p, i) => {
      if (!p) return;
      out.push({ name: `layer${i}/filter`, tensor: p.filter });
      if (p.bias) out.push({ name: `layer${i}/bias`, tensor: p.bias });
      if (p.bn) for (const [k, v] of Object.entries(p.bn)) out.push({ name: `layer${i}/${k}`, tensor: v });
    });
    return out;
  }

  /** Number of trainable parameters. */
  parameterCount(): number {
    return this.trainableVariables().reduce((s, v) => s + v.size, 0);
  }

  /** Assign saved weights by name; throws naming the missing or mismatched weight. `where` names the source file. */
  loadWeights(weights: Record<string, Tensor>, where = 'weights'): void {
    this.assertAlive();
    assignNamedWeights(this.namedWeights(), weights, where);
  }

  /** Release every variable. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.params) {
      if (!p) continue;
      p.filter.dispose();
      p.bias?.dispose();
      if (p.bn) for (const v of Object.values(p.bn)) v.dispose();
    }
  }

  private assertAlive(): void {
    if (this.disposed) throw new Error(`backbone "${this.spec.name}" was disposed`);
  }
}
