/**
 * Named tracker variants (the paper's Table 3) and the built-in untrained template matcher. Browser-safe: names,
 * descriptions and the fixed backbone; trained weights are model files (tracker/weights.ts) found by
 * tracker/node/load-tracker.ts under `tracker/models/<variant>/`.
 */
import { pooledPixelsSpec, type BackboneSpec } from './backbone-spec.js';

/** The five trained SiamFC variants compared in the paper. */
export const TRACKER_VARIANTS = ['siamfc', 'cnn4-siamfc', 're-siamfc', 'ien-siamfc', 'het-siamfc'] as const;
/** A trained SiamFC variant. */
export type TrackerVariant = (typeof TRACKER_VARIANTS)[number];

/** Name of the untrained template-matching SiamFC that needs no weights (the fallback of the app). */
export const TEMPLATE_MATCHING = 'template-matching';

/** One-line descriptions shown by CLIs and the app. */
export const VARIANT_DESCRIPTIONS: Record<TrackerVariant | typeof TEMPLATE_MATCHING, string> = {
  siamfc: 'SiamFC (AlexNet backbone), plain training',
  'cnn4-siamfc': 'SiamFC trained with rotation augmentation (the paper\'s CNN4-SiamFC)',
  're-siamfc': 'SiamFC with an explicitly rotation-equivariant backbone (C4 group / C8 steerable convolutions)',
  'ien-siamfc': 'SiamFC with IEN feature groups (R4) trained with the equivariance loss',
  'het-siamfc': 'SiamFC with heterogeneous IEN groups (R4-2-1, ~31% fewer channels) and the equivariance loss',
  'template-matching': 'untrained SiamFC on average-pooled, normalised raw pixels (template matching; no weights)',
};

/** True when `name` is one of the trained variants. */
export function isTrackerVariant(name: string): name is TrackerVariant {
  return (TRACKER_VARIANTS as readonly string[]).includes(name);
}

/** The template matcher's fixed backbone: 4×4 average-pooled pixels, per-crop normalised, 63/127 crops. */
export function templateMatchingSpec(): BackboneSpec {
  return pooledPixelsSpec(4, { exemplarSize: 63, instanceSize: 127 });
}
