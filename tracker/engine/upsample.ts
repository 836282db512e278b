/**
 * The tracker's bicubic response upsampling `M · R · Mᵀ` (tracker/siamfc/response.ts `upsample`) with the zeros of
 * `M` skipped: each row of cv2's cubic matrix has at most 4 non-zero taps, so the `u × u` second product costs 4
 * instead of n multiply-adds per output (17 → 272: 0.3 M instead of 1.3 M per scale). The non-zero terms are added in
 * the same order, starting from the same 0, and the skipped terms are exact zeros (finite × 0), so the result is
 * bit-identical to `upsample` (test/onnx/upsample.test.ts checks it). Browser-safe.
 */

/** Non-zero taps of a `dst × src` resize matrix: per row, column indices ascending and their weights. */
export interface ResizeTaps {
  src: number;
  dst: number;
  /** Row d's taps are `index[start[d] .. start[d + 1])`. */
  start: Int32Array;
  index: Int32Array;
  weight: Float64Array;
  /** The same taps padded to 4 per row (`index4`/`weight4` at `4·d…`, `count[d]` of them real): the unrolled path. */
  index4: Int32Array;
  weight4: Float64Array;
  count: Uint8Array;
  /**
   * Integer factors (`dst = P·src`): the interior rows `[lo, hi)` have 4 consecutive taps whose weights repeat with
   * period P (row d + P = row d shifted by one column), so the second product runs phase by phase with the 4
   * weights held; `null` when the matrix has no such structure.
   */
  periodic: { P: number; lo: number; hi: number } | null;
}

/** The non-zero taps of `M` (`dst × src`, row-major), in ascending column order. */
export function resizeTaps(M: Float64Array, src: number, dst: number): ResizeTaps {
  if (M.length !== src * dst) throw new Error(`resizeTaps: matrix has ${M.length} entries, ${dst}×${src} expected`);
  const start = new Int32Array(dst + 1);
  const index: number[] = [];
  const weight: number[] = [];
  for (let d = 0; d < dst; d++) {
    start[d] = index.length;
    for (let k = 0; k < src; k++) {
      if (M[d * src + k] !== 0) {
        index.push(k);
        weight.push(M[d * src + k]);
      }
    }
  }
  start[dst] = index.length;
  const index4 = new Int32Array(4 * dst), weight4 = new Float64Array(4 * dst), count = new Uint8Array(dst);
  for (let d = 0; d < dst; d++) {
    count[d] = Math.min(255, start[d + 1] - start[d]);
    for (let t = 0; t < Math.min(4, count[d]); t++) {
      index4[4 * d + t] = index[start[d] + t];
      weight4[4 * d + t] = weight[start[d] + t];
    }
  }
  return { src, dst, start, index: Int32Array.from(index), weight: Float64Array.from(weight), index4, weight4, count,
    periodic: periodicRange(src, dst, index4, weight4, count) };
}

/** The widest run of rows `[lo, hi)` with 4 consecutive taps and weights of period `P = dst / src` (see ResizeTaps). */
function periodicRange(src: number, dst: number, index4: Int32Array, weight4: Float64Array, count: Uint8Array): ResizeTaps['periodic'] {
  const P = dst / src;
  if (!Number.isInteger(P) || P < 1) return null;
  const regular = (d: number) => count[d] === 4 && index4[4 * d + 1] === index4[4 * d] + 1 && index4[4 * d + 2] === index4[4 * d] + 2 &&
    index4[4 * d + 3] === index4[4 * d] + 3;
  const same = (d: number, e: number) => index4[4 * e] === index4[4 * d] + 1 &&
    [0, 1, 2, 3].every((t) => weight4[4 * e + t] === weight4[4 * d + t]);
  let lo = 0;
  while (lo < dst && !regular(lo)) lo++;
  let hi = lo;
  // row d belongs when it is regular and, if d − P is in the run, it repeats row d − P shifted by one column
  while (hi < dst && regular(hi) && (hi - P < lo || same(hi - P, hi))) hi++;
  return hi - lo >= 2 * P ? { P, lo, hi } : null;
}

/**
 * `M · R · Mᵀ` of a square `n × n` map `R` with `M`'s taps (`n → u`); equals `upsample(map, n, u, M)` bit for bit.
 * `out` (`u·u`, overwritten) may be passed to reuse a buffer between frames; `scratch` (`u·n`) likewise.
 */
export function upsampleTaps(map: ArrayLike<number>, taps: ResizeTaps, out?: Float64Array, scratch?: Float64Array): Float64Array {
  return upsampleTapsRange(map, taps, out, scratch).map;
}

/**
 * `upsampleTaps` that also returns the smallest and largest value written (one pass fewer for the tracker, which needs
 * both). Rows with 4 taps — all but the borders — run unrolled; every sum still starts from 0 and adds the non-zero
 * terms in ascending column order, so the values are those of `upsample` bit for bit.
 */
export function upsampleTapsRange(
  map: ArrayLike<number>, taps: ResizeTaps, out?: Float64Array, scratch?: Float64Array,
): { map: Float64Array; min: number; max: number } {
  const { src: n, dst: u, start, index, weight, index4, weight4, count } = taps;
  if (out && out.length !== u * u) throw new Error(`upsampleTaps: output holds ${out.length} values, ${u * u} needed`);
  if (scratch && scratch.length !== u * n) throw new Error(`upsampleTaps: scratch holds ${scratch.length} values, ${u * n} needed`);
  const tmp = scratch ? scratch.fill(0) : new Float64Array(u * n); // M · R
  for (let i = 0; i < u; i++) {
    for (let t = start[i]; t < start[i + 1]; t++) {
      const a = weight[t];
      const k = index[t];
      for (let j = 0; j < n; j++) tmp[i * n + j] += a * map[k * n + j];
    }
  }
  const res = out ?? new Float64Array(u * u); // (M · R) · Mᵀ
  let min = Infinity;
  let max = -Infinity;
  const per = taps.periodic;
  for (let i = 0; i < u; i++) {
    const row = i * n;
    const o = i * u;
    if (per) {
      // interior columns phase by phase: column j = lo + p + k·P reads tmp[row + index4[4·(lo + p)] + k + 0…3]
      const { P, lo, hi } = per;
      for (let p = 0; p < P && lo + p < hi; p++) {
        const q = 4 * (lo + p);
        const w0 = weight4[q], w1 = weight4[q + 1], w2 = weight4[q + 2], w3 = weight4[q + 3];
        let b = row + index4[q];
        for (let j = lo + p; j < hi; j += P, b++) {
          let s = 0;
          s += tmp[b] * w0;
          s += tmp[b + 1] * w1;
          s += tmp[b + 2] * w2;
          s += tmp[b + 3] * w3;
          res[o + j] = s;
          if (s < min) min = s;
          if (s > max) max = s;
        }
      }
    }
    for (let j = 0; j < u; j++) {
      if (per && j === per.lo) j = per.hi;
      if (j >= u) break;
      let s = 0;
      if (count[j] === 4) {
        const q = 4 * j;
        s += tmp[row + index4[q]] * weight4[q];
        s += tmp[row + index4[q + 1]] * weight4[q + 1];
        s += tmp[row + index4[q + 2]] * weight4[q + 2];
        s += tmp[row + index4[q + 3]] * weight4[q + 3];
      } else {
        for (let t = start[j]; t < start[j + 1]; t++) s += tmp[row + index[t]] * weight[t];
      }
      res[o + j] = s;
      if (s < min) min = s;
      if (s > max) max = s;
    }
  }
  return { map: res, min, max };
}
