/**
 * native-cpu's grouped-conv kernels (tracker/group-conv.ts's GROUP_CONV_KERNEL and its two gradients): the add-on's
 * conv kernels with a group count, so AlexNet's two-GPU split costs no SplitV of the input and filter, no Concat of
 * the outputs and gradients, and no separate bias Add (measured in reports/engines/README.md).
 */
import { outputPool } from './buffer-pool.js';
import { tf } from '../tf.js';
import {
  GROUP_CONV_GRAD_FILTER_KERNEL, GROUP_CONV_GRAD_INPUT_KERNEL, GROUP_CONV_KERNEL, runFused, type GroupConvAttrs,
} from '../fused-kernels.js';
import { f32, ins, out, sameShape, size, type Backend } from './native-fused.js';

/** The add-on functions these kernels call (tracker/native/src/kernels.cc). */
export interface GroupConvAddon {
  conv2d(x: Float32Array, w: Float32Array, y: Float32Array, p: Int32Array, bias: Float32Array | null, act: number, alpha: number): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, p: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, p: Int32Array): void;
  convGroups?(): boolean;
}

/** True when the add-on's convs read a group count (a build older than that would ignore it and compute garbage). */
export function addonHasGroupConv(addon: GroupConvAddon): boolean {
  return typeof addon.convGroups === 'function' && addon.convGroups() === true;
}

/** The add-on's conv params `[B, H, W, C, OH, OW, OC, k, k, s, s, 1, 1, 0, 0, G]` of a 'valid' grouped conv. */
export function groupConvParams(xShape: number[], filterShape: number[], attrs: GroupConvAttrs): { p: Int32Array; outShape: number[] } {
  const [B, H, W, C] = xShape;
  const [kh, kw, cg, oc] = filterShape;
  const { strides: s, groups: g } = attrs;
  if (xShape.length !== 4 || filterShape.length !== 4 || !Number.isInteger(g) || g < 1 || !Number.isInteger(s) || s < 1 ||
    cg * g !== C || oc % g !== 0 || kh > H || kw > W) {
    throw new Error(`native-cpu grouped conv: input [${xShape}], filter [${filterShape}], stride ${s} and groups ${g} do not fit ` +
      '(filter in-channels × groups must equal the input channels, groups must divide the out-channels, the kernel fit the input)');
  }
  const oh = Math.floor((H - kh) / s) + 1;
  const ow = Math.floor((W - kw) / s) + 1;
  return { p: Int32Array.from([B, H, W, C, oh, ow, oc, kh, kw, s, s, 1, 1, 0, 0, g]), outShape: [B, oh, ow, oc] };
}

/** Kernel functions by kernel name, calling `addon`. */
export function groupConvKernels(addon: GroupConvAddon): Record<string, tf.KernelFunc> {
  return {
    [GROUP_CONV_KERNEL]: ({ inputs, backend, attrs }) => {
      const b = backend as Backend;
      const [x, filter] = ins(inputs, 'x', 'filter');
      const { p, outShape } = groupConvParams(x.shape, filter.shape, attrs as unknown as GroupConvAttrs);
      const bias = inputs.bias;
      if (bias && size(bias.shape) !== outShape[3]) {
        throw new Error(`native-cpu grouped conv: bias [${bias.shape}] does not match ${outShape[3]} output channels`);
      }
      const y = outputPool.take(size(outShape));
      addon.conv2d(f32(b, x, 'x'), f32(b, filter, 'filter'), y, p, bias ? f32(b, bias, 'bias') : null, 0, 0);
      return out(b, outShape, y);
    },
    [GROUP_CONV_GRAD_INPUT_KERNEL]: ({ inputs, backend, attrs }) => {
      const b = backend as Backend;
      const [dy, filter] = ins(inputs, 'dy', 'filter');
      const at = attrs as unknown as GroupConvAttrs & { inputShape: number[] };
      const { p, outShape } = groupConvParams(at.inputShape, filter.shape, at);
      if (!sameShape(dy.shape, outShape)) throw new Error(`native-cpu grouped conv gradient: dy [${dy.shape}] is not [${outShape}]`);
      const dx = outputPool.take(size(at.inputShape));
      addon.conv2dBackpropInput(f32(b, dy, 'dy'), f32(b, filter, 'filter'), dx, p);
      return out(b, at.inputShape, dx);
    },
    [GROUP_CONV_GRAD_FILTER_KERNEL]: ({ inputs, backend, attrs }) => {
      const b = backend as Backend;
      const [x, dy] = ins(inputs, 'x', 'dy');
      const at = attrs as unknown as GroupConvAttrs & { filterShape: number[] };
      const { p, outShape } = groupConvParams(x.shape, at.filterShape, at);
      if (!sameShape(dy.shape, outShape)) throw new Error(`native-cpu grouped conv gradient: dy [${dy.shape}] is not [${outShape}]`);
      const dw = outputPool.take(size(at.filterShape));
      addon.conv2dBackpropFilter(f32(b, x, 'x'), f32(b, dy, 'dy'), dw, p);
      return out(b, at.filterShape, dw);
    },
  };
}

let gradientRegistered = false;

/** The gradient of GROUP_CONV_KERNEL (global; only backends with the kernel ever record it). Idempotent. */
export function registerGroupConvGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: GROUP_CONV_KERNEL,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved;
      const g = dy as tf.Tensor;
      const at = attrs as unknown as GroupConvAttrs;
      const conv = { strides: at.strides, groups: at.groups };
      return {
        x: () => runFused(GROUP_CONV_GRAD_INPUT_KERNEL, { dy: g, filter }, { ...conv, inputShape: x.shape })[0],
        filter: () => runFused(GROUP_CONV_GRAD_FILTER_KERNEL, { x, dy: g }, { ...conv, filterShape: filter.shape })[0],
        bias: () => tf.sum(g, [0, 1, 2]),
      };
    },
  });
}
