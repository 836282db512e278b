/**
 * Training geometry and the logistic labels of SiamFC, as siamfc-pytorch computes them.
 *
 * Geometry (siamfc-pytorch `SiamFCTransforms`, with its literal 8 read as the backbone's total stride s): both frames
 * are cropped to the instance size X around the target; the search crop ends at X − 2s (255 → 239 for AlexNet), the
 * exemplar at E (127). The training response is `out(X − 2s) − out(E) + 1` cells (15 for AlexNet; 17 at inference).
 *
 * Labels (`TrackerSiamFC._create_labels`): with cell offsets x, y from the map centre ((w−1)/2, (h−1)/2),
 * `dist = |x| + |y|` — the L1 ("block") distance, not Euclidean — and label 1 where `dist ≤ r_pos/stride`, 0.5 where
 * `dist < r_neg/stride`, else 0. Reference values r_pos 16, r_neg 0, stride 8: a diamond of 13 positives on 15×15.
 */
import { type BackboneSpec, outputSize, totalStride } from '../tracker/backbone-spec.js';

/** Sizes used by training, all in pixels except `responseSize` (cells). */
export interface TrainingGeometry {
  /** Exemplar crop side E (127). */
  exemplarSize: number;
  /** Instance crop side X (255): both frames are first cropped to this. */
  instanceSize: number;
  /** Total stride s of the backbone (8). */
  stride: number;
  /** Side after the centre crop X − s (247). */
  centerCropSize: number;
  /** Search crop side X − 2s after the random crop (239). */
  searchSize: number;
  /** Side of the training response map (15). */
  responseSize: number;
}

/** Training geometry of a backbone spec; throws naming the spec when the sizes do not fit. */
export function trainingGeometry(spec: BackboneSpec): TrainingGeometry {
  const stride = totalStride(spec);
  const X = spec.instanceSize;
  const E = spec.exemplarSize;
  const searchSize = X - 2 * stride;
  if (searchSize < E) {
    throw new Error(`backbone "${spec.name}": search crop ${X} − 2·${stride} = ${searchSize} is smaller than the exemplar ${E}`);
  }
  const fz = outputSize(spec, E);
  const fx = outputSize(spec, searchSize);
  if (fz < 1) throw new Error(`backbone "${spec.name}": exemplar size ${E} gives no features`);
  const responseSize = fx - fz + 1;
  if (responseSize < 1) throw new Error(`backbone "${spec.name}": training response size ${responseSize} < 1`);
  return { exemplarSize: E, instanceSize: X, stride, centerCropSize: X - stride, searchSize, responseSize };
}

/** Logistic labels of one response map: `values` `[size·size]` float32 row-major (1, 0.5 or 0). */
export interface LabelMap {
  size: number;
  values: Float32Array;
  /** Number of cells with label 1 and with label 0. */
  positives: number;
  negatives: number;
}

/**
 * Labels of a `size × size` response (siamfc-pytorch `logistic_labels`): L1 distance in cells from the centre,
 * 1 where ≤ `rPosCells`, 0.5 where < `rNegCells`, else 0.
 */
export function logisticLabels(size: number, rPosCells: number, rNegCells = 0): LabelMap {
  if (!Number.isInteger(size) || size < 1) throw new Error(`label map size must be a positive integer, got ${size}`);
  const values = new Float32Array(size * size);
  const c = (size - 1) / 2;
  let positives = 0;
  let negatives = 0;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const dist = Math.abs(j - c) + Math.abs(i - c);
      const v = dist <= rPosCells ? 1 : dist < rNegCells ? 0.5 : 0;
      values[i * size + j] = v;
      if (v === 1) positives++;
      else if (v === 0) negatives++;
    }
  }
  return { size, values, positives, negatives };
}

/** The label map of a spec's training response with radii in search-crop pixels (`rPos` default 2·stride). */
export function trainingLabels(spec: BackboneSpec, rPos?: number, rNeg = 0): LabelMap {
  const g = trainingGeometry(spec);
  const rp = rPos ?? 2 * g.stride;
  return logisticLabels(g.responseSize, rp / g.stride, rNeg / g.stride);
}
