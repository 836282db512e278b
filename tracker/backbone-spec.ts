/**
 * Typed specification of a SiamFC backbone: a layer list with widths, a width multiplier and the input sizes, so
 * the same code builds the paper's AlexNet (127/255) and small CPU-scale variants. Parsed with zod at every boundary
 * (model manifests, configs); types come from `z.infer`.
 */
import { z } from 'zod';

/** Activation applied after a conv (and its BatchNorm). */
export const Activation = z.enum(['relu', 'elu', 'none']);

/** A convolution layer, optionally followed by BatchNorm and an activation. `out` is before the width multiplier. */
export const ConvLayer = z
  .object({
    type: z.literal('conv'),
    out: z.number().int().positive(),
    kernel: z.number().int().positive(),
    stride: z.number().int().positive().default(1),
    /** Channel groups as in AlexNet's two-GPU split (input and output channels split into `groups` blocks). */
    groups: z.number().int().positive().default(1),
    bn: z.boolean().default(true),
    act: Activation.default('relu'),
    /** Bias: SiamFC's convs have one (BN follows); the IEN classifier's convs have none. */
    bias: z.boolean().default(true),
    /** Keep `out` fixed under the width multiplier (e.g. a final layer whose width is fixed by a head). */
    fixedWidth: z.boolean().default(false),
  })
  .strict();

/** Max pooling, VALID padding. */
export const MaxPoolLayer = z
  .object({ type: z.literal('maxpool'), size: z.number().int().positive(), stride: z.number().int().positive() })
  .strict();

/** Average pooling, VALID padding (a fixed, parameter-free feature extractor when used alone). */
export const AvgPoolLayer = z
  .object({ type: z.literal('avgpool'), size: z.number().int().positive(), stride: z.number().int().positive() })
  .strict();

/** Subtract each sample's per-channel spatial mean (and divide by its std when `scale`): a fixed normalisation that
 * turns raw-pixel cross-correlation into zero-mean template matching. */
export const CenterLayer = z.object({ type: z.literal('center'), scale: z.boolean().default(false) }).strict();

/** One backbone layer. */
export const LayerSpec = z.discriminatedUnion('type', [ConvLayer, MaxPoolLayer, AvgPoolLayer, CenterLayer]);

/** Equivariance of the backbone: plain CNN, IEN feature groups (homogeneous or heterogeneous spec name such as
 * `R4`, `R8`, `R4-2-1`), or an explicitly equivariant C4/C8 backbone. */
export const EquivarianceSpec = z
  .object({
    kind: z.enum(['none', 'ien', 'c4', 'c8']).default('none'),
    /** Group spec name for `ien` (e.g. `R4`, `R4-2-1`); ignored for `none`. */
    groups: z.string().default('R1'),
  })
  .strict();

/** A complete backbone specification. */
export const BackboneSpec = z
  .object({
    name: z.string().min(1),
    inChannels: z.number().int().positive().default(3),
    layers: z.array(LayerSpec).min(1),
    /** Multiplies every conv's `out` (rounded to a multiple of its groups); 1 = the paper's widths. */
    widthMultiplier: z.number().positive().default(1),
    /** Exemplar (template) crop size in pixels; the paper's 127. */
    exemplarSize: z.number().int().positive().default(127),
    /** Search (instance) crop size in pixels; the paper's 255. */
    instanceSize: z.number().int().positive().default(255),
    /** BatchNorm epsilon (siamfc-pytorch: 1e-6) and momentum (PyTorch convention: 0.05). */
    bnEps: z.number().positive().default(1e-6),
    bnMomentum: z.number().positive().max(1).default(0.05),
    equivariance: EquivarianceSpec.default({}),
  })
  .strict();

export type LayerSpec = z.infer<typeof LayerSpec>;
export type ConvLayerSpec = z.infer<typeof ConvLayer>;
export type BackboneSpec = z.infer<typeof BackboneSpec>;
/** Input form of a spec (defaults may be omitted). */
export type BackboneSpecInput = z.input<typeof BackboneSpec>;

/** Parse and validate a spec; throws an error naming the offending field path. `where` names the source (a file). */
export function parseBackboneSpec(input: unknown, where = 'backbone spec'): BackboneSpec {
  const r = BackboneSpec.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${where}: invalid backbone spec — ${msg}`);
  }
  return r.data;
}

/** Output width of a conv after the width multiplier, rounded to a positive multiple of `multipleOf`. */
export function scaledWidth(layer: ConvLayerSpec, multiplier: number, multipleOf: number): number {
  if (layer.fixedWidth) return layer.out;
  const m = Math.max(multipleOf, Math.round((layer.out * multiplier) / multipleOf) * multipleOf);
  return m;
}

/** Spatial output size of the backbone for a square input of `size` pixels (VALID convs and pools). */
export function outputSize(spec: BackboneSpec, size: number): number {
  let s = size;
  for (const l of spec.layers) {
    if (l.type === 'conv') s = Math.floor((s - l.kernel) / l.stride) + 1;
    else if (l.type === 'maxpool' || l.type === 'avgpool') s = Math.floor((s - l.size) / l.stride) + 1;
  }
  return s;
}

/** Product of all strides: pixels of input per cell of the feature map (SiamFC's total_stride, 8 for AlexNet). */
export function totalStride(spec: BackboneSpec): number {
  let s = 1;
  for (const l of spec.layers) {
    if (l.type === 'conv') s *= l.stride;
    else if (l.type === 'maxpool' || l.type === 'avgpool') s *= l.stride;
  }
  return s;
}

/** The siamfc-pytorch AlexNetV1 backbone (Bertinetto et al. 2016): total stride 8, 6×6 exemplar / 22×22 search
 * features at 127/255, 256 output channels. */
export function alexnetSpec(overrides: Partial<BackboneSpecInput> = {}): BackboneSpec {
  return parseBackboneSpec({
    name: 'alexnet-v1',
    layers: [
      { type: 'conv', out: 96, kernel: 11, stride: 2 },
      { type: 'maxpool', size: 3, stride: 2 },
      { type: 'conv', out: 256, kernel: 5, groups: 2 },
      { type: 'maxpool', size: 3, stride: 2 },
      { type: 'conv', out: 384, kernel: 3 },
      { type: 'conv', out: 384, kernel: 3, groups: 2 },
      { type: 'conv', out: 256, kernel: 3, groups: 2, bn: false, act: 'none' },
    ],
    ...overrides,
  });
}

/** A fixed, parameter-free backbone: average-pooled raw pixels (stride `stride`), zero-mean per sample, so that
 * SiamFC becomes plain template matching. Used as an untrained baseline and in tests. */
export function pooledPixelsSpec(stride = 4, overrides: Partial<BackboneSpecInput> = {}): BackboneSpec {
  return parseBackboneSpec({
    name: `pooled-pixels-s${stride}`,
    layers: [{ type: 'avgpool', size: stride, stride }, { type: 'center', scale: true }],
    ...overrides,
  });
}
