/**
 * Gradients of dilated convolutions. tfjs-core 4.22 refuses them on every backend ("Error in gradient of conv2D:
 * dilation rates greater than 1 are not yet supported in gradients"; same for depthwiseConv2d), and the backprop
 * kernels take no dilation attribute. A conv with dilation d equals the conv (dilation 1, same padding attribute) with
 * the filter's taps spread out by d − 1 zeros, so:
 *   dx = the stock input gradient with that zero-spread filter;
 *   dW = the stock filter gradient for the spread filter's shape, keeping every d-th tap.
 * Exact, built from ops that have gradients themselves, and the same on every backend. For dilation 1 the stock
 * gradient function runs untouched.
 *
 * These replace the gradient registrations of `Conv2D` and `DepthwiseConv2dNative` (a global registry, not per
 * backend); `registerDilatedConvGradients()` is called by `registerWasmTrainingKernels()` in tracker/backend.ts.
 * `tf.fused.conv2d` has its own gradient (a customGrad inside tfjs-core) and still refuses dilations.
 */
import { tf } from '../tf.js';

type Pair = [number, number];

function pair(v: number | number[] | undefined): Pair {
  if (v == null) return [1, 1];
  return typeof v === 'number' ? [v, v] : [v[0] ?? 1, v[1] ?? v[0] ?? 1];
}

/**
 * Filter [KH, KW, A, B] with dh − 1 / dw − 1 zeros between taps: [(KH−1)·dh + 1, (KW−1)·dw + 1, A, B].
 */
export function spreadFilter(w: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  const [KH, KW, A, B] = w.shape;
  return tf.tidy(() => {
    const w6 = tf.reshape(w, [KH, 1, KW, 1, A, B]);
    const padded = tf.pad(w6, [[0, 0], [0, dh - 1], [0, 0], [0, dw - 1], [0, 0], [0, 0]]);
    const spread = tf.reshape(padded, [KH * dh, KW * dw, A, B]);
    return tf.slice(spread, [0, 0, 0, 0], [(KH - 1) * dh + 1, (KW - 1) * dw + 1, A, B]) as tf.Tensor4D;
  });
}

/** Inverse of `spreadFilter` for gradients: keeps taps (i·dh, j·dw) of [(KH−1)·dh + 1, (KW−1)·dw + 1, A, B]. */
export function gatherSpreadTaps(g: tf.Tensor4D, KH: number, KW: number, dh: number, dw: number): tf.Tensor4D {
  const [, , A, B] = g.shape;
  return tf.tidy(() => {
    const full = tf.pad(g, [[0, dh - 1], [0, dw - 1], [0, 0], [0, 0]]); // [KH·dh, KW·dw, A, B]
    const g6 = tf.reshape(full, [KH, dh, KW, dw, A, B]);
    const taps = tf.slice(g6, [0, 0, 0, 0, 0, 0], [KH, 1, KW, 1, A, B]);
    return tf.reshape(taps, [KH, KW, A, B]);
  });
}

let registered = false;

/**
 * Wraps the registered gradients of Conv2D and DepthwiseConv2dNative so that dilations > 1 work. Idempotent.
 */
export function registerDilatedConvGradients(): void {
  if (registered) return;
  const conv = tf.getGradient(tf.Conv2D);
  const depthwise = tf.getGradient(tf.DepthwiseConv2dNative);
  if (conv == null || depthwise == null) throw new Error('tfjs-core gradients for Conv2D/DepthwiseConv2dNative are not registered');

  tf.registerGradient({
    ...conv,
    gradFunc: (dy, saved, attrs) => {
      const [dh, dw] = pair(attrs.dilations as number | number[]);
      if (dh === 1 && dw === 1) return conv.gradFunc(dy, saved, attrs);
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const [KH, KW] = filter.shape;
      const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as tf.Conv2DAttrs;
      return {
        x: () => tf.tidy(() => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dy as tf.Tensor, filter: spreadFilter(filter, dh, dw) },
          { strides, pad, dataFormat, dimRoundingMode, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor),
        filter: () => tf.tidy(() => {
          const filterShape = [(KH - 1) * dh + 1, (KW - 1) * dw + 1, filter.shape[2], filter.shape[3]];
          const g = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: dy as tf.Tensor },
            { strides, pad, dataFormat, dimRoundingMode, filterShape } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
          return gatherSpreadTaps(g, KH, KW, dh, dw);
        }),
      };
    },
  });

  tf.registerGradient({
    ...depthwise,
    gradFunc: (dy, saved, attrs) => {
      const [dh, dw] = pair(attrs.dilations as number | number[]);
      if (dh === 1 && dw === 1) return depthwise.gradFunc(dy, saved, attrs);
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const [KH, KW] = filter.shape;
      const { strides, pad, dimRoundingMode } = attrs as unknown as tf.DepthwiseConv2dNativeAttrs;
      return {
        x: () => tf.tidy(() => tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput,
          { dy: dy as tf.Tensor, filter: spreadFilter(filter, dh, dw) },
          { strides, pad, dilations: [1, 1], dimRoundingMode, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor),
        filter: () => tf.tidy(() => {
          const filterShape = [(KH - 1) * dh + 1, (KW - 1) * dw + 1, filter.shape[2], filter.shape[3]];
          const g = tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy: dy as tf.Tensor },
            { strides, pad, dilations: [1, 1], dimRoundingMode, filterShape } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
          return gatherSpreadTaps(g, KH, KW, dh, dw);
        }),
      };
    },
  });
  registered = true;
}
