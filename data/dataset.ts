/**
 * The interface every sequence dataset implements (OTB, Rot-OTB, GOT-10k, synthetic), so that training and
 * evaluation know nothing of file layouts. Boxes are the project's one convention (tracker/geometry.ts: 0-based
 * left-top x, y, width, height); readers convert at the file boundary.
 */
import type { Box } from '../tracker/geometry.js';

/** One annotated sequence: absolute frame paths and one ground-truth box per frame. */
export interface Sequence {
  /** Name unique within its dataset (OTB: `Jogging.2` for the second target of Jogging). */
  name: string;
  /** Absolute paths of the frames, in order. */
  frames: string[];
  /** Ground truth, one box per frame (same length as `frames`); GOT-10k test: only `[0]` is known. */
  groundTruth: Box[];
  /** Per-frame flags where the dataset has them (GOT-10k: absence, cover 0–8, cut by image). */
  absence?: boolean[];
  cover?: number[];
  cutByImage?: boolean[];
  /** Free-form metadata (GOT-10k meta_info.ini, OTB attributes, synthetic generator parameters). */
  meta: Record<string, string>;
}

/** A named collection of sequences, read lazily by name. */
export interface SequenceDataset {
  /** Dataset name as used in result paths (`results/<name>/<tracker>/<seq>.txt`), e.g. `OTB2015`, `RotOTB-d0.5`. */
  readonly name: string;
  /** Sequence names in a stable order. */
  names(): string[];
  /** Load one sequence; throws an error naming the file (and line) when its files are bad. */
  sequence(name: string): Promise<Sequence>;
}
