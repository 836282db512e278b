/**
 * Conv2D gradients for the wasm backend, as forward convolutions (XNNPACK) plus cheap memory moves:
 *
 * - `Conv2DBackpropFilter` (missing from tfjs-backend-wasm 4.22): dW[kh,kw,ci,co] = Σ_{b,oh,ow} x[b, oh·s + kh·d − pt,
 *   ow·s + kw·d − pl, ci] · dy[b,oh,ow,co] is a forward conv of xᵀ = x transposed to [Ci, H, W, B] (batch ↔ channels)
 *   with the filter dyᵀ = dy transposed to [OH, OW, B, Co], stride = the forward dilation d and dilation = the forward
 *   stride s, padded like the forward conv; its output [Ci, KH, KW, Co] is transposed back to [KH, KW, Ci, Co].
 *   (Most of the gap to the forward conv's speed is XNNPACK packing dy as a new filter on every call.)
 * - `Conv2DBackpropInput` (replaces the stock wasm kernel): stride 1 is one forward conv of dy with the flipped filter;
 *   stride s > 1 is s_h·s_w such convs with the sub-filters of each output phase (see `inputGradient`). The stock
 *   kernel is a scalar C++ loop: ~3 GFLOP/s where XNNPACK's forward conv does ~33 on this machine, and 3–8× slower
 *   than this one on every shape of scripts/bench-train-kernels.ts (strides 1 and 2).
 *
 * Only NHWC, as every tfjs-backend-wasm conv kernel.
 */
import { tf } from '../tf.js';
import {
  assertChannelsLast, explicitPad, placeStrided, withDyShape, withScratch, type Scratch, type TensorInfo,
} from './util.js';

type Conv2DInfo = tf.backend_util.Conv2DInfo;

/**
 * dW for a conv described by `info` (either regular or depthwise, see `depthwise`). x: [B, H, W, Ci] float32,
 * dy: [B, OH, OW, Co] float32. Returns the filter gradient, [KH, KW, Ci, Co] (depthwise: [KH, KW, C, M]).
 */
export function filterGradient(s: Scratch, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo, depthwise = false): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  // Input rows/columns the forward conv read, counted from row 0: [−pt, needH).
  const needH = (KH - 1) * dh + (OH - 1) * sh + 1 - pt;
  const needW = (KW - 1) * dw + (OW - 1) * sw + 1 - pl;
  let xc = x;
  if (needH < H || needW < W) {
    // Rows a 'valid'/strided conv never read would make the conv below too tall: crop them (XNNPACK has no negative pad).
    xc = s.track(placeStrided(s.backend, x, 1, 1, 0, 0, Math.min(H, needH), Math.min(W, needW)));
  }
  const pad = explicitPad(pt, Math.max(0, needH - H), pl, Math.max(0, needW - W));
  if (!depthwise) {
    const xT = s.transpose(xc, [3, 1, 2, 0]); // [Ci, H, W, B]
    const dyT = s.transpose(dy, [1, 2, 0, 3]); // [OH, OW, B, Co]
    const o = s.run('Conv2D', { x: xT, filter: dyT }, {
      strides: [dh, dw], pad, dataFormat: 'NHWC', dilations: [sh, sw], dimRoundingMode: undefined as unknown as string,
    }); // [Ci, KH, KW, Co]
    return s.transpose(o, [1, 2, 0, 3]);
  }
  // Depthwise: channel c only meets channels c·M … c·M + M − 1 of dy. Put (c, b) on the channel axis of a single
  // image and let a depthwise conv with multiplier M do the spatial correlation; then sum over b.
  const C = info.inChannels;
  const M = info.outChannels / C;
  const Hc = xc.shape[1];
  const Wc = xc.shape[2];
  const xT = s.transpose(xc, [1, 2, 3, 0]); // [H, W, C, B]
  const xImg = s.reshape(xT, [1, Hc, Wc, C * B]);
  const dy5 = s.reshape(dy, [B, OH, OW, C, M]);
  const dyT = s.transpose(dy5, [1, 2, 3, 0, 4]); // [OH, OW, C, B, M]
  const f = s.reshape(dyT, [OH, OW, C * B, M]);
  const o = s.run('DepthwiseConv2dNative', { x: xImg, filter: f }, {
    strides: [dh, dw], pad, dilations: [sh, sw], dimRoundingMode: undefined as unknown as string,
  }); // [1, KH, KW, C·B·M]
  const o5 = s.reshape(o, [KH, KW, C, B, M]);
  if (B === 1) return s.reshape(o5, [KH, KW, C, M]);
  return s.run('Sum', { x: o5 }, { axis: [3], keepDims: false });
}

/**
 * dx for a conv described by `info`, as forward convs of dy. dy: [B, OH, OW, Co]; filter: the forward filter,
 * [KH, KW, Ci, Co] (depthwise: [KH, KW, C, M]). Returns [B, H, W, Ci] (depthwise: [B, H, W, C·M], the caller sums
 * over M).
 *
 * Stride 1: one conv (dilation d) of dy, padded by (K − 1)·d − pt, with the filter flipped in space and its channel
 * axes swapped. Stride s > 1: the rows ih of dx with (ih + pt) mod s = r only see the taps kh ≡ r (mod s), so each of
 * the s_h·s_w phases is a stride-1 conv of dy with that sub-filter, written back to every s-th row and column. This
 * costs the true FLOPs; inserting s − 1 zeros between dy's pixels (the textbook way) multiplies them by s_h·s_w.
 */
export function inputGradient(s: Scratch, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo, depthwise = false): TensorInfo {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  if ((sh === 1 && sw === 1) || dh !== 1 || dw !== 1) {
    // (tfjs never combines strides and dilations > 1; were it to, the zero-inserting path below stays exact.)
    return inputGradientDense(s, dy, flipFilter(s, filter, depthwise), info, depthwise);
  }
  const { batchSize: B, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const cOut = depthwise ? info.outChannels : info.inChannels;
  const dx = s.track(s.backend.makeOutput([B, H, W, cOut], 'float32'));
  // With a stride larger than the kernel some phases meet no tap: their rows stay 0.
  if (sh > KH || sw > KW) (s.backend.typedArrayFromHeap(dx) as Float32Array).fill(0);
  for (let rh = 0; rh < sh; rh++) {
    const Th = Math.ceil((KH - rh) / sh);
    const qh0 = Math.ceil((pt - rh) / sh);
    const nh = Math.floor((H - 1 + pt - rh) / sh) - qh0 + 1;
    for (let rw = 0; rw < sw; rw++) {
      const Tw = Math.ceil((KW - rw) / sw);
      const qw0 = Math.ceil((pl - rw) / sw);
      const nw = Math.floor((W - 1 + pl - rw) / sw) - qw0 + 1;
      if (nh <= 0 || nw <= 0 || Th <= 0 || Tw <= 0) continue;
      const sub = s.track(subFilter(s, filter, rh, rw, Th, Tw, sh, sw, depthwise));
      const top = Th - 1 - qh0;
      const left = Tw - 1 - qw0;
      const bottom = nh + Th - 1 - OH - top;
      const right = nw + Tw - 1 - OW - left;
      const kernel = depthwise ? 'DepthwiseConv2dNative' : 'Conv2D';
      const attrs = { strides: [1, 1], dilations: [1, 1], dimRoundingMode: undefined as unknown as string, ...(depthwise ? {} : { dataFormat: 'NHWC' }) };
      let part: TensorInfo;
      if (top >= 0 && left >= 0 && bottom >= 0 && right >= 0) {
        part = s.run(kernel, { x: dy, filter: sub }, { ...attrs, pad: explicitPad(top, bottom, left, right) });
      } else {
        const canvas = s.track(placeStrided(s.backend, dy, 1, 1, top, left, nh + Th - 1, nw + Tw - 1));
        part = s.run(kernel, { x: canvas, filter: sub }, { ...attrs, pad: 'valid' });
      }
      // Every pixel of dx belongs to exactly one phase.
      scatterPhase(s, part, dx, rh - pt + sh * qh0, rw - pl + sw * qw0, sh, sw);
    }
  }
  return dx;
}

/** The forward filter flipped in space, laid out for a conv from dy's channels to x's ([KH, KW, Co, Ci] or [KH, KW, C·M, 1]). */
function flipFilter(s: Scratch, filter: TensorInfo, depthwise: boolean): TensorInfo {
  const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] });
  if (!depthwise) return s.transpose(flipped, [0, 1, 3, 2]);
  const [KH, KW, C, M] = filter.shape;
  return s.reshape(flipped, [KH, KW, C * M, 1]);
}

/**
 * Taps (rh + sh·t, rw + sw·u) of the forward filter, flipped in space: [Th, Tw, Co, Ci] (depthwise: [Th, Tw, C·M, 1]).
 */
function subFilter(
  s: Scratch, filter: TensorInfo, rh: number, rw: number, Th: number, Tw: number, sh: number, sw: number, depthwise: boolean,
): TensorInfo {
  const [, KW, A, Bc] = filter.shape; // conv: A = Ci, Bc = Co; depthwise: A = C, Bc = M
  const out = s.backend.makeOutput(depthwise ? [Th, Tw, A * Bc, 1] : [Th, Tw, Bc, A], 'float32');
  const o = s.backend.typedArrayFromHeap(out) as Float32Array;
  const w = s.backend.typedArrayFromHeap(filter) as Float32Array;
  let k = 0;
  for (let a = 0; a < Th; a++) {
    const kh = rh + sh * (Th - 1 - a);
    for (let b = 0; b < Tw; b++) {
      const kw = rw + sw * (Tw - 1 - b);
      const base = (kh * KW + kw) * A * Bc;
      if (depthwise) {
        for (let i = 0; i < A * Bc; i++) o[k++] = w[base + i];
      } else {
        for (let co = 0; co < Bc; co++) for (let ci = 0; ci < A; ci++) o[k++] = w[base + ci * Bc + co];
      }
    }
  }
  return out;
}

/** dx[b, row0 + sh·i, col0 + sw·j, :] = part[b, i, j, :] (part: [B, nh, nw, C]; every target is inside dx). */
function scatterPhase(s: Scratch, part: TensorInfo, dx: TensorInfo, row0: number, col0: number, sh: number, sw: number): void {
  const [B, nh, nw, C] = part.shape;
  const [, H, W] = dx.shape;
  const o = s.backend.typedArrayFromHeap(dx) as Float32Array;
  const v = s.backend.typedArrayFromHeap(part) as Float32Array;
  let src = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < nh; i++) {
      const rowBase = (b * H + row0 + sh * i) * W;
      for (let j = 0; j < nw; j++) {
        const dst = (rowBase + col0 + sw * j) * C;
        for (let c = 0; c < C; c++) o[dst + c] = v[src++];
      }
    }
  }
}

/** The stride-1 (or zero-inserting) path of `inputGradient`, given the flipped filter. */
function inputGradientDense(s: Scratch, dy: TensorInfo, flippedFilter: TensorInfo, info: Conv2DInfo, depthwise: boolean): TensorInfo {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const top = (KH - 1) * dh - info.padInfo.top;
  const left = (KW - 1) * dw - info.padInfo.left;
  // A 'valid' conv over a [H + (KH−1)·dh, W + (KW−1)·dw] canvas gives exactly [H, W].
  const canvasH = H + (KH - 1) * dh;
  const canvasW = W + (KW - 1) * dw;
  const bottom = canvasH - top - ((OH - 1) * sh + 1);
  const right = canvasW - left - ((OW - 1) * sw + 1);
  const kernel = depthwise ? 'DepthwiseConv2dNative' : 'Conv2D';
  const common = { strides: [1, 1], dilations: [dh, dw], dimRoundingMode: undefined as unknown as string };
  const attrs = depthwise ? common : { ...common, dataFormat: 'NHWC' };
  if (sh === 1 && sw === 1 && top >= 0 && left >= 0 && bottom >= 0 && right >= 0) {
    // The common case (stride 1, pad ≤ K − 1): XNNPACK pads for free.
    return s.run(kernel, { x: dy, filter: flippedFilter }, { ...attrs, pad: explicitPad(top, bottom, left, right) });
  }
  const canvas = s.track(placeStrided(s.backend, dy, sh, sw, top, left, canvasH, canvasW));
  return s.run(kernel, { x: canvas, filter: flippedFilter }, { ...attrs, pad: 'valid' });
}

function conv2DBackpropFilter({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): TensorInfo {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  assertChannelsLast('Conv2DBackpropFilter', dataFormat);
  const info = withDyShape(tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast'), dy);
  return withScratch(backend, (s) => filterGradient(s, x, dy, info));
}

function conv2DBackpropInput({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): TensorInfo {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  assertChannelsLast('Conv2DBackpropInput', dataFormat);
  const info = withDyShape(tf.backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, 'channelsLast'), dy);
  return withScratch(backend, (s) => inputGradient(s, dy, filter, info));
}

/** `Conv2DBackpropFilter` for 'wasm' (absent from tfjs-backend-wasm). */
export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as tf.KernelFunc,
};

/** `Conv2DBackpropInput` for 'wasm', replacing the stock one (see the file comment for the measured reason). */
export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as tf.KernelFunc,
};
