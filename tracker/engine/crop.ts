/**
 * SiamFC crops in plain JavaScript, straight from a frame's RGB bytes into a caller-owned Float32Array (reused
 * between frames): no frame tensor, no per-frame allocation. Samples exactly where tracker/siamfc/crop.ts
 * (`cropPatches`) samples, with the same arithmetic as tfjs-backend-cpu's CropAndResize kernel on the mean-subtracted
 * image (float32 box coordinates, double interpolation, float32 results), so on the cpu / native-cpu backends the
 * crops are bit-identical. Browser-safe.
 */
import { cropBox, type CropRequest } from '../siamfc/crop-box.js';

const f32 = Math.fround;


/**
 * Write `crops.length` patches `[outSize, outSize, 3]` into `out` (NHWC, float32 0–255) from `rgb` (`H × W × 3`
 * values 0–255, row-major: a RawFrame's bytes or a float array). Outside the image: `avgColor` (3 float32 values).
 */
export function cropPatchesInto(
  out: Float32Array,
  rgb: ArrayLike<number>,
  H: number,
  W: number,
  avgColor: Float32Array,
  crops: readonly CropRequest[],
  outSize: number,
): void {
  const per = outSize * outSize * 3;
  if (out.length < per * crops.length) throw new Error(`cropPatchesInto: output holds ${out.length} values, ${per * crops.length} needed`);
  if (rgb.length !== H * W * 3) throw new Error(`cropPatchesInto: image has ${rgb.length} values, ${H}×${W}×3 expected`);
  if (avgColor.length !== 3) throw new Error(`cropPatchesInto: avgColor must have 3 values, got ${avgColor.length}`);
  const a0 = avgColor[0], a1 = avgColor[1], a2 = avgColor[2];
  // byte frames (the usual case): the 3 × 256 possible mean-subtracted values, f32(v − a), looked up instead of computed
  const bytes = rgb instanceof Uint8Array || rgb instanceof Uint8ClampedArray ? rgb : null;
  let lut: Float64Array | null = null;
  if (bytes) {
    lut = new Float64Array(768);
    for (let v = 0; v < 256; v++) {
      lut[v] = f32(v - a0);
      lut[256 + v] = f32(v - a1);
      lut[512 + v] = f32(v - a2);
    }
  }
  // per output column of a crop: left / right source offsets (×3) and the weight, or −1 outside the image; computed
  // with the same expressions as before, once per crop instead of once per row
  const left3 = new Int32Array(outSize), right3 = new Int32Array(outSize), xw = new Float64Array(outSize);
  for (let b = 0; b < crops.length; b++) {
    const [y1, x1, y2, x2] = cropBox(H, W, crops[b], outSize);
    const hs = outSize > 1 ? ((y2 - y1) * (H - 1)) / (outSize - 1) : 0;
    const ws = outSize > 1 ? ((x2 - x1) * (W - 1)) / (outSize - 1) : 0;
    for (let x = 0; x < outSize; x++) {
      const xi = outSize > 1 ? x1 * (W - 1) + x * ws : 0.5 * (x1 + x2) * (W - 1);
      if (xi < 0 || xi > W - 1) {
        left3[x] = -1;
        continue;
      }
      const left = Math.floor(xi);
      left3[x] = left * 3;
      right3[x] = Math.ceil(xi) * 3;
      xw[x] = xi - left;
    }
    let o = b * per;
    for (let y = 0; y < outSize; y++) {
      const yi = outSize > 1 ? y1 * (H - 1) + y * hs : 0.5 * (y1 + y2) * (H - 1);
      if (yi < 0 || yi > H - 1) {
        for (let x = 0; x < outSize; x++, o += 3) {
          out[o] = a0;
          out[o + 1] = a1;
          out[o + 2] = a2;
        }
        continue;
      }
      const top = Math.floor(yi);
      const bottom = Math.ceil(yi);
      const yl = yi - top;
      const rowT = top * W * 3;
      const rowB = bottom * W * 3;
      for (let x = 0; x < outSize; x++, o += 3) {
        const l3 = left3[x];
        if (l3 < 0) {
          out[o] = a0;
          out[o + 1] = a1;
          out[o + 2] = a2;
          continue;
        }
        const r3 = right3[x];
        const xl = xw[x];
        for (let c = 0; c < 3; c++) {
          // mean-subtracted float32 values (tf.sub), bilinear in double, float32 result (+ avgColor in float32: tf.add)
          const a = c === 0 ? a0 : c === 1 ? a1 : a2;
          let vtl: number, vtr: number, vbl: number, vbr: number;
          if (lut) {
            const base = c * 256;
            vtl = lut[base + bytes![rowT + l3 + c]];
            vtr = lut[base + bytes![rowT + r3 + c]];
            vbl = lut[base + bytes![rowB + l3 + c]];
            vbr = lut[base + bytes![rowB + r3 + c]];
          } else {
            vtl = f32(rgb[rowT + l3 + c] - a);
            vtr = f32(rgb[rowT + r3 + c] - a);
            vbl = f32(rgb[rowB + l3 + c] - a);
            vbr = f32(rgb[rowB + r3 + c] - a);
          }
          const t = vtl + (vtr - vtl) * xl;
          const bo = vbl + (vbr - vbl) * xl;
          out[o + c] = f32(f32(t + (bo - t) * yl) + a);
        }
      }
    }
  }
}

/**
 * The average colour of an RGB image (`H × W × 3` values 0–255) as 3 float32 values, with the arithmetic of
 * `tf.mean(image, [0, 1])` on tfjs-backend-cpu (each value ÷ H·W rounded to float32, summed in double in pixel
 * order, the sum rounded to float32), so the engine path's average colour equals the tfjs path's bit for bit there.
 */
export function meanColor(rgb: ArrayLike<number>, H: number, W: number): Float32Array {
  const n = H * W;
  if (!(n > 0) || rgb.length !== n * 3) throw new Error(`meanColor: image has ${rgb.length} values, ${H}×${W}×3 expected`);
  let s0 = 0, s1 = 0, s2 = 0;
  for (let p = 0, i = 0; p < n; p++, i += 3) {
    s0 += f32(rgb[i] / n);
    s1 += f32(rgb[i + 1] / n);
    s2 += f32(rgb[i + 2] / n);
  }
  return Float32Array.of(s0, s1, s2);
}
