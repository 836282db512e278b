/**
 * The kernels that let tfjs-backend-wasm 4.22 train our models. Registered by `registerWasmTrainingKernels()` in
 * tracker/backend.ts; nothing here registers itself on import.
 */
import type { tf } from '../tf.js';
import { conv2DBackpropFilterConfig, conv2DBackpropInputConfig } from './conv2d.js';
import { depthwiseConv2dNativeBackpropFilterConfig, depthwiseConv2dNativeBackpropInputConfig } from './depthwise_conv2d.js';
import { maxPoolGradConfig } from './max_pool_grad.js';
import { tileConfig } from './tile.js';
import { unsortedSegmentSumConfig } from './unsorted_segment_sum.js';

/**
 * Gradient kernels that tfjs-backend-wasm lacks, found by running tf.grad on wasm over the ops our training uses
 * (test/tracker/wasm-grad.test.ts keeps that list running): conv2d → Conv2DBackpropFilter; depthwiseConv2d (and
 * separableConv2d) → DepthwiseConv2dNativeBackpropInput/Filter; gather → UnsortedSegmentSum.
 */
export const missingWasmKernels: tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  unsortedSegmentSumConfig,
];

/**
 * Stock wasm kernels we replace: Conv2DBackpropInput (a scalar loop, 3–8× slower than ours), Tile (per-element index
 * arithmetic: 28% of a conv→BN→relu training step, through tfjs-core's batchNorm gradient; ours is a memmove) and
 * MaxPoolGrad (wrong for windows without a positive value). Numbers: scripts/bench-train-kernels.ts.
 */
export const wasmKernelOverrides: tf.KernelConfig[] = [conv2DBackpropInputConfig, tileConfig, maxPoolGradConfig];
