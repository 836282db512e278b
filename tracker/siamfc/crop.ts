/**
 * SiamFC crops: square patches centred on the target, padded with the image's average colour and resized, sampled
 * exactly where siamfc-pytorch's `crop_and_resize` (round the size, round the corners, pad, `cv2.resize` bilinear)
 * samples them, but in one `tf.image.cropAndResize` call for all scales.
 */
import { tf } from '../tf.js';
import type { Tensor1D, Tensor3D, Tensor4D } from '../tf.js';

/** NumPy's `round` (half to even), which the reference port uses for crop sizes and corners. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A crop request: centre (0-based pixels, row `cy` and column `cx`) and the side of the square patch in pixels. */
export interface CropRequest {
  cx: number;
  cy: number;
  size: number;
}

/**
 * The normalised box `[y1, x1, y2, x2]` of tf.image.cropAndResize that samples a crop where cv2 would:
 * cropAndResize samples at y1·(H−1) + i·(y2−y1)·(H−1)/(out−1); y1 and y2 make that cv2's mapping. Rounded to float32
 * as a tf tensor would hold them (tracker/engine/crop.ts samples with the very same numbers).
 */
export function cropBox(H: number, W: number, { cx, cy, size }: CropRequest, outSize: number): [number, number, number, number] {
  const s = Math.max(1, roundHalfEven(size));
  const y0 = roundHalfEven(cy - (s - 1) / 2);
  const x0 = roundHalfEven(cx - (s - 1) / 2);
  const step = s / outSize;
  const fy0 = y0 + 0.5 * step - 0.5;
  const fx0 = x0 + 0.5 * step - 0.5;
  const span = step * (outSize - 1);
  const dh = Math.max(1, H - 1);
  const dw = Math.max(1, W - 1);
  const f32 = Math.fround;
  return [f32(fy0 / dh), f32(fx0 / dw), f32((fy0 + span) / dh), f32((fx0 + span) / dw)];
}

/**
 * Crop square patches from `image` (`[H, W, 3]` float32, 0–255) and resize each to `outSize × outSize`.
 * Pixels outside the image take `avgColor` (`[3]` float32). Returns `[N, outSize, outSize, 3]` float32.
 * Sampling follows cv2.resize's half-pixel mapping `src = (dst + 0.5)·size/out − 0.5` inside the patch whose
 * left-top corner is `round(centre − (size − 1)/2)` with `size = round(size)`.
 */
export function cropPatches(image: Tensor3D, avgColor: Tensor1D, crops: CropRequest[], outSize: number): Tensor4D {
  const [H, W] = image.shape;
  const boxes = crops.map((c) => cropBox(H, W, c, outSize));
  return tf.tidy(() => {
    // Samples outside the image take the extrapolation value 0 of the mean-subtracted image, i.e. the mean colour.
    const centred = tf.expandDims(tf.sub(image, avgColor), 0) as Tensor4D;
    const patches = tf.image.cropAndResize(
      centred,
      tf.tensor2d(boxes, [boxes.length, 4]),
      tf.zeros([boxes.length], 'int32'),
      [outSize, outSize],
      'bilinear',
      0,
    );
    return tf.add(patches, avgColor) as Tensor4D;
  });
}
