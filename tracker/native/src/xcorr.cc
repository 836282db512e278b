// The SiamFC cross-correlation head on the onnx engine: response[n, t] = outScale · Σ_c features[n, c] ⋆ kernel[t, c]
// (valid, stride 1) — what the search model's last Conv did inside onnxruntime. There it is a Conv whose weight is a
// graph input, which onnxruntime's blocked (NCHWc) path does not take: it ran im2col + a one-row GEMM, 0.47 ms of a
// 2.7 ms CPU-scale search run for 2.7 M multiply-adds (ORT profile, reports/engines/README.md "Session 12").
// Here as one GEMM and a shift-add: G[(i, j), p] = Σ_c kernel[t, c, i, j] · features[n, c, p] for every feature
// position p (hw × C times C × HW, the add-on's sgemm, column blocks over the threads), then
// response[y, x] = Σ_(i, j) G[(i, j), (y + i)·W + x + j]. The GEMM does ~HW / ((H−h+1)(W−w+1)) times the multiply-adds
// of the direct sum (1.8× at CPU scale) at GEMM speed; a direct loop ran at 7.5 GFLOP/s. Float32 throughout, like the
// GEMM it replaces: equal to onnxruntime's up to summation order (test/native/xcorr.test.ts).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "common.h"
#include "gemm.h"

namespace rtn {
namespace {

// headXcorr(features Float32Array N·C·H·W, kernel Float32Array T·C·h·w, dims Int32Array [N, C, H, W, T, h, w],
// outScale, out Float32Array N·T·(H−h+1)·(W−w+1)).
NATIVE_FN(HeadXcorr) {
  auto a = get_args(env, info, 5);
  const auto d = ints(env, a[2], 7, "dims");
  const int64_t N = d[0], C = d[1], H = d[2], W = d[3], T = d[4], h = d[5], w = d[6];
  if (N < 1 || C < 1 || T < 1 || h < 1 || w < 1) throw ArgError{"dims: counts and kernel sides must be positive"};
  if (H < h || W < w) throw ArgError{"dims: features smaller than the kernel"};
  const int64_t R = H - h + 1, Q = W - w + 1, HW = H * W, hw = h * w;
  const float* F = f32(env, a[0], N * C * HW, "features");
  const float* K = f32(env, a[1], T * C * hw, "kernel");
  const float scale = float(number(env, a[3]));
  float* out = f32(env, a[4], N * T * R * Q, "out");
  // G of every (n, t): hw × HW floats each, in a buffer the calling thread keeps between frames
  thread_local std::vector<float> g;
  if (g.size() < size_t(N * T * hw * HW)) g.resize(size_t(N * T * hw * HW));
  float* G = g.data();
  // column blocks: enough tasks for every thread, each a GEMM of ≥ ~64 columns
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(HW / 64, (g_threads + N * T - 1) / (N * T)));
  const int64_t cols = (HW + parts - 1) / parts;
  parallel_for(N * T * parts, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      const int64_t part = b % parts, nt = b / parts, t = nt % T, n = nt / T;
      const int64_t c0 = part * cols, c1 = std::min(HW, c0 + cols);
      if (c0 >= c1) continue;
      // G_nt[:, c0:c1] (hw × cols) = kernel_tᵀ (hw × C; stored C × hw) · features_n[:, c0:c1] (C × cols)
      sgemm(true, false, hw, c1 - c0, C, 1.f, K + t * C * hw, hw, F + n * C * HW + c0, HW, 0.f, G + nt * hw * HW + c0, HW);
    }
  });
  parallel_for(N * T * R, 8, [&](int64_t r0, int64_t r1) {
    std::vector<float> acc(static_cast<size_t>(Q));
    for (int64_t row = r0; row < r1; row++) {
      const int64_t y = row % R, nt = row / R;
      const float* gnt = G + nt * hw * HW;
      float* ac = acc.data();
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int64_t i = 0; i < h; i++) {
        for (int64_t j = 0; j < w; j++) {
          const float* src = gnt + (i * w + j) * HW + (y + i) * W + j;
          for (int64_t x = 0; x < Q; x++) ac[x] += src[x];
        }
      }
      float* o = out + row * Q;
      for (int64_t x = 0; x < Q; x++) o[x] = ac[x] * scale;
    }
  });
  return undefined(env);
}

}  // namespace

void register_xcorr(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "headXcorr", NAPI_AUTO_LENGTH, HeadXcorr, nullptr, &fn);
  napi_set_named_property(env, exports, "headXcorr", fn);
}

}  // namespace rtn
