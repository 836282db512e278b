/**
 * Export of a SiamFC network to ONNX (opset 17), from TypeScript, for any backbone the tracker loads (plain, IEN,
 * Het-IEN, C4, C8; BatchNorm folded into the convs, expanded group filters — see backbone-plan.ts). Three models:
 * - `features`: crops `[N, S, S, 3]` NHWC float32 0–255 → features `[N, h, w, C]` NHWC (what `backbone.apply` gives;
 *   used by the parity tests), S = the exemplar or the search size;
 * - `exemplar`: one exemplar crop `[1, E, E, 3]` → `kernel` `[1, C, hz, wz]` (NCHW: directly the weight of the
 *   cross-correlation conv, kept between frames);
 * - `search`: `k` search crops `[k, X, X, 3]` and `kernel` `[T, C, hz, wz]` → `response` `[k, T, r, r]` = xcorr ×
 *   outScale, all scales (and T rotated templates; T = 1 for plain SiamFC) in one run;
 * - `backbone`: `search` without its head — crops `[k, X, X, 3]` → `nchw` `[k, C, h, w]`, for an engine that runs the
 *   cross-correlation itself (the onnx engine with the native add-on: onnxruntime runs that Conv, whose weight is a
 *   graph input, through im2col at a fraction of its blocked convs' speed).
 * Browser-safe: returns bytes; writing files is the caller's business.
 */
import type { SiamFCNet } from '../siamfc/network.js';
import { outputSize } from '../backbone-spec.js';
import { type BackbonePlan, backbonePlan } from './backbone-plan.js';
import { padPlanChannels } from './channel-pad.js';
import { OnnxGraph } from './onnx-model.js';

/** Which of the three graphs. */
export type OnnxModelKind = 'features' | 'exemplar' | 'search' | 'backbone';

/** The ONNX models of one network (bytes) and the geometry they assume. */
export interface SiamFCOnnx {
  exemplar: Uint8Array;
  search: Uint8Array;
  exemplarSize: number;
  instanceSize: number;
  channels: number;
  /** Exemplar feature side (hz = wz) and response side r. */
  exemplarFeatureSize: number;
  responseSize: number;
}

/** Append the backbone's layers to `g` on NCHW input `x` of spatial side `size`; returns the NCHW features. */
function emitBackbone(g: OnnxGraph, plan: BackbonePlan, x: string, size: number): { out: string; side: number } {
  let h = x;
  let s = size;
  for (const l of plan.layers) {
    switch (l.type) {
      case 'conv': {
        const w = g.floats('W', l.dims, l.weight);
        const b = g.floats('B', [l.dims[0]], l.bias);
        h = g.node('Conv', [h, w, b], {
          kernel_shape: [l.dims[2], l.dims[3]], strides: [l.stride, l.stride], group: l.group,
          pads: [0, 0, 0, 0], dilations: [1, 1],
        });
        s = Math.floor((s - l.dims[2]) / l.stride) + 1;
        if (l.act === 'relu') h = g.node('Relu', [h]);
        else if (l.act === 'elu') h = g.node('Elu', [h], { alpha: { f: 1 } });
        break;
      }
      case 'maxpool':
      case 'avgpool':
        h = g.node(l.type === 'maxpool' ? 'MaxPool' : 'AveragePool', [h], {
          kernel_shape: [l.size, l.size], strides: [l.stride, l.stride], pads: [0, 0, 0, 0],
        });
        s = Math.floor((s - l.size) / l.stride) + 1;
        break;
      case 'center': {
        // per sample and channel: subtract the spatial mean, divide by √(population variance + 1e-5) when `scale`
        const mean = g.node('ReduceMean', [h], { axes: [2, 3], keepdims: 1 });
        h = g.node('Sub', [h, mean]);
        if (l.scale) {
          const variance = g.node('ReduceMean', [g.node('Mul', [h, h])], { axes: [2, 3], keepdims: 1 });
          const eps = g.floats('eps', [], new Float32Array([1e-5]));
          h = g.node('Div', [h, g.node('Sqrt', [g.node('Add', [variance, eps])])]);
        }
        break;
      }
      case 'groupPool': {
        // channel start + q·Λ + r: max over r of each group q, block by block, blocks concatenated in order
        const parts = l.blocks.map((blk) => {
          const part = l.blocks.length === 1 ? h : g.node('Slice', [h, g.int64s('starts', [blk.start]),
            g.int64s('ends', [blk.start + blk.channels]), g.int64s('axes', [1])]);
          if (blk.size === 1) return part;
          const grouped = g.node('Reshape', [part, g.int64s('shape', [0, blk.groups, blk.size, s, s])]);
          return g.node('ReduceMax', [grouped], { axes: [2], keepdims: 0 });
        });
        h = parts.length === 1 ? parts[0] : g.node('Concat', parts, { axis: 1 });
        break;
      }
    }
  }
  if (s !== outputSize(plan.spec, size)) throw new Error(`onnx export "${plan.spec.name}": feature side ${s} ≠ ${outputSize(plan.spec, size)}`);
  return { out: h, side: s };
}

/** One ONNX model of `net` (see the file comment). `size` = input crop side for `features` (default: search size). */
export function exportOnnxModel(net: SiamFCNet, kind: OnnxModelKind, size?: number, plan = onnxPlan(net)): Uint8Array {
  const spec = net.backbone.spec;
  const C = plan.outChannels;
  const g = new OnnxGraph(`${spec.name}-${kind}`);
  const inSize = kind === 'exemplar' ? spec.exemplarSize : kind === 'search' ? spec.instanceSize : (size ?? spec.instanceSize);
  const batch: number | string = kind === 'exemplar' ? 1 : 'N';
  const x = g.input('x', [batch, inSize, inSize, spec.inChannels]);
  const nchw = g.node('Transpose', [x], { perm: [0, 3, 1, 2] });
  const { out, side } = emitBackbone(g, plan, nchw, inSize);
  if (kind === 'features') {
    g.node('Transpose', [out], { perm: [0, 2, 3, 1] }, 'features');
    g.output('features', [batch, side, side, C]);
  } else if (kind === 'exemplar') {
    g.node('Identity', [out], {}, 'kernel');
    g.output('kernel', [1, C, side, side]);
  } else if (kind === 'backbone') {
    g.node('Identity', [out], {}, 'nchw');
    g.output('nchw', [batch, C, side, side]);
  } else {
    const hz = outputSize(spec, spec.exemplarSize);
    // T exemplar kernels (rotated templates; usually 1) → T response maps per search crop
    const kernel = g.input('kernel', ['T', C, hz, hz]);
    const r = side - hz + 1;
    const corr = g.node('Conv', [out, kernel], { kernel_shape: [hz, hz], strides: [1, 1], pads: [0, 0, 0, 0] });
    const scale = g.floats('out_scale', [], new Float32Array([net.outScale]));
    g.node('Mul', [corr, scale], {}, 'response');
    g.output('response', [batch, 'T', r, r]);
  }
  return g.encode();
}

/**
 * The backbone plan the export emits: conv widths padded for onnxruntime's blocked conv layout (channel-pad.ts) to
 * multiples of `channelMultiple` (8 by default: what its blocked conv needs; 16 where its block is 16 wide, AVX-512).
 */
export function onnxPlan(net: SiamFCNet, channelMultiple = 8): BackbonePlan {
  return padPlanChannels(backbonePlan(net.backbone), channelMultiple);
}

/** Options of `exportSiamFCOnnx`. */
export interface SiamFCOnnxOptions {
  /** `'backbone'`: the search model without its cross-correlation head (see the file comment). Default `'search'`. */
  search?: 'search' | 'backbone';
  /** Conv widths padded to multiples of this (onnxPlan). Default 8. */
  channelMultiple?: number;
}

/** The exemplar and search models of `net` (the plan is read once). */
export function exportSiamFCOnnx(net: SiamFCNet, opts: SiamFCOnnxOptions = {}): SiamFCOnnx {
  const plan = onnxPlan(net, opts.channelMultiple);
  const spec = net.backbone.spec;
  const { responseSize } = net.geometry;
  return {
    exemplar: exportOnnxModel(net, 'exemplar', undefined, plan),
    search: exportOnnxModel(net, opts.search ?? 'search', undefined, plan),
    exemplarSize: spec.exemplarSize,
    instanceSize: spec.instanceSize,
    channels: plan.outChannels,
    exemplarFeatureSize: outputSize(spec, spec.exemplarSize),
    responseSize,
  };
}
