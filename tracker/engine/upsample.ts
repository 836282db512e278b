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
  return { src, dst, start, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

/**
 * `M · R · Mᵀ` of a square `n × n` map `R` with `M`'s taps (`n → u`); equals `upsample(map, n, u, M)` bit for bit.
 * `out` (`u·u`, overwritten) may be passed to reuse a buffer between frames; `scratch` (`u·n`) likewise.
 */
export function upsampleTaps(map: ArrayLike<number>, taps: ResizeTaps, out?: Float64Array, scratch?: Float64Array): Float64Array {
  const { src: n, dst: u, start, index, weight } = taps;
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
  for (let i = 0; i < u; i++) {
    const row = i * n;
    for (let j = 0; j < u; j++) {
      let s = 0;
      for (let t = start[j]; t < start[j + 1]; t++) s += tmp[row + index[t]] * weight[t];
      res[i * u + j] = s;
    }
  }
  return res;
}
