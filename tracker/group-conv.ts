/**
 * A grouped 2-D convolution (AlexNet's two-GPU channel split), 'valid' padding, NHWC: input channels
 * [g·C/G, (g+1)·C/G) feed output channels [g·OC/G, (g+1)·OC/G) through filter `[k, k, C/G, OC]`, plus an optional bias.
 * On a backend with the GROUP_CONV_KERNEL (native-cpu) it is one kernel call and one call per gradient; elsewhere the
 * split → conv per group → concat op chain, which computes the same sums. Browser-safe.
 */
import { tf } from './tf.js';
import type { Tensor1D, Tensor4D } from './tf.js';
import { GROUP_CONV_KERNEL, hasFusedKernel, runFused } from './fused-kernels.js';

export function groupedConv2d(x: Tensor4D, filter: Tensor4D, stride: number, groups: number, bias?: Tensor1D): Tensor4D {
  const C = x.shape[3];
  const [, , cin, oc] = filter.shape;
  if (!Number.isInteger(groups) || groups < 1 || cin * groups !== C || oc % groups !== 0) {
    throw new Error(`grouped conv: filter [${filter.shape}] with ${groups} groups does not fit input [${x.shape}] ` +
      `(needs filter in-channels × groups = input channels and out-channels divisible by groups)`);
  }
  // Also for one group with a bias: the kernel adds it in its output pass, and — unlike FusedConv2D, whose gradient
  // always computes the input's — computes only the gradients the tape asks for (none for the image into conv1).
  if ((groups > 1 || bias) && hasFusedKernel(GROUP_CONV_KERNEL) && x.dtype === 'float32' && filter.dtype === 'float32') {
    const inputs: Record<string, tf.Tensor> = bias ? { x, filter, bias } : { x, filter };
    return runFused(GROUP_CONV_KERNEL, inputs, { strides: stride, groups })[0] as Tensor4D;
  }
  let y: Tensor4D;
  if (groups === 1) {
    y = tf.conv2d(x, filter, stride, 'valid');
  } else {
    const xs = tf.split(x, groups, 3);
    const ws = tf.split(filter, groups, 3);
    y = tf.concat(xs.map((xi, g) => tf.conv2d(xi as Tensor4D, ws[g] as Tensor4D, stride, 'valid')), 3);
  }
  return bias ? tf.add(y, bias) : y;
}
