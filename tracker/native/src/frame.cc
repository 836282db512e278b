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
// ResizeTaps: per row, ascending columns), every sum from 0 in ascending column order.
// The output rows of all maps are split over the threads (one map per thread left a thread idle with 3 maps on 2).
// Each output row: its n values of M · R (the row's taps over the map's rows), then the columns eight at a time: for
// each source column q in the eight columns' joint tap window, ascending, s += tmp[q] · w(q, column) with w = 0 where
// q is not one of that column's taps. Adding the exact zero products (finite × 0) leaves every sum as it was — the
// argument upsample.ts makes for skipping them — so the values equal the JavaScript's bit for bit; a row whose M · R
// values are not all finite takes the tap-by-tap loop instead, where that argument does not hold.
constexpr int64_t kLanes = 8;

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
  for (int64_t i = 0; i < u; i++) {
    for (int64_t t = start[i] + 1; t < start[i + 1]; t++) {
      if (index[t] <= index[t - 1]) throw ArgError{"index: a row's tap columns must ascend"};
    }
  }
  double* out = f64(env, a[7], k * u * u, "out");
  double* minMax = f64(env, a[8], 2 * k, "minMax");
  // the column blocks' tap windows [lo, lo + len) and their weights, lane by lane (zero where no tap)
  const int64_t blocks = (u + kLanes - 1) / kLanes;
  const size_t nb = static_cast<size_t>(blocks);
  std::vector<int64_t> lo(nb), len(nb), off(nb);
  int64_t total = 0;
  for (int64_t b = 0; b < blocks; b++) {
    int64_t l = n, h = -1;
    for (int64_t j = b * kLanes; j < std::min(u, (b + 1) * kLanes); j++) {
      if (start[j + 1] > start[j]) {
        l = std::min<int64_t>(l, index[start[j]]);
        h = std::max<int64_t>(h, index[start[j + 1] - 1]);
      }
    }
    lo[size_t(b)] = h < 0 ? 0 : l;
    len[size_t(b)] = h < 0 ? 0 : h - l + 1;
    off[size_t(b)] = total;
    total += len[size_t(b)] * kLanes;
  }
  std::vector<double> wt(size_t(total), 0.0);
  for (int64_t b = 0; b < blocks; b++) {
    for (int64_t j = b * kLanes; j < std::min(u, (b + 1) * kLanes); j++) {
      for (int64_t t = start[j]; t < start[j + 1]; t++) {
        wt[size_t(off[size_t(b)] + (index[t] - lo[size_t(b)]) * kLanes + (j - b * kLanes))] = weight[t];
      }
    }
  }
  // per output row: its smallest and largest value (merged per map below)
  std::vector<double> rowMin(size_t(k * u)), rowMax(size_t(k * u));
  parallel_for(k * u, 16, [&](int64_t r0, int64_t r1) {
    std::vector<double> tmp(static_cast<size_t>(n));
    double blk[kLanes];
    for (int64_t r = r0; r < r1; r++) {
      const int64_t m = r / u, i = r % u;
      const float* map = maps + m * n * n;
      std::fill(tmp.begin(), tmp.end(), 0.0);
      double* row = tmp.data();
      for (int64_t t = start[i]; t < start[i + 1]; t++) {
        const double w = weight[t];
        const float* src = map + int64_t(index[t]) * n;
        for (int64_t j = 0; j < n; j++) row[j] += w * double(src[j]);
      }
      bool finite = true;
      for (int64_t j = 0; j < n; j++) finite = finite && std::isfinite(row[j]);
      double* res = out + m * u * u + i * u;
      double mn = INFINITY, mx = -INFINITY;
      if (!finite) {
        for (int64_t j = 0; j < u; j++) {
          double s = 0;
          for (int64_t t = start[j]; t < start[j + 1]; t++) s += row[index[t]] * weight[t];
          res[j] = s;
          if (s < mn) mn = s;
          if (s > mx) mx = s;
        }
      } else {
        double lmn[kLanes], lmx[kLanes];
        for (int64_t l = 0; l < kLanes; l++) {
          lmn[l] = INFINITY;
          lmx[l] = -INFINITY;
        }
        for (int64_t b = 0; b < blocks; b++) {
          for (int64_t l = 0; l < kLanes; l++) blk[l] = 0;
          const double* w = wt.data() + off[size_t(b)];
          const double* src = row + lo[size_t(b)];
          for (int64_t q = 0; q < len[size_t(b)]; q++) {
            const double v = src[q];
            for (int64_t l = 0; l < kLanes; l++) blk[l] += v * w[q * kLanes + l];
          }
          const int64_t j0 = b * kLanes;
          if (j0 + kLanes <= u) {
            for (int64_t l = 0; l < kLanes; l++) {
              res[j0 + l] = blk[l];
              lmn[l] = blk[l] < lmn[l] ? blk[l] : lmn[l];
              lmx[l] = blk[l] > lmx[l] ? blk[l] : lmx[l];
            }
          } else {
            for (int64_t l = 0; j0 + l < u; l++) {
              res[j0 + l] = blk[l];
              lmn[l] = blk[l] < lmn[l] ? blk[l] : lmn[l];
              lmx[l] = blk[l] > lmx[l] ? blk[l] : lmx[l];
            }
          }
        }
        for (int64_t l = 0; l < kLanes; l++) {
          if (lmn[l] < mn) mn = lmn[l];
          if (lmx[l] > mx) mx = lmx[l];
        }
      }
      rowMin[size_t(r)] = mn;
      rowMax[size_t(r)] = mx;
    }
  });
  for (int64_t m = 0; m < k; m++) {
    double mn = INFINITY, mx = -INFINITY;
    for (int64_t i = 0; i < u; i++) {
      if (rowMin[size_t(m * u + i)] < mn) mn = rowMin[size_t(m * u + i)];
      if (rowMax[size_t(m * u + i)] > mx) mx = rowMax[size_t(m * u + i)];
    }
    minMax[2 * m] = mn;
    minMax[2 * m + 1] = mx;
  }
  return undefined(env);
}

// finishMap(map: Float64Array u², penalty, min, hann: Float64Array u², windowInfluence) → index of the peak.
// SiamFCCore.locate's last two passes on the chosen map, in place, bit for bit: v = map·penalty − min (map − min when
// penalty is 1), summed in index order; then v = (1 − wi)·(v / (sum + 1e-16)) + wi·hann, and the first index of the
// largest v (NaNs never win; 0 when every value is NaN). The sum stays serial (its order is its value); the second
// pass and the peak search run eight lanes wide.
NATIVE_FN(FinishMap) {
  auto a = get_args(env, info, 5);
  const int64_t len = typed_length(env, a[0], "map");
  double* map = f64(env, a[0], len, "map");
  const double penalty = number(env, a[1]), mn = number(env, a[2]);
  const double* hann = f64(env, a[3], len, "hann");
  const double wi = number(env, a[4]);
  double sum = 0;
  if (penalty != 1) {
    for (int64_t i = 0; i < len; i++) sum += map[i] = map[i] * penalty - mn;
  } else {
    for (int64_t i = 0; i < len; i++) sum += map[i] -= mn;
  }
  const double keep = 1 - wi, denom = sum + 1e-16;
  for (int64_t i = 0; i < len; i++) map[i] = keep * (map[i] / denom) + wi * hann[i];
  double lane[kLanes];
  for (int64_t l = 0; l < kLanes; l++) lane[l] = -INFINITY;
  const int64_t full = len - len % kLanes;
  for (int64_t i = 0; i < full; i += kLanes) {
    for (int64_t l = 0; l < kLanes; l++) lane[l] = map[i + l] > lane[l] ? map[i + l] : lane[l];
  }
  double top = -INFINITY;
  for (int64_t l = 0; l < kLanes; l++) top = lane[l] > top ? lane[l] : top;
  for (int64_t i = full; i < len; i++) top = map[i] > top ? map[i] : top;
  int64_t loc = 0;
  if (top > -INFINITY) {
    while (loc < len && !(map[loc] == top)) loc++;
  }
  napi_value r;
  napi_create_double(env, double(loc), &r);
  return r;
}

}  // namespace

void register_frame(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "cropBytes", NAPI_AUTO_LENGTH, CropBytes, nullptr, &fn);
  napi_set_named_property(env, exports, "cropBytes", fn);
  napi_create_function(env, "upsampleMaps", NAPI_AUTO_LENGTH, UpsampleMaps, nullptr, &fn);
  napi_set_named_property(env, exports, "upsampleMaps", fn);
  napi_create_function(env, "finishMap", NAPI_AUTO_LENGTH, FinishMap, nullptr, &fn);
  napi_set_named_property(env, exports, "finishMap", fn);
}

}  // namespace rtn
