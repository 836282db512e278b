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
