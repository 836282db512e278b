/**
 * Seeded, counter-based randomness for training. Every random draw of a training step comes from a generator derived
 * from `(seed, purpose, step, …)`, never from a stream shared across steps: the draws of step k are then a pure
 * function of the seed and k, so prefetching batches ahead, or resuming after a crash, cannot change them. The
 * checkpoint's "RNG state" is therefore just `{seed, step}`.
 */
import { SeededRandom } from '../tracker/random.js';


/** The training generator: the project's mulberry32 (tracker/random.ts) over a hash of the seed. */
export class Rng extends SeededRandom {
  /** `seed`: any 32-bit integer (other numbers are hashed to one). */
  constructor(seed: number) {
    super(hashInts([Math.floor(seed) | 0]));
  }
}

/** Hash a list of integers to one 32-bit value (murmur3-style finaliser per element). */
export function hashInts(xs: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    let k = Math.imul((x | 0) ^ 0x85ebca6b, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h = Math.imul(h ^ k, 0x1b873593);
    h = ((h << 13) | (h >>> 19)) + 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Purposes of the derived generators (distinct streams for the same step). */
export const RNG_PURPOSE = { epochOrder: 1, pair: 2, augment: 3, aux: 4 } as const;

/** The generator for `(seed, purpose, ...keys)`, e.g. `derivedRng(seed, RNG_PURPOSE.pair, step, sample)`. */
export function derivedRng(seed: number, purpose: number, ...keys: number[]): Rng {
  return new Rng(hashInts([seed, purpose, ...keys]));
}
