/**
 * The batch producer: turns the plans of a step (pairs.ts) into exemplar and search crops, decoding frames with
 * data/frames.ts while the previous step trains. At most `prefetch` batches are prepared ahead of the one requested,
 * so memory is bounded whatever the dataset size. Batches hold plain Float32Arrays; tensors are made by the caller
 * (`batchTensors`) inside its step so that no tensor outlives a step.
 */
import { tf } from '../tracker/tf.js';
import type { Tensor4D } from '../tracker/tf.js';
import type { RawFrame } from '../tracker/tracker.js';
import { hasFrameSource, readFrame } from '../data/frames.js';
import type { Sequence } from '../data/dataset.js';
import type { TrainingGeometry } from './labels.js';
import { type PairPlan, type SamplingOptions, type TrainingSequence, planBatch } from './pairs.js';
import { cropGrid, frameMean, sampleCrop } from './augment.js';

/** One batch of crops: `z` `[B, E, E, 3]`, `x` `[B, S, S, 3]` float32 RGB 0–255, row-major, plus its plans. */
export interface Batch {
  step: number;
  size: number;
  exemplarSize: number;
  searchSize: number;
  z: Float32Array;
  x: Float32Array;
  plans: PairPlan[];
}

/** Decode frame `index` of a sequence (files via sharp, or the sequence's own loader for on-the-fly datasets). */
export function loadFrame(seq: Sequence, index: number): Promise<RawFrame> {
  return hasFrameSource(seq) ? seq.loadFrame(index) : readFrame(seq.frames[index]);
}

/** Options of the producer: sampling options plus the context margin and the read-ahead. */
export interface BatchProducerOptions extends SamplingOptions {
  context: number;
  /** Batches prepared ahead of the requested one (0 = none). */
  prefetch: number;
}

/** Build the crops of `plans` (decoding each frame once per batch). */
export async function buildBatch(
  step: number,
  plans: PairPlan[],
  sequences: readonly TrainingSequence[],
  g: TrainingGeometry,
  context: number,
): Promise<Batch> {
  const E = g.exemplarSize;
  const S = g.searchSize;
  const z = new Float32Array(plans.length * E * E * 3);
  const x = new Float32Array(plans.length * S * S * 3);
  const frames = await Promise.all(
    plans.flatMap((p) => {
      const seq = sequences[p.sequence].seq;
      return [loadFrame(seq, p.exemplarFrame), loadFrame(seq, p.searchFrame)];
    }),
  );
  plans.forEach((p, b) => {
    const seq = sequences[p.sequence].seq;
    const fz = frames[2 * b];
    const fx = frames[2 * b + 1];
    const gz = cropGrid(seq.groundTruth[p.exemplarFrame], context, g, p.exemplar, true);
    const gx = cropGrid(seq.groundTruth[p.searchFrame], context, g, p.search, false);
    sampleCrop(fz, frameMean(fz), gz, z, b * E * E * 3);
    sampleCrop(fx, frameMean(fx), gx, x, b * S * S * 3);
  });
  return { step, size: plans.length, exemplarSize: E, searchSize: S, z, x, plans };
}

/** Produces the batch of any step; the batches of the next `prefetch` steps are decoded in the background. */
export class BatchProducer {
  private readonly pending = new Map<number, Promise<Batch>>();

  constructor(
    readonly sequences: readonly TrainingSequence[],
    readonly geometry: TrainingGeometry,
    readonly options: BatchProducerOptions,
  ) {}

  private start(step: number): Promise<Batch> {
    let p = this.pending.get(step);
    if (!p) {
      p = buildBatch(step, planBatch(step, this.sequences, this.options), this.sequences, this.geometry, this.options.context);
      // a prefetched batch may fail before it is awaited: keep the rejection for its turn, not as unhandled
      p.catch(() => undefined);
      this.pending.set(step, p);
    }
    return p;
  }

  /** The batch of `step`; starts decoding steps `step+1 … step+prefetch` and forgets anything older. */
  async get(step: number): Promise<Batch> {
    for (const k of [...this.pending.keys()]) if (k < step || k > step + this.options.prefetch) this.pending.delete(k);
    const p = this.start(step);
    for (let k = 1; k <= this.options.prefetch; k++) this.start(step + k);
    const b = await p;
    this.pending.delete(step);
    return b;
  }

  /** Number of batches being prepared (for tests: bounded by prefetch + 1). */
  get inFlight(): number {
    return this.pending.size;
  }
}

/** Tensors of a batch: `z` `[B, E, E, 3]`, `x` `[B, S, S, 3]` float32 0–255 (caller disposes). */
export function batchTensors(b: Batch): { z: Tensor4D; x: Tensor4D } {
  return {
    z: tf.tensor4d(b.z, [b.size, b.exemplarSize, b.exemplarSize, 3]),
    x: tf.tensor4d(b.x, [b.size, b.searchSize, b.searchSize, 3]),
  };
}
