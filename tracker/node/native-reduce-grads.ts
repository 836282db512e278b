/**
 * Gradients of Sum and Mean on the native-cpu backend without a full-size array of ones.
 *
 * tfjs-core's gradients build `ones(x.shape)` in JavaScript (a loop over a fresh Float32Array: 5.8 M floats for one
 * AlexNet-×0.5 activation at batch 8) and multiply dy by it; `tf.moments` in a BatchNorm layer takes two such
 * gradients per layer. Here dy is reshaped to x's rank and broadcast with the native Tile kernel instead (Mean divides
 * the small tensor by the reduce size first). Bit-identical to the stock gradients: `d · 1 = d` exactly, and dividing
 * before or after the copy divides the same value. The gradient registry is global: on any other backend, or for other
 * dtypes, tfjs-core's own gradient runs.
 */
import { tf } from '../tf.js';

let wrapped = false;

/** Registers the wrappers once; `backendName` is the backend on which they replace the stock gradients. */
export function registerReduceGradients(backendName: string): void {
  if (wrapped) return;
  wrapped = true;
  for (const kernelName of [tf.Sum, tf.Mean]) {
    const stock = tf.getGradient(kernelName);
    if (!stock) continue;
    tf.registerGradient({
      ...stock,
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        if (tf.getBackend() !== backendName || Array.isArray(dy) || !x || x.dtype !== 'float32' || dy.dtype !== 'float32') {
          return stock.gradFunc(dy, saved, attrs);
        }
        const axes = tf.util.parseAxisParam((attrs as unknown as tf.SumAttrs).axis, x.shape);
        const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const reduceSize = axes.reduce((s, a) => s * x.shape[a], 1);
        return {
          x: () => {
            const e = tf.reshape(dy, expanded);
            return tf.broadcastTo(kernelName === tf.Mean ? tf.div(e, reduceSize) : e, x.shape);
          },
        };
      },
    });
  }
}
