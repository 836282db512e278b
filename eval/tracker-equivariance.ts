/**
 * The per-layer equivariance error L_G (the paper's Tables 5 and 9) of a tracker's backbone on frames of the evaluated
 * sequences: exemplar crops around each sequence's first ground-truth box (sampled like SiamFC's own crops), rotated
 * by 90°, 180° and 270°, absolute and normalised by the unrotated features' variance. Only backbones with feature groups (IEN, C4/C8) expose per-layer pooled features; for plain
 * backbones the result is null. Also the share of channels a backbone keeps relative to its homogeneous groups.
 */
import type { SequenceDataset } from '../data/dataset.js';
import { openSequenceFrames } from '../data/frames.js';
import { tf } from '../tracker/tf.js';
import type { Tensor1D, Tensor4D } from '../tracker/tf.js';
import { cropPatches } from '../tracker/siamfc/crop.js';
import type { FeatureExtractor } from '../tracker/siamfc/network.js';
import { channelSaving, equivarianceError, type GroupedModel } from '../tracker/ien/index.js';
import { frameToTensor } from '../tracker/tracker.js';

/**
 * L_G per conv layer of a backbone, with layer names, or null when the backbone has no feature groups. `perLayer` is
 * the absolute MSE (in the features' own units²); `normalised` divides it by the per-channel variance of the unrotated
 * features and `normalisedEnergy` by their mean square (unitless; comparable across layers, scales and models).
 */
export interface TrackerEquivariance {
  layerNames: string[];
  perLayer: number[];
  normalised: number[];
  normalisedEnergy: number[];
  angles: number[];
  crops: number;
}

function grouped(b: FeatureExtractor): (FeatureExtractor & GroupedModel) | null {
  return typeof (b as Partial<GroupedModel>).forwardFeatures === 'function' ? (b as FeatureExtractor & GroupedModel) : null;
}

type LayerOutputs = { layerOutputs(x: Tensor4D, training: boolean): { layers: Tensor4D[]; out: Tensor4D } };

/** What L_G is measured on: the pooled features of a grouped backbone, or a plain one's conv outputs unpooled (Λ = 1). */
function measurable(b: FeatureExtractor): GroupedModel | null {
  const g = grouped(b);
  const forward: GroupedModel['forwardFeatures'] | null = g
    ? (x, training) => g.forwardFeatures(x, training)
    : typeof (b as Partial<LayerOutputs>).layerOutputs === 'function'
      ? (x, training) => (b as FeatureExtractor & LayerOutputs).layerOutputs(x, training)
      : null;
  if (!forward) return null;
  // Layers whose map is empty at the exemplar size (a spec too deep for its crop) have no error to measure.
  return {
    forwardFeatures: (x, training) => {
      const f = forward(x, training);
      return { ...f, layers: f.layers.filter((t) => t.shape[1] > 0 && t.shape[2] > 0) };
    },
  };
}

/** Percentage of channels kept relative to the homogeneous spec of the largest group size (100 for non-grouped). */
export function channelsPercent(b: FeatureExtractor): number {
  const g = grouped(b);
  if (!g?.layerLayouts) return 100;
  let kept = 0, full = 0;
  for (const layout of g.layerLayouts) {
    const s = channelSaving(layout);
    kept += layout.channels;
    full += s.homogeneousChannels;
  }
  return full > 0 ? (100 * kept) / full : 100;
}

/**
 * L_G of `backbone` on exemplar crops from the first frame of each sequence of `ds` (at most `maxSequences`): on the
 * pooled features of a grouped backbone, on the unpooled conv outputs (Λ = 1) of a plain one.
 */
export async function trackerEquivariance(
  backbone: FeatureExtractor,
  ds: SequenceDataset,
  maxSequences = 8,
  angles: readonly number[] = [90, 180, 270],
): Promise<TrackerEquivariance | null> {
  const g = measurable(backbone);
  if (!g) return null;
  const size = backbone.spec.exemplarSize;
  const crops: Tensor4D[] = [];
  for (const name of ds.names().slice(0, maxSequences)) {
    const seq = await ds.sequence(name);
    const frame = await openSequenceFrames(seq, { prefetch: 0, cacheSize: 0 }).get(0);
    const box = seq.groundTruth[0];
    crops.push(tf.tidy(() => {
      const img = frameToTensor(frame);
      const avg = tf.mean(img, [0, 1]) as Tensor1D;
      const p = 0.5 * (box.width + box.height);
      const s = Math.sqrt((box.width + p) * (box.height + p));
      return cropPatches(img, avg, [{ cx: box.x + (box.width - 1) / 2, cy: box.y + (box.height - 1) / 2, size: s }], size);
    }));
  }
  const inputs = tf.concat(crops, 0) as Tensor4D;
  tf.dispose(crops);
  try {
    const r = await equivarianceError(g, inputs, angles);
    return {
      layerNames: r.perLayer.map((_, i) => `conv${i + 1}`), perLayer: r.perLayer, normalised: r.normalised.variance,
      normalisedEnergy: r.normalised.energy, angles: [...angles], crops: inputs.shape[0],
    };
  } finally {
    inputs.dispose();
  }
}
