/**
 * Where a SiamFC crop samples: siamfc-pytorch's `crop_and_resize` geometry (round the size, round the corners,
 * cv2's half-pixel mapping) as the normalised box of tf.image.cropAndResize. Browser-safe and tfjs-free: the JS crops
 * (tracker/engine/crop.ts) and the tfjs crops (crop.ts) share it.
 */

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
