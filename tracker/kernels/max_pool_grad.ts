/**
 * `MaxPoolGrad` for the wasm backend, replacing the stock one, which is wrong: tfjs-backend-wasm 4.22's C++ kernel
 * starts its running maximum at `std::numeric_limits<float>::min()` (the smallest *positive* float, not the lowest),
 * so in every window whose values are all ≤ 0 — any max-pool not preceded by a ReLU — the gradient goes to the
 * window's first pixel instead of its maximum (test/tracker/wasm-grad.test.ts measured 27% relative error on
 * random data). It also breaks ties towards the last maximum where the cpu backend takes the first.
 *
 * This one follows the cpu backend exactly: the first strict maximum of each window gets the window's dy; a window
 * of NaNs or -Infinity sends nothing. Channels are the inner loop, so the scan is contiguous in NHWC memory.
 */
import { tf } from '../tf.js';
import type { TensorInfo, WasmBackendLike } from './util.js';

function maxPoolGrad({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): TensorInfo {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const b = backend as WasmBackendLike;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C } = info;
  // dy's own size: tfjs-core's maxPool gradient drops dimRoundingMode, so info may count fewer output rows than dy has.
  const [, OH, OW] = dy.shape;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: FH, effectiveFilterWidth: FW } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;

  const out = b.makeOutput(input.shape, 'float32');
  const dx = b.typedArrayFromHeap(out) as Float32Array;
  const x = b.typedArrayFromHeap(input) as Float32Array;
  const g = b.typedArrayFromHeap(dy) as Float32Array;
  dx.fill(0);
  const best = new Float32Array(C);
  const pos = new Int32Array(C);
  for (let n = 0; n < B; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const r0 = Math.max(0, oh * sh - pt);
      const r1 = Math.min(H, oh * sh - pt + FH);
      for (let ow = 0; ow < OW; ow++) {
        const c0 = Math.max(0, ow * sw - pl);
        const c1 = Math.min(W, ow * sw - pl + FW);
        best.fill(-Infinity);
        pos.fill(-1);
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) {
            const base = ((n * H + r) * W + c) * C;
            for (let ch = 0; ch < C; ch++) {
              const v = x[base + ch];
              if (v > best[ch]) {
                best[ch] = v;
                pos[ch] = base + ch;
              }
            }
          }
        }
        const dyBase = ((n * OH + oh) * OW + ow) * C;
        for (let ch = 0; ch < C; ch++) {
          const p = pos[ch];
          if (p >= 0) dx[p] += g[dyBase + ch];
        }
      }
    }
  }
  return out;
}

/** `MaxPoolGrad` for 'wasm', replacing the stock (incorrect) one. */
export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as tf.KernelFunc,
};
