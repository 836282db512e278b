/**
 * Pixels of the training crops, sampled once from the frame in plain JavaScript (no tensors until the batch is built).
 *
 * siamfc-pytorch (`SiamFCTransforms`) does, for both frames of a pair:
 *   a. `_crop`: a square of side A = round(sqrt((w+p)(h+p)) · X/E), p = context·(w+h), centred on the target
 *      (left-top corner rounded), padded with the frame's mean colour, resized to X × X (X = 255, E = 127);
 *   b. `RandomStretch`: resize to round(X·k) with k = 1 + U(−0.05, 0.05);
 *   c. `CenterCrop(X − s)` (247; padded with the patch's mean colour when the stretched patch is smaller);
 *   d. `RandomCrop(X − 2s)` (239): uniform integer offsets in [0, s];
 *   e. exemplar only: `CenterCrop(E)` (127).
 * a–e are all axis-aligned resamplings/crops of one square, so we compose them into one bilinear sampling grid on the
 * original frame: output pixel j of the final crop samples the frame at
 *   left + (o + j + 0.5) · A / round(X·k) − 0.5,   o = round((round(X·k) − (X − s))/2) + offset (+ round((X−2s−E)/2)).
 * Differences from the reference, all deliberate: one bilinear resampling instead of two resizes with a randomly
 * chosen cv2 interpolation; where c. pads, we sample the frame (or its mean colour outside it) instead of the patch
 * mean. Optional rotation (CNN4 augmentation) turns the sampling grid about the crop centre, so rotated crops have no
 * fill artefacts except outside the frame. Boxes are the project's 0-based convention: centre = x + (w − 1)/2.
 */
import type { Box } from '../tracker/geometry.js';
import type { RawFrame } from '../tracker/tracker.js';
import { roundHalfEven } from '../tracker/siamfc/crop.js';
import type { TrainingGeometry } from './labels.js';
import type { CropDraw } from './pairs.js';

/** Per-channel mean colour of a frame `[r, g, b]`, 0–255 floats (siamfc-pytorch `np.mean(img, axis=(0, 1))`). */
export function frameMean(frame: RawFrame): [number, number, number] {
  const d = frame.data;
  let r = 0, g = 0, b = 0;
  for (let i = 0; i < d.length; i += 3) {
    r += d[i]; g += d[i + 1]; b += d[i + 2];
  }
  const n = Math.max(1, d.length / 3);
  return [r / n, g / n, b / n];
}

/** Where a crop samples the frame: first sample position, step between samples (pixels), output side, angle. */
export interface CropGrid {
  /** Frame coordinates (pixel centres at integers) of the centre of the output crop. */
  centreX: number;
  centreY: number;
  /** Frame pixels per output pixel. */
  step: number;
  /** Output side in pixels. */
  size: number;
  /** Rotation of the content, degrees counter-clockwise on screen. */
  angle: number;
}

/**
 * The sampling grid of a training crop (steps a–e above). `exemplar`: true for the exemplar crop (E × E), false for
 * the search crop ((X − 2s)²).
 */
export function cropGrid(box: Box, context: number, g: TrainingGeometry, draw: CropDraw, exemplar: boolean): CropGrid {
  const X = g.instanceSize;
  const cx = box.x + (box.width - 1) / 2;
  const cy = box.y + (box.height - 1) / 2;
  const p = context * (box.width + box.height);
  const A = Math.max(1, roundHalfEven(Math.sqrt((box.width + p) * (box.height + p)) * (X / g.exemplarSize)));
  const left = roundHalfEven(cx - (A - 1) / 2);
  const top = roundHalfEven(cy - (A - 1) / 2);
  const stretched = Math.max(1, roundHalfEven(X * draw.stretch));
  const step = A / stretched;
  const centre = roundHalfEven((stretched - g.centerCropSize) / 2);
  const inner = exemplar ? roundHalfEven((g.searchSize - g.exemplarSize) / 2) : 0;
  const size = exemplar ? g.exemplarSize : g.searchSize;
  const ox = centre + draw.offsetX + inner;
  const oy = centre + draw.offsetY + inner;
  // centre of the output crop in stretched-patch pixels, then in frame pixels
  const mid = (size - 1) / 2;
  return {
    centreX: left + (ox + mid + 0.5) * step - 0.5,
    centreY: top + (oy + mid + 0.5) * step - 0.5,
    step,
    size,
    angle: draw.angle,
  };
}

/**
 * Sample a crop: `[size, size, 3]` float32 row-major RGB 0–255 written into `out` at `offset` (allocated when absent).
 * Bilinear; samples outside the frame take `fill` (the frame's mean colour).
 */
export function sampleCrop(
  frame: RawFrame,
  fill: readonly [number, number, number],
  grid: CropGrid,
  out?: Float32Array,
  offset = 0,
): Float32Array {
  const { width: W, height: H, data } = frame;
  const n = grid.size;
  const dst = out ?? new Float32Array(n * n * 3);
  const t = (grid.angle * Math.PI) / 180;
  // exact for the quarter turns so that 90° crops are pixel permutations of the unrotated ones
  const q = ((grid.angle % 360) + 360) % 360;
  const c = q === 0 ? 1 : q === 90 ? 0 : q === 180 ? -1 : q === 270 ? 0 : Math.cos(t);
  const s = q === 0 ? 0 : q === 90 ? 1 : q === 180 ? 0 : q === 270 ? -1 : Math.sin(t);
  const mid = (n - 1) / 2;
  const px = (xi: number, yi: number, ch: number): number =>
    xi < 0 || yi < 0 || xi >= W || yi >= H ? fill[ch] : data[(yi * W + xi) * 3 + ch];
  let o = offset;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const dx = j - mid;
      const dy = i - mid;
      // inverse of the on-screen counter-clockwise rotation (geometry.rotateBoxBounds' sense)
      const sx = grid.centreX + (c * dx - s * dy) * grid.step;
      const sy = grid.centreY + (s * dx + c * dy) * grid.step;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let ch = 0; ch < 3; ch++) {
        const a = px(x0, y0, ch) * (1 - fx) + px(x0 + 1, y0, ch) * fx;
        const b = px(x0, y0 + 1, ch) * (1 - fx) + px(x0 + 1, y0 + 1, ch) * fx;
        dst[o++] = a * (1 - fy) + b * fy;
      }
    }
  }
  return dst;
}
