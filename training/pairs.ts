/**
 * SiamFC training pairs as siamfc-pytorch samples them (`siamfc/datasets.py` `Pair`, `siamfc/transforms.py`), for any
 * SequenceDataset (GOT-10k, OTB layout, synthetic):
 *
 * 1. Frame validity filter (`Pair._filter`, image size taken from the sequence's first frame): area ≥ 20 px²; both
 *    sides in [20, 500] px; both sides in [1 %, 50 %] of the image side; aspect w / max(1, h) in [0.25, 4]; and, where
 *    the dataset has cover labels (GOT-10k `cover.label`, 0–8), `cover > max(1, 0.3 · max(cover))`. We also drop
 *    frames flagged absent (GOT-10k gives them cover 0 anyway). Sequences with < 2 valid frames are skipped (the
 *    reference re-draws another sequence when it meets one; skipping up front keeps a step's draws a pure function).
 * 2. Pair (`Pair._sample_pair`): two distinct valid frames, sorted (exemplar first), accepted if their gap < maxGap
 *    (100), up to 100 tries, else one valid frame used twice. The reference accepts the two frames of a 2-valid-frame
 *    sequence whatever their gap; we apply the gap rule there too.
 * 3. Epochs: every sequence contributes `pairsPerSequence` items, shuffled per epoch; batches of `batchSize` with the
 *    incomplete last batch dropped (DataLoader shuffle=True, drop_last=True).
 * 4. Augmentation draws per sample: RandomStretch scale 1 + U(−0.05, 0.05) for each crop and the random-crop offsets
 *    (uniform integers in [0, s], s = total stride) for each crop, plus the optional rotation angles (augment.ts).
 */
import { promises as fsp } from 'node:fs';
import sharp from 'sharp';
import type { Box } from '../tracker/geometry.js';
import type { Sequence, SequenceDataset } from '../data/dataset.js';
import { hasFrameSource } from '../data/frames.js';
import type { TrainConfig } from './config.js';
import { RNG_PURPOSE, type Rng, derivedRng } from './rng.js';
import { isMixedDataset } from './data.js';

/** Thresholds of siamfc-pytorch `Pair._filter`. */
export const FRAME_FILTER = {
  minArea: 20,
  minSide: 20,
  maxSide: 500,
  minSideFraction: 0.01,
  maxSideFraction: 0.5,
  minAspect: 0.25,
  maxAspect: 4,
  /** Cover must exceed max(1, coverFraction · max cover of the sequence). */
  coverFraction: 0.3,
} as const;

/**
 * Indices of the frames usable for training (step 1 above). `imageWidth`/`imageHeight`: the first frame's size in
 * pixels, as the reference uses for all frames.
 */
export function validFrames(seq: Sequence, imageWidth: number, imageHeight: number): number[] {
  const f = FRAME_FILTER;
  const cover = seq.cover;
  const coverMax = cover && cover.length ? Math.max(...cover) : 0;
  const coverMin = Math.max(1, coverMax * f.coverFraction);
  const out: number[] = [];
  seq.groundTruth.forEach((b: Box, i) => {
    const { width: w, height: h } = b;
    if (!(Number.isFinite(w) && Number.isFinite(h))) return;
    if (w * h < f.minArea) return;
    if (w < f.minSide || h < f.minSide || w > f.maxSide || h > f.maxSide) return;
    if (w / imageWidth < f.minSideFraction || h / imageHeight < f.minSideFraction) return;
    if (w / imageWidth > f.maxSideFraction || h / imageHeight > f.maxSideFraction) return;
    const aspect = w / Math.max(1, h);
    if (aspect < f.minAspect || aspect > f.maxAspect) return;
    if (cover && cover.length === seq.groundTruth.length && !(cover[i] > coverMin)) return;
    if (seq.absence && seq.absence[i]) return;
    out.push(i);
  });
  return out;
}

/**
 * A pair of frame indices from sorted valid indices (step 2 above): exemplar ≤ search, gap < `maxGap`.
 * Requires at least one index.
 */
export function samplePair(valid: readonly number[], maxGap: number, rng: Rng): [number, number] {
  const n = valid.length;
  if (n === 0) throw new Error('samplePair: no valid frames');
  if (n === 1) return [valid[0], valid[0]];
  for (let t = 0; t < 100; t++) {
    const a = rng.int(0, n - 1);
    let b = rng.int(0, n - 2);
    if (b >= a) b++;
    const z = Math.min(valid[a], valid[b]);
    const x = Math.max(valid[a], valid[b]);
    if (x - z < maxGap) return [z, x];
  }
  const one = rng.pick(valid);
  return [one, one];
}

/** A training sequence after filtering: what sampling needs, no pixels. */
export interface TrainingSequence {
  seq: Sequence;
  /** Valid frame indices, ascending. */
  valid: number[];
  /** First frame size in pixels. */
  width: number;
  height: number;
  /** Index of the source in a training mix (config `data.sources`); absent for a single dataset. */
  source?: number;
}

/** Result of `prepareSequences`: the usable sequences and the names skipped with the reason. */
export interface PreparedSequences {
  sequences: TrainingSequence[];
  skipped: { name: string; reason: string }[];
}

/** Width and height of an image file (header only), or of frame 0 of an on-the-fly sequence. */
async function firstFrameSize(seq: Sequence): Promise<{ width: number; height: number }> {
  if (hasFrameSource(seq)) {
    const f = await seq.loadFrame(0);
    return { width: f.width, height: f.height };
  }
  const file = seq.frames[0];
  if (!file) throw new Error(`sequence "${seq.name}" has no frames`);
  try {
    await fsp.access(file);
  } catch {
    throw new Error(`${file}: frame file not found (first frame of sequence "${seq.name}")`);
  }
  const meta = await sharp(file).metadata();
  if (!meta.width || !meta.height) throw new Error(`${file}: cannot read the image size`);
  return { width: meta.width, height: meta.height };
}

/**
 * Load every sequence of `dataset` (first `maxSequences` when given), apply the validity filter and keep those with
 * at least 2 valid frames. Throws naming the dataset when none is usable.
 */
export async function prepareSequences(dataset: SequenceDataset, maxSequences?: number): Promise<PreparedSequences> {
  const names = dataset.names().slice(0, maxSequences ?? Infinity);
  const sequences: TrainingSequence[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const one = async (name: string): Promise<TrainingSequence | { name: string; reason: string }> => {
    const seq = await dataset.sequence(name);
    if (seq.groundTruth.length !== seq.frames.length) {
      return { name, reason: `${seq.groundTruth.length} boxes for ${seq.frames.length} frames` };
    }
    const { width, height } = await firstFrameSize(seq);
    const valid = validFrames(seq, width, height);
    if (valid.length < 2) return { name, reason: `${valid.length} valid frame(s)` };
    return { seq, valid, width, height, ...(isMixedDataset(dataset) ? { source: dataset.sourceOf(name) } : {}) };
  };
  // a few files at a time (GOT-10k train has 9 335 sequences); results keep the dataset's order
  const CONCURRENCY = 16;
  for (let i = 0; i < names.length; i += CONCURRENCY) {
    for (const r of await Promise.all(names.slice(i, i + CONCURRENCY).map(one))) {
      if ('seq' in r) sequences.push(r);
      else skipped.push(r);
    }
  }
  if (sequences.length === 0) {
    throw new Error(
      `dataset "${dataset.name}": no usable training sequence among ${names.length} ` +
        `(need ≥ 2 frames passing the validity filter)${skipped.length ? `; e.g. ${skipped[0].name}: ${skipped[0].reason}` : ''}`,
    );
  }
  return { sequences, skipped };
}

/** Random draws of one crop: stretch factor, random-crop offsets (pixels of the stretched patch), rotation (°). */
export interface CropDraw {
  stretch: number;
  offsetX: number;
  offsetY: number;
  /** Counter-clockwise on screen, degrees; 0 = none. */
  angle: number;
}

/** Everything that decides one training pair: which frames, and the augmentation draws of both crops. */
export interface PairPlan {
  /** Index into the prepared sequences. */
  sequence: number;
  exemplarFrame: number;
  searchFrame: number;
  exemplar: CropDraw;
  search: CropDraw;
}

/** Sampling parameters taken from the config. */
export type SamplingOptions = Pick<TrainConfig, 'batchSize' | 'pairsPerSequence' | 'maxGap' | 'augment' | 'seed'> & {
  /** Backbone total stride s: random-crop offsets are in [0, s]. */
  stride: number;
  /** Weight of each source of a training mix (by `TrainingSequence.source`); absent: every sequence alike. */
  sourceWeights?: readonly number[];
};

/**
 * The sequence index of every item of `epoch` in training order. One dataset: each sequence `pairsPerSequence` times,
 * shuffled (siamfc-pytorch's Pair). A mix: the epoch's N = sequences × pairsPerSequence items are shared among the
 * sources by weight (round(N · w_s / Σw)); each source's share cycles through its sequences in a shuffled order, so
 * a small source is repeated and a large one subsampled; then the whole epoch is shuffled.
 */
export function epochOrder(epoch: number, sequences: readonly TrainingSequence[], opts: SamplingOptions): number[] {
  const items = sequences.length * opts.pairsPerSequence;
  const rng = derivedRng(opts.seed, RNG_PURPOSE.epochOrder, epoch);
  const weights = opts.sourceWeights;
  if (!weights || weights.length < 2) return rng.shuffle(Array.from({ length: items }, (_, i) => i % sequences.length));
  const bySource: number[][] = weights.map(() => []);
  sequences.forEach((s, i) => bySource[s.source ?? 0]?.push(i));
  const present = weights.map((w, k) => (bySource[k].length ? w : 0));
  const total = present.reduce((a, b) => a + b, 0);
  const order: number[] = [];
  bySource.forEach((idx, k) => {
    if (!idx.length) return;
    const quota = Math.max(1, Math.round((items * present[k]) / total));
    let cycle: number[] = [];
    for (let j = 0; j < quota; j++) {
      if (cycle.length === 0) cycle = rng.shuffle(idx);
      order.push(cycle.pop()!);
    }
  });
  return rng.shuffle(order);
}

/** Optimiser steps per epoch: ⌊sequences · pairsPerSequence / batchSize⌋ (drop_last), at least 1. */
export function stepsPerEpoch(numSequences: number, pairsPerSequence: number, batchSize: number): number {
  return Math.max(1, Math.floor((numSequences * pairsPerSequence) / batchSize));
}

function drawRotation(opts: SamplingOptions, rng: Rng): number {
  const r = opts.augment.rotation;
  if (r.kind === 'quarter') return 90 * rng.int(0, 3);
  if (r.kind === 'uniform') return rng.uniform(-r.maxDegrees, r.maxDegrees);
  return 0;
}

function drawCrop(opts: SamplingOptions, rng: Rng, angle: number): CropDraw {
  const s = opts.augment.maxStretch;
  return {
    stretch: 1 + rng.uniform(-s, s),
    offsetX: rng.int(0, opts.stride),
    offsetY: rng.int(0, opts.stride),
    angle,
  };
}

/**
 * The plans of the batch trained at `step` (0-based): a pure function of (seed, step), so prefetching and resuming
 * never change what a step sees. Uses `sequences[i].valid` only.
 */
export function planBatch(step: number, sequences: readonly TrainingSequence[], opts: SamplingOptions): PairPlan[] {
  const perEpoch = stepsPerEpoch(sequences.length, opts.pairsPerSequence, opts.batchSize);
  const epoch = Math.floor(step / perEpoch);
  const within = step % perEpoch;
  const order = epochOrder(epoch, sequences, opts);
  const plans: PairPlan[] = [];
  for (let b = 0; b < opts.batchSize; b++) {
    // fewer items than one batch: wrap around the epoch's order
    const seqIndex = order[(within * opts.batchSize + b) % order.length];
    const rng = derivedRng(opts.seed, RNG_PURPOSE.pair, step, b);
    const [z, x] = samplePair(sequences[seqIndex].valid, opts.maxGap, rng);
    const aug = derivedRng(opts.seed, RNG_PURPOSE.augment, step, b);
    const angleZ = drawRotation(opts, aug);
    const angleX = opts.augment.rotation.independent ? drawRotation(opts, aug) : angleZ;
    plans.push({ sequence: seqIndex, exemplarFrame: z, searchFrame: x, exemplar: drawCrop(opts, aug, angleZ), search: drawCrop(opts, aug, angleX) });
  }
  return plans;
}
