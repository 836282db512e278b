/**
 * Validation during training: the tracker over held-out sequences (never the training data, never an evaluation
 * benchmark), optionally rotated Rot-OTB style at a few Δ, scored by OTB success AUC. The frames are decoded (and
 * rotated) once and kept in memory, so each validation costs only the tracking.
 */
import { z } from 'zod';
import type { Box } from '../tracker/geometry.js';
import type { RawFrame } from '../tracker/tracker.js';
import { trackSequence } from '../tracker/tracker.js';
import { SiamFCTracker } from '../tracker/siamfc/tracker.js';
import type { SiamFCNet } from '../tracker/siamfc/network.js';
import { openSequenceFrames } from '../data/frames.js';
import { RotatedDataset } from '../data/rotate.js';
import type { SequenceDataset } from '../data/dataset.js';
import { evaluateSequence, mean } from '../eval/metrics.js';

/** Config field `validation`. */
export const ValidationConfig = z
  .object({
    /** Data root of the held-out sequences (generated there for layout `synthetic`). */
    root: z.string().min(1).optional(),
    layout: z.enum(['got10k', 'otb', 'synthetic']).default('synthetic'),
    split: z.enum(['train', 'val']).default('val'),
    /** Generator parameters for layout `synthetic` (data/synthetic.ts); use a seed other than the training data's. */
    synthetic: z.record(z.unknown()).default({}),
    /** Layout `otb` only: a split file (data/splits/*.json) whose `val` sequences of this root are used. */
    sequenceSplit: z.string().min(1).optional(),
    /** The first N sequences of the dataset. */
    maxSequences: z.number().int().positive().default(6),
    /** The first N frames of each. */
    maxFrames: z.number().int().min(2).default(60),
    /** Rot-OTB rotation rates (°/frame) applied to every sequence; the score is the mean AUC over all of them. */
    deltas: z.array(z.number().finite()).min(1).default([0, 2]),
    /** Validate every N epochs (and after the last step). */
    every: z.number().int().positive().default(1),
  })
  .strict();
export type ValidationConfig = z.infer<typeof ValidationConfig>;

/** One held-out sequence at one rotation rate, frames in memory. */
export interface ValidationItem {
  name: string;
  delta: number;
  frames: RawFrame[];
  groundTruth: Box[];
}

export interface ValidationSet {
  dataset: string;
  items: ValidationItem[];
}

/** Scores of one validation. */
export interface ValidationScore {
  /** Mean success AUC over every sequence × Δ. */
  auc: number;
  /** Mean success AUC per Δ. */
  perDelta: Record<string, number>;
  frames: number;
  seconds: number;
}

/** Decode the first `maxFrames` frames of the first `maxSequences` sequences at every Δ. */
export async function loadValidationSet(dataset: SequenceDataset, cfg: ValidationConfig): Promise<ValidationSet> {
  const names = dataset.names().slice(0, cfg.maxSequences);
  if (names.length === 0) throw new Error(`validation dataset ${dataset.name}: no sequences`);
  const items: ValidationItem[] = [];
  for (const delta of cfg.deltas) {
    const ds = delta === 0 ? dataset : new RotatedDataset(dataset, { delta });
    for (const name of names) {
      const seq = await ds.sequence(name);
      const n = Math.min(cfg.maxFrames, seq.frames.length, seq.groundTruth.length);
      const stream = openSequenceFrames({ ...seq, frames: seq.frames.slice(0, n) }, { prefetch: 2, cacheSize: 0 });
      const frames: RawFrame[] = [];
      for await (const f of stream) frames.push(f);
      items.push({ name: seq.name, delta, frames, groundTruth: seq.groundTruth.slice(0, n) });
    }
  }
  return { dataset: dataset.name, items };
}

/** Track every item with a fresh tracker over `net` (inference mode) and score it. */
export async function validate(net: SiamFCNet, set: ValidationSet): Promise<ValidationScore> {
  const t0 = performance.now();
  const byDelta = new Map<number, number[]>();
  let frames = 0;
  for (const item of set.items) {
    const tracker = new SiamFCTracker(net, {}, 'validation');
    try {
      const res = await trackSequence(tracker, item.frames, item.groundTruth[0]);
      const s = evaluateSequence({ name: item.name, boxes: res.boxes, groundTruth: item.groundTruth });
      byDelta.set(item.delta, [...(byDelta.get(item.delta) ?? []), s.successAuc]);
      frames += res.boxes.length;
    } finally {
      tracker.dispose();
    }
  }
  const perDelta = Object.fromEntries([...byDelta].map(([d, a]) => [String(d), mean(a)]));
  return { auc: mean([...byDelta.values()].flat()), perDelta, frames, seconds: (performance.now() - t0) / 1000 };
}

/** One validation in a run's history (checkpoint state, log.jsonl, the model manifest). */
export const ValidationRecord = z
  .object({
    step: z.number().int().nonnegative(),
    epoch: z.number().int().nonnegative(),
    auc: z.number(),
    perDelta: z.record(z.number()),
    frames: z.number().int().nonnegative(),
    seconds: z.number().nonnegative(),
  })
  .strict();
export type ValidationRecord = z.infer<typeof ValidationRecord>;

/** True when step `done` (1-based count) ends an epoch the schedule validates, or is the last step. */
export function validationDue(done: number, perEpoch: number, totalSteps: number, every: number): boolean {
  if (done === totalSteps) return true;
  return done % perEpoch === 0 && (done / perEpoch) % every === 0;
}

/** The best record of a history (highest AUC; the earlier one on a tie), or null. */
export function bestRecord(history: readonly ValidationRecord[]): ValidationRecord | null {
  let best: ValidationRecord | null = null;
  for (const r of history) if (!best || r.auc > best.auc) best = r;
  return best;
}

/** What a manifest records of a run's validation. */
export function validationSummary(cfg: ValidationConfig, set: ValidationSet, history: readonly ValidationRecord[]): Record<string, unknown> {
  return {
    metric: 'OTB success AUC (mean over sequences × Δ)',
    dataset: set.dataset,
    root: cfg.root,
    sequences: [...new Set(set.items.map((i) => i.name))],
    maxFrames: cfg.maxFrames,
    deltas: cfg.deltas,
    best: bestRecord(history),
    history,
  };
}
