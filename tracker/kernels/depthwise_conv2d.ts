/**
 * DepthwiseConv2dNative gradients for the wasm backend (both absent from tfjs-backend-wasm 4.22), as XNNPACK
 * depthwise convs plus memory moves; the algebra is the one of ./conv2d.ts with channels kept apart:
 *
 * - `DepthwiseConv2dNativeBackpropInput`: dy [B, OH, OW, C·M] convolved, multiplier 1, with the spatially flipped
 *   filter viewed as [KH, KW, C·M, 1] (one conv per output phase for strides > 1); then summed over the M outputs of
 *   each channel.
 * - `DepthwiseConv2dNativeBackpropFilter`: x as one image whose channels are (c, b), convolved with dy viewed as a
 *   [OH, OW, C·B, M] filter (stride = forward dilation, dilation = forward stride); then summed over b. Correct but
 *   slow (~1 GFLOP/s: XNNPACK has no fast path for a depthwise kernel of OH×OW taps); none of our models trains a
 *   depthwise conv today.
 */
import { tf } from '../tf.js';
import { filterGradient, inputGradient } from './conv2d.js';
import { withDyShape, withScratch, type TensorInfo } from './util.js';

function depthwiseInfo(
  xShape: number[], filterShape: number[], attrs: tf.DepthwiseConv2dNativeBackpropInputAttrs,
): tf.backend_util.Conv2DInfo {
  const { strides, dilations, pad, dimRoundingMode } = attrs;
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number], strides,
    dilations ?? [1, 1], pad, dimRoundingMode, true);
}

function backpropInput({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): TensorInfo {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const info = withDyShape(depthwiseInfo(a.inputShape, filter.shape, a), dy);
  const [, , C, M] = filter.shape as [number, number, number, number];
  return withScratch(backend, (s) => {
    const dx = inputGradient(s, dy, filter, info, true); // [B, H, W, C·M]
    if (M === 1) return dx;
    const [B, H, W] = dx.shape;
    const dx5 = s.reshape(dx, [B, H, W, C, M]);
    return s.run('Sum', { x: dx5 }, { axis: [4], keepDims: false });
  });
}

function backpropFilter({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): TensorInfo {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = withDyShape(depthwiseInfo(x.shape, a.filterShape, a as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs), dy);
  return withScratch(backend, (s) => filterGradient(s, x, dy, info, true));
}

/** `DepthwiseConv2dNativeBackpropInput` for 'wasm'. */
export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: backpropInput as tf.KernelFunc,
};

/** `DepthwiseConv2dNativeBackpropFilter` for 'wasm'. */
export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: backpropFilter as tf.KernelFunc,
};
