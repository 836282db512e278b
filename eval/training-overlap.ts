/**
 * Which evaluated sequences a model was trained on, from its manifest (`provenance.data`, written by
 * training/train-tracker.ts): an evaluation must never score a model on a real sequence it trained on. Sources of
 * real annotated sequences count (layouts `otb` and `got10k`, or a legacy single-dataset manifest of those layouts);
 * generated sources (`stills`, `synthetic`) have generated names and are left out.
 */
import type { ModelManifest } from '../tracker/weights.js';

type DataRecord = {
  layout?: string;
  sequenceNames?: unknown;
  sources?: { layout?: string; sequenceNames?: unknown }[];
};

const REAL_LAYOUTS = new Set(['otb', 'got10k']);

function names(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The real sequence names a manifest lists as training data (unprefixed). */
export function trainingSequenceNames(manifest: ModelManifest | null): string[] {
  const data = (manifest?.provenance as { data?: DataRecord } | undefined)?.data;
  if (!data) return [];
  if (Array.isArray(data.sources)) {
    return data.sources.filter((s) => REAL_LAYOUTS.has(String(s.layout))).flatMap((s) => names(s.sequenceNames));
  }
  return REAL_LAYOUTS.has(String(data.layout)) ? names(data.sequenceNames) : [];
}

/** The names of `evaluated` that the model trained on (empty when none, or for a model without a manifest). */
export function trainedOn(manifest: ModelManifest | null, evaluated: readonly string[]): string[] {
  const trained = new Set(trainingSequenceNames(manifest));
  return evaluated.filter((n) => trained.has(n));
}
