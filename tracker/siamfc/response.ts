/**
 * Post-processing of SiamFC response maps in plain JavaScript (they are tiny: 3 × 17 × 17): cv2-compatible bicubic
 * upsampling as two small matrix products, the Hann window, and argmax.
 */

/** cv2's cubic convolution kernel weights (a = −0.75) for fractional offset `t` ∈ [0, 1): taps at −1, 0, 1, 2. */
function cubicWeights(t: number): [number, number, number, number] {
  const A = -0.75;
  const w0 = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
  const w1 = ((A + 2) * t - (A + 3)) * t * t + 1;
  const w2 = ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1;
  return [w0, w1, w2, 1 - w0 - w1 - w2];
}

/**
 * The `dst × src` interpolation matrix of `cv2.resize(..., INTER_CUBIC)` along one axis (half-pixel mapping, border
 * replicated), so that `M · R · Mᵀ` upsamples a square map `R` exactly as cv2 does.
 */
export function cubicResizeMatrix(src: number, dst: number): Float64Array {
  const m = new Float64Array(dst * src);
  const scale = src / dst;
  for (let d = 0; d < dst; d++) {
    const f = (d + 0.5) * scale - 0.5;
    const sx = Math.floor(f);
    const w = cubicWeights(f - sx);
    for (let k = 0; k < 4; k++) {
      const j = Math.min(Math.max(sx - 1 + k, 0), src - 1);
      m[d * src + j] += w[k];
    }
  }
  return m;
}

/** Upsample a square `n × n` map to `u × u` with a precomputed `u × n` matrix `M`: returns `M · R · Mᵀ`. */
export function upsample(map: ArrayLike<number>, n: number, u: number, M: Float64Array): Float64Array {
  const tmp = new Float64Array(u * n); // M · R
  for (let i = 0; i < u; i++) {
    for (let k = 0; k < n; k++) {
      const a = M[i * n + k];
      if (a === 0) continue;
      for (let j = 0; j < n; j++) tmp[i * n + j] += a * map[k * n + j];
    }
  }
  const out = new Float64Array(u * u); // (M · R) · Mᵀ
  for (let i = 0; i < u; i++) {
    for (let j = 0; j < u; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += tmp[i * n + k] * M[j * n + k];
      out[i * u + j] = s;
    }
  }
  return out;
}

/** NumPy's `np.outer(np.hanning(n), np.hanning(n))` normalised to sum 1, row-major `n × n`. */
export function hannWindow(n: number): Float64Array {
  const h = new Float64Array(n);
  for (let i = 0; i < n; i++) h[i] = n === 1 ? 1 : 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
  const w = new Float64Array(n * n);
  let sum = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sum += w[i * n + j] = h[i] * h[j];
  for (let i = 0; i < w.length; i++) w[i] /= sum;
  return w;
}

/** Index and value of the maximum (first one on ties, like NumPy's argmax). */
export function argmax(a: ArrayLike<number>): { index: number; value: number } {
  let index = 0;
  let value = -Infinity;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > value) {
      value = a[i];
      index = i;
    }
  }
  return { index, value };
}
