/**
 * Track one sequence with one tracker and write its result files (the unit of work of the OPE runner, run in a worker
 * thread or in-process). Frames stream through data/frames.ts with a bounded read-ahead.
 */
import type { Sequence } from '../data/dataset.js';
import { openSequenceFrames } from '../data/frames.js';
import type { LoadedTracker } from '../tracker/node/load-tracker.js';
import { type RawFrame, trackSequence } from '../tracker/tracker.js';
import { ResultStore } from './results.js';

/** Progress of a running sequence. */
export interface FrameProgress {
  frame: number;
  frames: number;
}

/**
 * Track `seq` with a new tracker over `loaded`'s network and write `<root>/<benchmark>/<tracker>/<seq>.txt` + times.
 * `decoded`: the sequence's frames already in memory (eval/sequence-cache.ts); otherwise they are streamed.
 */
export async function runSequence(
  loaded: LoadedTracker,
  seq: Sequence,
  store: ResultStore,
  onFrame?: (p: FrameProgress) => void,
  shouldStop?: () => boolean,
  decoded?: readonly RawFrame[] | null,
): Promise<{ frames: number; seconds: number; stopped: boolean }> {
  const tracker = loaded.createTracker();
  const frames = decoded ?? openSequenceFrames(seq, { prefetch: 4, cacheSize: 0 });
  try {
    const res = await trackSequence(tracker, frames, seq.groundTruth[0], {
      onFrame: (i) => onFrame?.({ frame: i + 1, frames: seq.frames.length }),
      shouldStop,
    });
    const stopped = res.boxes.length < seq.frames.length;
    // an interrupted sequence is not written: a result file only ever holds a complete run
    if (!stopped) await store.write(seq.name, { boxes: res.boxes, times: res.times });
    return { frames: res.boxes.length, seconds: res.times.reduce((a, b) => a + b, 0), stopped };
  } finally {
    tracker.dispose();
  }
}
