/**
 * A fix for the cpu backend found while checking wasm gradients against it: tfjs-backend-cpu 4.22's
 * `ResizeBilinearGrad` computes dx in the right [B, H, W, C] layout but labels it [B, W, H, C], so the gradient of
 * `tf.image.resizeBilinear` on any non-square image throws ("The gradient of input 'images' has shape '2,8,9,3',
 * which does not match the shape of the input '2,9,8,3'"). The wrapper runs the stock kernel and restores the shape.
 */
import { tf } from '../tf.js';

let stock: tf.KernelConfig | undefined;

function resizeBilinearGrad(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const out = stock!.kernelFunc(args) as tf.TensorInfo;
  const images = args.inputs.images as tf.TensorInfo;
  return { ...out, shape: images.shape.slice() };
}

/** Wraps the cpu backend's ResizeBilinearGrad once (idempotent); a no-op if the cpu kernel is absent. */
export function registerCpuKernelFixes(): void {
  const current = tf.getKernel(tf.ResizeBilinearGrad, 'cpu');
  if (current == null || current.kernelFunc === resizeBilinearGrad) return;
  stock = current;
  tf.unregisterKernel(tf.ResizeBilinearGrad, 'cpu');
  tf.registerKernel({ ...current, kernelFunc: resizeBilinearGrad as tf.KernelFunc });
}
