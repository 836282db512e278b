/**
 * Seeded, counter-based randomness for training. Every random draw of a training step comes from a generator derived
 * from `(seed, purpose, step, …)`, never from a stream shared across steps: the draws of step k are then a pure
 * function of the seed and k, so prefetching batches ahead, or resuming after a crash, cannot change them. The
 * checkpoint's "RNG state" is therefore just `{seed, step}`.
 */

/** A uniform PRNG in [0, 1) with helpers; mulberry32 over a 32-bit state. */
export class Rng {
  private state: number;

  /** `seed`: any 32-bit integer (other numbers are hashed to one). */
  constructor(seed: number) {
    this.state = hashInts([Math.floor(seed) | 0]);
  }

  /** Next float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.min(hi - lo, Math.floor(this.next() * (hi - lo + 1)));
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('Rng.pick: empty array');
    return xs[this.int(0, xs.length - 1)];
  }

  /** Fisher–Yates shuffle into a new array. */
  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** The raw 32-bit state (for tests and logs). */
  get raw(): number {
    return this.state;
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
