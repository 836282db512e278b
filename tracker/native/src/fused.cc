// Fused kernels of a training step (issue 15): each replaces a chain of tfjs ops that a step runs many times, and that
// on the cpu-backed native-cpu backend costs one full pass over memory — plus one JS kernel dispatch, one allocation
// and one tape entry — per op:
//   - adamUpdate / sgdUpdate: the optimiser's per-variable element-wise chain (12 / 5 ops) in one pass. Every
//     intermediate is rounded to float32 exactly where the op chain rounds it, so the result is the chain's, bit for
//     bit (float32 + − × ÷ √ computed in double and rounded once equal the float32 operation).
//   - xcorr / xcorrGrad: SiamFC's per-sample cross-correlation, which tfjs runs as B slices + transposes + B convs
//     forward and, backward, B convs of each kind plus B full-size pads and adds (the gradient of every slice).
//   - bnTrain / bnTrainGrad: BatchNorm with batch statistics (tf.moments + batchNorm; fields of N channels sharing one
//     statistic as in e2cnn's InnerBatchNorm) forward in two passes and backward in two passes, instead of ~15
//     full-size ops and a Tile of the per-field parameters.
//   - reluGrad: dy · step(x) in one pass (tfjs: Step, then Multiply).
//   - maxLast / maxLastGrad: max over the trailing axis (IEN's group pooling over the Λ orientation maps) and its
//     gradient dy · (x == max) in one pass (tfjs: the cpu Max kernel, then Equal, Cast and Multiply).
#ifdef ROT_TRACK_ACCELERATE
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "common.h"

namespace {

using namespace rtn;

// Rounds a double to float32, as storing a JS number into a Float32Array does.
inline float f(double v) { return float(v); }

// adamUpdate(w, g, m, v, wOut, mOut, vOut, s, hasWeightDecay); s = float32 [wd, β1, 1 − β1, β2, 1 − β2, c2, ε, lr / c1]
// (the scalars exactly as the op chain's float32 scalar tensors hold them). training/optimizers.ts Adam.apply:
//   g' = g + w·wd;  m' = m·β1 + g'·(1 − β1);  v' = v·β2 + g'²·(1 − β2);  w' = w − (m' / (√(v' / c2) + ε))·(lr / c1)
NATIVE_FN(AdamUpdate) {
  auto a = get_args(env, info, 9);
  const int64_t n = typed_length(env, a[0], "w");
  const float* w = f32(env, a[0], n, "w");
  const float* g = f32(env, a[1], n, "g");
  const float* m = f32(env, a[2], n, "m");
  const float* v = f32(env, a[3], n, "v");
  float* wo = f32(env, a[4], n, "wOut");
  float* mo = f32(env, a[5], n, "mOut");
  float* vo = f32(env, a[6], n, "vOut");
  const float* s = f32(env, a[7], 8, "scalars");
  const bool hasWd = number(env, a[8]) != 0;
  const double wd = s[0], b1 = s[1], nb1 = s[2], b2 = s[3], nb2 = s[4], c2 = s[5], eps = s[6], lrc = s[7];
  parallel_for(n, 65536, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const double gi = hasWd ? f(double(g[i]) + f(double(w[i]) * wd)) : double(g[i]);
      const float mi = f(f(double(m[i]) * b1) + f(gi * nb1));
      const float vi = f(f(double(v[i]) * b2) + f(double(f(gi * gi)) * nb2));
      const float denom = f(double(f(std::sqrt(double(f(double(vi) / c2))))) + eps);
      mo[i] = mi;
      vo[i] = vi;
      wo[i] = f(double(w[i]) - f(double(f(double(mi) / double(denom))) * lrc));
    }
  });
  return undefined(env);
}

// sgdUpdate(w, g, vel, wOut, velOut, s, hasWeightDecay); s = float32 [wd, μ, lr]. training/optimizers.ts SgdMomentum:
//   g' = g + w·wd;  vel' = vel·μ + g';  w' = w − vel'·lr
NATIVE_FN(SgdUpdate) {
  auto a = get_args(env, info, 7);
  const int64_t n = typed_length(env, a[0], "w");
  const float* w = f32(env, a[0], n, "w");
  const float* g = f32(env, a[1], n, "g");
  const float* vel = f32(env, a[2], n, "vel");
  float* wo = f32(env, a[3], n, "wOut");
  float* vo = f32(env, a[4], n, "velOut");
  const float* s = f32(env, a[5], 3, "scalars");
  const bool hasWd = number(env, a[6]) != 0;
  const double wd = s[0], mu = s[1], lr = s[2];
  parallel_for(n, 65536, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const double gi = hasWd ? f(double(g[i]) + f(double(w[i]) * wd)) : double(g[i]);
      const float vi = f(f(double(vel[i]) * mu) + gi);
      vo[i] = vi;
      wo[i] = f(double(w[i]) - f(double(vi) * lr));
    }
  });
  return undefined(env);
}

// Cross-correlation geometry: p = [B, k, Hz, Wz, Hx, Wx, C]. z [B, Hz, Wz, C], x [B·k, Hx, Wx, C] (search map n belongs
// to exemplar n / k), out [B·k, Hx − Hz + 1, Wx − Wz + 1, 1] (valid correlation, stride 1).
struct Xcorr {
  int64_t B, k, Hz, Wz, Hx, Wx, C;
  int64_t Ho() const { return Hx - Hz + 1; }
  int64_t Wo() const { return Wx - Wz + 1; }
  int64_t zSize() const { return B * Hz * Wz * C; }
  int64_t xSize() const { return B * k * Hx * Wx * C; }
  int64_t ySize() const { return B * k * Ho() * Wo(); }
};

Xcorr xcorr_from(napi_env env, napi_value v) {
  auto p = ints(env, v, 7, "params");
  Xcorr c{p[0], p[1], p[2], p[3], p[4], p[5], p[6]};
  for (int i = 0; i < 7; i++) {
    if (p[i] <= 0) throw ArgError{"xcorr params must be positive (index " + std::to_string(i) + ")"};
  }
  if (c.Hz > c.Hx || c.Wz > c.Wx) throw ArgError{"exemplar map larger than the search map"};
  return c;
}

// xcorr(z, x, out, p): out[n, p, q] = Σ_u ⟨x row (p + u) from column q, z row u⟩, each row product one contiguous
// dot of Wz·C floats (NHWC keeps a window row contiguous), summed over u in double.
NATIVE_FN(XcorrForward) {
  auto a = get_args(env, info, 4);
  const Xcorr c = xcorr_from(env, a[3]);
  const float* z = f32(env, a[0], c.zSize(), "z");
  const float* x = f32(env, a[1], c.xSize(), "x");
  float* out = f32(env, a[2], c.ySize(), "out");
  const int64_t row = c.Wz * c.C, Ho = c.Ho(), Wo = c.Wo();
  parallel_for(c.B * c.k, 1, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; n++) {
      const float* zb = z + (n / c.k) * c.Hz * row;
      const float* xn = x + n * c.Hx * c.Wx * c.C;
      for (int64_t p = 0; p < Ho; p++) {
        for (int64_t q = 0; q < Wo; q++) {
          double s = 0;
          for (int64_t u = 0; u < c.Hz; u++) {
            s += cblas_sdot(int(row), xn + ((p + u) * c.Wx + q) * c.C, 1, zb + u * row, 1);
          }
          out[(n * Ho + p) * Wo + q] = float(s);
        }
      }
    }
  });
  return undefined(env);
}

// xcorrGrad(z, x, dy, dz, dx, p): dz[b] = Σ over b's k maps and every (p, q) of dy·(the x window); dx[n] window
// += dy·z[b]. A thread owns whole exemplars (dz[b] and the dx of b's k search maps), so no two threads write one element.
NATIVE_FN(XcorrBackward) {
  auto a = get_args(env, info, 6);
  const Xcorr c = xcorr_from(env, a[5]);
  const float* z = f32(env, a[0], c.zSize(), "z");
  const float* x = f32(env, a[1], c.xSize(), "x");
  const float* dy = f32(env, a[2], c.ySize(), "dy");
  float* dz = f32(env, a[3], c.zSize(), "dz");
  float* dx = f32(env, a[4], c.xSize(), "dx");
  const int64_t row = c.Wz * c.C, Ho = c.Ho(), Wo = c.Wo();
  parallel_for(c.B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      const float* zb = z + b * c.Hz * row;
      float* dzb = dz + b * c.Hz * row;
      std::memset(dzb, 0, sizeof(float) * size_t(c.Hz * row));
      for (int64_t n = b * c.k; n < (b + 1) * c.k; n++) {
        const float* xn = x + n * c.Hx * c.Wx * c.C;
        float* dxn = dx + n * c.Hx * c.Wx * c.C;
        std::memset(dxn, 0, sizeof(float) * size_t(c.Hx * c.Wx * c.C));
        for (int64_t p = 0; p < Ho; p++) {
          for (int64_t q = 0; q < Wo; q++) {
            const float g = dy[(n * Ho + p) * Wo + q];
            if (g == 0.f) continue;  // exact: adding 0·v changes nothing (NaN/inf features aside)
            for (int64_t u = 0; u < c.Hz; u++) {
              const int64_t off = ((p + u) * c.Wx + q) * c.C;
              cblas_saxpy(int(row), g, xn + off, 1, dzb + u * row, 1);
              cblas_saxpy(int(row), g, zb + u * row, 1, dxn + off, 1);
            }
          }
        }
      }
    }
  });
  return undefined(env);
}

// BatchNorm geometry: p = [rows, C, N]: x viewed as [rows, C] (NHWC: rows = B·H·W), channel c in field c / N; the
// statistics of a field run over rows·N values.
struct Bn {
  int64_t rows, C, N;
  int64_t F() const { return C / N; }
  int64_t n() const { return rows * C; }
  double M() const { return double(rows) * double(N); }
};

Bn bn_from(napi_env env, napi_value v) {
  auto p = ints(env, v, 3, "params");
  Bn b{p[0], p[1], p[2]};
  if (b.rows < 1 || b.C < 1 || b.N < 1 || b.C % b.N != 0) throw ArgError{"bad batchNorm params"};
  return b;
}

// bnTrain(x, gamma|null, beta|null, y, mean, variance, p, eps, relu): mean and biased variance per field (float32, as
// tf.moments returns them), then y = β + (x − mean)·γ / √(variance + ε) in double from the float32 statistics, as
// the FusedBatchNorm kernel computes it; with relu ≠ 0, y = max(y, 0) in the same pass (the Relu that follows
// BatchNorm in every backbone: one full-size pass and allocation fewer each way).
NATIVE_FN(BnTrainForward) {
  auto a = get_args(env, info, 9);
  const bool relu = number(env, a[8]) != 0;
  const Bn q = bn_from(env, a[6]);
  const int64_t F = q.F();
  const float* x = f32(env, a[0], q.n(), "x");
  const float* gamma = is_null_or_undefined(env, a[1]) ? nullptr : f32(env, a[1], F, "gamma");
  const float* beta = is_null_or_undefined(env, a[2]) ? nullptr : f32(env, a[2], F, "beta");
  float* y = f32(env, a[3], q.n(), "y");
  float* mean = f32(env, a[4], F, "mean");
  float* var = f32(env, a[5], F, "variance");
  const double eps = number(env, a[7]);
  std::vector<double> s1(size_t(q.C)), s2(size_t(q.C));
  channel_sums(x, x, nullptr, q.rows, q.C, s1.data(), s2.data());
  std::vector<double> mk(size_t(q.C)), kk(size_t(q.C)), ok(size_t(q.C));
  for (int64_t fi = 0; fi < F; fi++) {
    double sx = 0, sxx = 0;
    for (int64_t r = 0; r < q.N; r++) {
      sx += s1[size_t(fi * q.N + r)];
      sxx += s2[size_t(fi * q.N + r)];
    }
    const double mu = sx / q.M();
    // One-pass variance in double: relative error ~1e-16 · mean² / variance, far below float32's for features.
    mean[fi] = float(mu);
    var[fi] = float(std::max(0.0, sxx / q.M() - mu * mu));
    for (int64_t r = 0; r < q.N; r++) {
      const size_t ch = size_t(fi * q.N + r);
      mk[ch] = mean[fi];
      kk[ch] = (gamma ? double(gamma[fi]) : 1.0) / std::sqrt(double(var[fi]) + eps);
      ok[ch] = beta ? double(beta[fi]) : 0.0;
    }
  }
  parallel_for(q.rows, std::max<int64_t>(1, 65536 / q.C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * q.C;
      float* yr = y + r * q.C;
      for (int64_t ch = 0; ch < q.C; ch++) {
        const float v = float(ok[size_t(ch)] + (double(xr[ch]) - mk[size_t(ch)]) * kk[size_t(ch)]);
        yr[ch] = relu && v < 0.f ? 0.f : v;  // tfjs's Relu: x < 0 ? 0 : x
      }
    }
  });
  return undefined(env);
}

// bnTrainGrad(x, dy, mean, variance, gamma|null, dMean|null, dVariance|null, dx, dGamma, dBeta, p, eps, y|null): the exact
// gradient of bnTrain through the batch statistics (what tfjs's tape computes through tf.moments), per field with
// r = 1 / √(variance + ε), M values per field, Σdy and Σdy·(x − mean) from one pass:
//   dβ = Σdy;  dγ = r·Σdy·(x − mean);  dx = γr·(dy − Σdy / M − (x − mean)·r²·Σdy·(x − mean) / M)
//                                          + dMean / M + dVariance·2(x − mean) / M
// (dMean, dVariance: gradients reaching the statistics outputs directly; null when nothing used them). With the
// output y of a bnTrain that applied relu, dy is first masked as the Relu gradient does (y > 0: dy, else 0), into dx,
// which the last pass then overwrites element by element.
NATIVE_FN(BnTrainBackward) {
  auto a = get_args(env, info, 13);
  const Bn q = bn_from(env, a[10]);
  const int64_t F = q.F();
  const float* x = f32(env, a[0], q.n(), "x");
  const float* dy = f32(env, a[1], q.n(), "dy");
  const float* mean = f32(env, a[2], F, "mean");
  const float* var = f32(env, a[3], F, "variance");
  const float* gamma = is_null_or_undefined(env, a[4]) ? nullptr : f32(env, a[4], F, "gamma");
  const float* dMean = is_null_or_undefined(env, a[5]) ? nullptr : f32(env, a[5], F, "dMean");
  const float* dVar = is_null_or_undefined(env, a[6]) ? nullptr : f32(env, a[6], F, "dVariance");
  float* dx = f32(env, a[7], q.n(), "dx");
  float* dGamma = f32(env, a[8], F, "dGamma");
  float* dBeta = f32(env, a[9], F, "dBeta");
  const double eps = number(env, a[11]);
  const float* yRelu = is_null_or_undefined(env, a[12]) ? nullptr : f32(env, a[12], q.n(), "y");
  std::vector<float> shift(size_t(q.C));
  for (int64_t ch = 0; ch < q.C; ch++) shift[size_t(ch)] = mean[ch / q.N];
  std::vector<double> s1(size_t(q.C)), s2(size_t(q.C));
  // With a fused relu, dy is masked where y ≤ 0 as each pass reads it. (A separate masking pass into dx, which the last
  // pass then read back as dy, cost more than the rest together: 40 MB at 1 thread 28 ms vs 15 without, and did not
  // scale to 2 threads.)
  channel_sums(dy, x, shift.data(), q.rows, q.C, s1.data(), s2.data(), yRelu);
  // Per channel: dx = A·dy + B·(x − mean) + Cc.
  std::vector<double> A(size_t(q.C)), Bc(size_t(q.C)), Cc(size_t(q.C)), mu(size_t(q.C));
  const double M = q.M();
  for (int64_t fi = 0; fi < F; fi++) {
    double sdy = 0, sdyx = 0;
    for (int64_t r = 0; r < q.N; r++) {
      sdy += s1[size_t(fi * q.N + r)];
      sdyx += s2[size_t(fi * q.N + r)];
    }
    const double rr = 1.0 / std::sqrt(double(var[fi]) + eps);
    const double g = gamma ? double(gamma[fi]) : 1.0;
    dBeta[fi] = float(sdy);
    dGamma[fi] = float(rr * sdyx);
    for (int64_t r = 0; r < q.N; r++) {
      const size_t ch = size_t(fi * q.N + r);
      A[ch] = g * rr;
      Bc[ch] = -g * rr * rr * rr * sdyx / M + (dVar ? 2.0 * double(dVar[fi]) / M : 0.0);
      Cc[ch] = -g * rr * sdy / M + (dMean ? double(dMean[fi]) / M : 0.0);
      mu[ch] = mean[fi];
    }
  }
  const double* __restrict pA = A.data();
  const double* __restrict pB = Bc.data();
  const double* __restrict pC = Cc.data();
  const double* __restrict pM = mu.data();
  parallel_for(q.rows, std::max<int64_t>(1, 65536 / q.C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* __restrict xr = x + r * q.C;
      const float* __restrict dr = dy + r * q.C;
      float* __restrict o = dx + r * q.C;
      if (yRelu) {
        const float* __restrict yr = yRelu + r * q.C;
        for (int64_t ch = 0; ch < q.C; ch++) {
          const float d = relu_pass(dr[ch], yr[ch]);
          o[ch] = float(pA[ch] * double(d) + pB[ch] * (double(xr[ch]) - pM[ch]) + pC[ch]);
        }
        continue;
      }
      for (int64_t ch = 0; ch < q.C; ch++) {
        o[ch] = float(pA[ch] * double(dr[ch]) + pB[ch] * (double(xr[ch]) - pM[ch]) + pC[ch]);
      }
    }
  });
  return undefined(env);
}

// reluGrad(dy, x, dx, n): dx = dy · step(x) as tfjs's Relu gradient computes it (x > 0: dy; else dy·0, NaN for NaN x).
NATIVE_FN(ReluGrad) {
  auto a = get_args(env, info, 4);
  const int64_t n = int64_t(number(env, a[3]));
  if (n < 0) throw ArgError{"bad size"};
  const float* dy = f32(env, a[0], n, "dy");
  const float* x = f32(env, a[1], n, "x");
  float* dx = f32(env, a[2], n, "dx");
  parallel_for(n, 65536, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const float v = x[i];
      dx[i] = v > 0.f ? dy[i] : dy[i] * (std::isnan(v) ? v : 0.f);
    }
  });
  return undefined(env);
}

// maxLast(x, y, rows, inner): y[r] = max of row r of x [rows, inner], NaN if the row holds one (tfjs's Max kernel).
NATIVE_FN(MaxLast) {
  auto a = get_args(env, info, 4);
  const int64_t rows = int64_t(number(env, a[2])), inner = int64_t(number(env, a[3]));
  if (rows < 1 || inner < 1) throw ArgError{"bad max sizes"};
  const float* x = f32(env, a[0], rows * inner, "x");
  float* y = f32(env, a[1], rows, "y");
  parallel_for(rows, std::max<int64_t>(1, 65536 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * inner;
      float m = xr[0];
      for (int64_t j = 1; j < inner; j++) {
        if (std::isnan(xr[j]) || xr[j] > m) m = xr[j];
      }
      y[r] = m;
    }
  });
  return undefined(env);
}

// maxLastGrad(dy, x, y, dx, rows, inner): dx[r, j] = dy[r] · (x[r, j] == y[r]) — every tied maximum gets the whole
// gradient, as tfjs's gradient of Max (Equal, Cast, Multiply) gives it.
NATIVE_FN(MaxLastGrad) {
  auto a = get_args(env, info, 6);
  const int64_t rows = int64_t(number(env, a[4])), inner = int64_t(number(env, a[5]));
  if (rows < 1 || inner < 1) throw ArgError{"bad max sizes"};
  const float* dy = f32(env, a[0], rows, "dy");
  const float* x = f32(env, a[1], rows * inner, "x");
  const float* y = f32(env, a[2], rows, "y");
  float* dx = f32(env, a[3], rows * inner, "dx");
  // IEN's group pooling takes the max over Λ = 2, 4 or 8 orientations: a compile-time row length (an
  // integral_constant) lets the compiler unroll and vectorise the row (runtime-length rows of 4: 7.3 ms for the 8 calls
  // of a CPU-scale IEN step at 2 threads); any other length runs the same loop with `inner`.
  auto rowsOf = [&](auto len) {
    const int64_t L = len;
    parallel_for(rows, std::max<int64_t>(1, 65536 / L), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) {
        const float* xr = x + r * L;
        float* o = dx + r * L;
        const float m = y[r], g = dy[r];
        for (int64_t j = 0; j < L; j++) o[j] = g * (xr[j] == m ? 1.f : 0.f);  // g · 0: NaN for an infinite g, as tfjs
      }
    });
  };
  if (inner == 4) rowsOf(std::integral_constant<int64_t, 4>{});
  else if (inner == 2) rowsOf(std::integral_constant<int64_t, 2>{});
  else if (inner == 8) rowsOf(std::integral_constant<int64_t, 8>{});
  else rowsOf(inner);
  return undefined(env);
}

}  // namespace

namespace rtn {

void register_fused(napi_env env, napi_value exports) {
  struct Entry {
    const char* name;
    napi_callback fn;
  };
  const Entry entries[] = {
      {"adamUpdate", AdamUpdate},       {"sgdUpdate", SgdUpdate},     {"xcorr", XcorrForward},
      {"xcorrGrad", XcorrBackward},     {"bnTrain", BnTrainForward},  {"bnTrainGrad", BnTrainBackward},
      {"reluGrad", ReluGrad},           {"maxLast", MaxLast},         {"maxLastGrad", MaxLastGrad},
  };
  for (const Entry& e : entries) {
    napi_value fn;
    napi_create_function(env, e.name, NAPI_AUTO_LENGTH, e.fn, nullptr, &fn);
    napi_set_named_property(env, exports, e.name, fn);
  }
}

}  // namespace rtn
