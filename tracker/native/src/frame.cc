// A tracked frame's own arithmetic outside the network, threaded: the SiamFC search crops from a frame's RGB bytes and
// the bicubic upsampling of the response maps. Ports of tracker/engine/crop.ts (`cropPatchesInto`, byte frames) and
// tracker/engine/upsample.ts (`upsampleTapsRange`) that compute the same values bit for bit: the same double-precision
// expressions in the same order, float32 roundings at the same points, no fast-math — and no FMA contraction: GCC 12
// contracts a·b + c into one fused multiply-add under -march=native even in ISO C++ mode (kernels.o holds 132
// vfmadd), which changed upsampled values in the last bit; this file turns it off. Checked element by element in
// test/native/frame.test.ts.
//
// Why: on the onnx engine at 2 threads the JS crops and post-processing run on one thread beside onnxruntime's two —
// AlexNet crops 4.16 + locate 1.58 ms of a 50.88 ms frame, CPU scale 1.04 + 1.45 of 5.07 ms
// (scripts/profile-track-frame.ts).
#pragma GCC optimize("fp-contract=off")

#include <cmath>
#include <cstdint>
#include <vector>

#include "common.h"

namespace rtn {
namespace {

inline double* f64(napi_env env, napi_value v, int64_t need, const char* name) {
  return typed<double>(env, v, napi_float64_array, need, name);
}

// cropBytes(rgb: Uint8Array H·W·3, H, W, avg: Float32Array(3), boxes: Float64Array(4k) [y1, x1, y2, x2 per crop,
// tracker/siamfc/crop-box.ts], outSize, out: Float32Array k·outSize²·3). Rows of all crops split over the threads.
NATIVE_FN(CropBytes) {
  auto a = get_args(env, info, 7);
  const int64_t H = int64_t(number(env, a[1])), W = int64_t(number(env, a[2]));
  const int64_t S = int64_t(number(env, a[5]));
  if (H < 1 || W < 1 || S < 1) throw ArgError{"image and crop sizes must be positive"};
  const uint8_t* rgb = typed<uint8_t>(env, a[0], napi_uint8_array, H * W * 3, "rgb");
  const float* avg = f32(env, a[3], 3, "avgColor");
  const int64_t k = typed_length(env, a[4], "boxes") / 4;
  const double* boxes = f64(env, a[4], 4 * k, "boxes");
  float* out = f32(env, a[6], k * S * S * 3, "out");
  const float a0 = avg[0], a1 = avg[1], a2 = avg[2];
  // f32(v − a) for the 3 × 256 byte values, as doubles (crop.ts's table)
  double lut[768];
  for (int v = 0; v < 256; v++) {
    lut[v] = double(float(double(v) - double(a0)));
    lut[256 + v] = double(float(double(v) - double(a1)));
    lut[512 + v] = double(float(double(v) - double(a2)));
  }
  // per crop and output column: left / right source offsets (×3) and weight, or −1 outside the image
  std::vector<int64_t> left3(size_t(k * S)), right3(size_t(k * S));
  std::vector<double> xw(size_t(k * S));
  for (int64_t b = 0; b < k; b++) {
    const double x1 = boxes[4 * b + 1], x2 = boxes[4 * b + 3];
    const double ws = S > 1 ? ((x2 - x1) * double(W - 1)) / double(S - 1) : 0;
    for (int64_t x = 0; x < S; x++) {
      const double xi = S > 1 ? x1 * double(W - 1) + double(x) * ws : 0.5 * (x1 + x2) * double(W - 1);
      const size_t c = size_t(b * S + x);
      if (xi < 0 || xi > double(W - 1)) {
        left3[c] = -1;
        continue;
      }
      const double left = std::floor(xi);
      left3[c] = int64_t(left) * 3;
      right3[c] = int64_t(std::ceil(xi)) * 3;
      xw[c] = xi - left;
    }
  }
  parallel_for(k * S, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t b = r / S, y = r % S;
      const double y1 = boxes[4 * b], y2 = boxes[4 * b + 2];
      const double hs = S > 1 ? ((y2 - y1) * double(H - 1)) / double(S - 1) : 0;
      const double yi = S > 1 ? y1 * double(H - 1) + double(y) * hs : 0.5 * (y1 + y2) * double(H - 1);
      float* o = out + r * S * 3;
      if (yi < 0 || yi > double(H - 1)) {
        for (int64_t x = 0; x < S; x++, o += 3) {
          o[0] = a0;
          o[1] = a1;
          o[2] = a2;
        }
        continue;
      }
      const double top = std::floor(yi);
      const int64_t rowT = int64_t(top) * W * 3, rowB = int64_t(std::ceil(yi)) * W * 3;
      const double yl = yi - top;
      const int64_t* L = left3.data() + b * S;
      const int64_t* R = right3.data() + b * S;
      const double* XL = xw.data() + b * S;
      for (int64_t x = 0; x < S; x++, o += 3) {
        const int64_t l3 = L[x];
        if (l3 < 0) {
          o[0] = a0;
          o[1] = a1;
          o[2] = a2;
          continue;
        }
        const int64_t r3 = R[x];
        const double xl = XL[x];
        for (int c = 0; c < 3; c++) {
          const double* t256 = lut + 256 * c;
          const double vtl = t256[rgb[rowT + l3 + c]], vtr = t256[rgb[rowT + r3 + c]];
          const double vbl = t256[rgb[rowB + l3 + c]], vbr = t256[rgb[rowB + r3 + c]];
          const double t = vtl + (vtr - vtl) * xl;
          const double bo = vbl + (vbr - vbl) * xl;
          const float ac = c == 0 ? a0 : c == 1 ? a1 : a2;
          o[c] = float(double(float(t + (bo - t) * yl)) + double(ac));
        }
      }
    }
  });
  return undefined(env);
}

// upsampleMaps(maps: Float32Array k·n², k, n, u, start: Int32Array(u+1), index: Int32Array, weight: Float64Array,
// out: Float64Array k·u², minMax: Float64Array 2k). M · R · Mᵀ of each n × n map with M's non-zero taps (upsample.ts
// ResizeTaps: per row, ascending columns), every sum from 0 in ascending column order; one map per thread.
NATIVE_FN(UpsampleMaps) {
  auto a = get_args(env, info, 9);
  const int64_t k = int64_t(number(env, a[1])), n = int64_t(number(env, a[2])), u = int64_t(number(env, a[3]));
  if (k < 1 || n < 1 || u < 1) throw ArgError{"map count and sizes must be positive"};
  const float* maps = f32(env, a[0], k * n * n, "maps");
  const int32_t* start = typed<int32_t>(env, a[4], napi_int32_array, u + 1, "start");
  const int64_t nnz = start[u];
  if (start[0] != 0 || nnz < 0) throw ArgError{"start: must begin at 0"};
  for (int64_t i = 0; i < u; i++) {
    if (start[i + 1] < start[i]) throw ArgError{"start: must not decrease"};
  }
  const int32_t* index = typed<int32_t>(env, a[5], napi_int32_array, nnz, "index");
  const double* weight = f64(env, a[6], nnz, "weight");
  for (int64_t t = 0; t < nnz; t++) {
    if (index[t] < 0 || index[t] >= n) throw ArgError{"index: tap column out of range"};
  }
  double* out = f64(env, a[7], k * u * u, "out");
  double* minMax = f64(env, a[8], 2 * k, "minMax");
  parallel_for(k, 1, [&](int64_t m0, int64_t m1) {
    std::vector<double> tmp(size_t(u * n));
    for (int64_t m = m0; m < m1; m++) {
      const float* map = maps + m * n * n;
      std::fill(tmp.begin(), tmp.end(), 0.0);
      for (int64_t i = 0; i < u; i++) {
        double* row = tmp.data() + i * n;
        for (int64_t t = start[i]; t < start[i + 1]; t++) {
          const double w = weight[t];
          const float* src = map + int64_t(index[t]) * n;
          for (int64_t j = 0; j < n; j++) row[j] += w * double(src[j]);
        }
      }
      double* res = out + m * u * u;
      double lo = INFINITY, hi = -INFINITY;
      for (int64_t i = 0; i < u; i++) {
        const double* row = tmp.data() + i * n;
        for (int64_t j = 0; j < u; j++) {
          double s = 0;
          for (int64_t t = start[j]; t < start[j + 1]; t++) s += row[index[t]] * weight[t];
          res[i * u + j] = s;
          if (s < lo) lo = s;
          if (s > hi) hi = s;
        }
      }
      minMax[2 * m] = lo;
      minMax[2 * m + 1] = hi;
    }
  });
  return undefined(env);
}

}  // namespace

void register_frame(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "cropBytes", NAPI_AUTO_LENGTH, CropBytes, nullptr, &fn);
  napi_set_named_property(env, exports, "cropBytes", fn);
  napi_create_function(env, "upsampleMaps", NAPI_AUTO_LENGTH, UpsampleMaps, nullptr, &fn);
  napi_set_named_property(env, exports, "upsampleMaps", fn);
}

}  // namespace rtn
