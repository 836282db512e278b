/**
 * The decoded frames of the last sequence an evaluation worker tracked, kept so that the next tracker on the same
 * sequence skips decoding (and, on Rot-OTB, rotating) every frame again: with many trackers, decoding — not tracking —
 * was half of an evaluation's time. Bounded by bytes: a sequence that would not fit is streamed as before.
 */
import type { Sequence } from '../data/dataset.js';
import { openSequenceFrames } from '../data/frames.js';
import type { RawFrame } from '../tracker/tracker.js';

/** Default bound of the decoded frames kept per worker (bytes). */
export const SEQUENCE_CACHE_BYTES = 1.5e9;

/** One sequence's decoded frames, keyed by the dataset and sequence names. */
export class SequenceFrameCache {
  private key = '';
  private held: RawFrame[] | null = null;

  constructor(private readonly maxBytes = SEQUENCE_CACHE_BYTES) {}

  /**
   * All frames of `seq` (of dataset `dataset`), decoded once and kept until another sequence is asked for; null
   * when they would take more than the bound (the caller streams them instead).
   */
  async frames(dataset: string, seq: Sequence): Promise<RawFrame[] | null> {
    const key = `${dataset}\u0000${seq.name}`;
    if (key === this.key && this.held) return this.held;
    this.clear();
    const stream = openSequenceFrames(seq, { prefetch: 4, cacheSize: 0 });
    if (stream.length === 0) return null;
    const first = await stream.get(0);
    if (first.data.length * stream.length > this.maxBytes) return null;
    const frames: RawFrame[] = [];
    for await (const f of stream) frames.push(f);
    this.key = key;
    this.held = frames;
    return frames;
  }

  /** Drop the held frames. */
  clear(): void {
    this.key = '';
    this.held = null;
  }
}
