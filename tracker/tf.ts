/**
 * The one import point for TensorFlow.js inside the project. Browser-safe: the tfjs union package (core with all
 * gradients and chained ops registered, cpu and webgl backends) plus the wasm backend (SIMD).
 * Everything else imports `tf` from here so that gradients, backends and our extra kernels are registered once.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export { tf };
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Rank, Variable } from '@tensorflow/tfjs';
