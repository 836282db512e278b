/**
 * The project's one small seeded PRNG (mulberry32): uniform floats in [0, 1), deterministic for a seed, browser-safe.
 * Data generation, splits, angle sampling and tests draw from it so that runs are reproducible.
 */

/** A seeded uniform PRNG in [0, 1) (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** mulberry32 as an object with the draws the project needs; `state` is used as the 32-bit state as given. */
export class SeededRandom {
  private state: number;

  constructor(state: number) {
    this.state = state >>> 0;
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
    if (xs.length === 0) throw new Error('SeededRandom.pick: empty array');
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
