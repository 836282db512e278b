// Shared pieces of the rot-track-native kernels (kernels.cc, fused.cc): the thread count and loop splitter, and the
// N-API argument helpers that check every typed array's type and length before any access.
#pragma once
#include <node_api.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "pool.h"

namespace rtn {

// Threads of the add-on's own loops (and OpenBLAS's pool): one value for every translation unit (C++17 inline variable).
inline int g_threads = 1;

// Runs fn(begin, end) over [0, n) split across g_threads threads (the caller runs one chunk, the pool of pool.h the
// others). `minPerThread` keeps tiny loops on one thread, where even a spinning worker's hand-off costs more than it saves.
template <typename F>
void parallel_for(int64_t n, int64_t minPerThread, F fn) {
  int64_t t = std::min<int64_t>(g_threads, std::max<int64_t>(1, n / std::max<int64_t>(1, minPerThread)));
  if (t <= 1 || n <= 1) {
    fn(int64_t(0), n);
    return;
  }
  const int64_t chunk = (n + t - 1) / t;
  auto part = [&](int64_t i) {
    const int64_t b = i * chunk, e = std::min(n, b + chunk);
    if (b < e) fn(b, e);
  };
  run_parts(t, part);
}

// ---------------------------------------------------------------------------------------------------------------
// N-API helpers

struct ArgError {
  std::string msg;
};

inline napi_value throw_error(napi_env env, const std::string& msg) {
  napi_throw_error(env, "ERR_ROT_TRACK_NATIVE", msg.c_str());
  return nullptr;
}

inline void check(napi_env env, napi_status s, const char* what) {
  if (s != napi_ok) throw ArgError{std::string("N-API call failed: ") + what};
}

inline std::vector<napi_value> get_args(napi_env env, napi_callback_info info, size_t expected) {
  size_t argc = expected;
  std::vector<napi_value> argv(expected);
  check(env, napi_get_cb_info(env, info, &argc, argv.data(), nullptr, nullptr), "get_cb_info");
  if (argc < expected) throw ArgError{"expected " + std::to_string(expected) + " arguments, got " + std::to_string(argc)};
  return argv;
}

inline bool is_null_or_undefined(napi_env env, napi_value v) {
  napi_valuetype t;
  check(env, napi_typeof(env, v, &t), "typeof");
  return t == napi_null || t == napi_undefined;
}

// Element count of a typed array argument.
inline int64_t typed_length(napi_env env, napi_value v, const char* name) {
  bool is;
  check(env, napi_is_typedarray(env, v, &is), "is_typedarray");
  if (!is) throw ArgError{std::string(name) + ": expected a typed array"};
  napi_typedarray_type type;
  size_t length;
  check(env, napi_get_typedarray_info(env, v, &type, &length, nullptr, nullptr, nullptr), "get_typedarray_info");
  return int64_t(length);
}

// A typed array argument of the given type with at least `need` elements.
template <typename T>
T* typed(napi_env env, napi_value v, napi_typedarray_type want, int64_t need, const char* name) {
  bool is;
  check(env, napi_is_typedarray(env, v, &is), "is_typedarray");
  if (!is) throw ArgError{std::string(name) + ": expected a typed array"};
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value ab;
  size_t offset;
  check(env, napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset), "get_typedarray_info");
  if (type != want) throw ArgError{std::string(name) + ": wrong typed array type"};
  if (need < 0 || int64_t(length) < need) {
    throw ArgError{std::string(name) + ": has " + std::to_string(length) + " elements, needs " + std::to_string(need)};
  }
  return static_cast<T*>(data);
}

inline float* f32(napi_env env, napi_value v, int64_t need, const char* name) {
  return typed<float>(env, v, napi_float32_array, need, name);
}

inline std::vector<int64_t> ints(napi_env env, napi_value v, size_t count, const char* name) {
  int32_t* p = typed<int32_t>(env, v, napi_int32_array, int64_t(count), name);
  std::vector<int64_t> out(count);
  for (size_t i = 0; i < count; i++) out[i] = p[i];
  return out;
}

inline double number(napi_env env, napi_value v) {
  double d;
  check(env, napi_get_value_double(env, v, &d), "get_value_double");
  return d;
}

inline napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

#define NATIVE_FN(name)                                                   \
  napi_value name##_impl(napi_env env, napi_callback_info info);           \
  napi_value name(napi_env env, napi_callback_info info) {                 \
    try {                                                                  \
      return name##_impl(env, info);                                       \
    } catch (const ArgError& e) {                                          \
      return throw_error(env, std::string(#name ": ") + e.msg);            \
    } catch (const std::exception& e) {                                    \
      return throw_error(env, std::string(#name ": ") + e.what());         \
    }                                                                      \
  }                                                                        \
  napi_value name##_impl(napi_env env, napi_callback_info info)

// Per-channel sums Σ a and Σ a·(b − shift[c]) over the rows of [rows, C] (b = a and shift = null: Σ a, Σ a²), in
// double; with `mask`, a counts only where mask > 0 (Relu's gradient applied on the fly). Threads take row blocks and
// add their partials in block order (deterministic for a thread count).
// v where y > 0, else +0 (Relu's gradient), branch-free: a ternary here compiled to a branch per element, which
// random signs mispredict half the time (a 40 MB BatchNorm gradient took 100 ms instead of 16).
inline float relu_pass(float v, float y) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  bits &= 0u - uint32_t(y > 0.f);
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

// One row's contribution to the sums (kMasked: a only where mask > 0); a separate loop per case, so each vectorises.
template <bool kMasked>
inline void channel_sums_row(const float* __restrict ar, const float* __restrict br, const float* __restrict mr,
                             const float* __restrict shift, int64_t C, double* __restrict p1, double* __restrict p2) {
  for (int64_t ch = 0; ch < C; ch++) {
    const float av = kMasked ? relu_pass(ar[ch], mr[ch]) : ar[ch];
    p1[ch] += av;
    p2[ch] += double(av) * (double(br[ch]) - double(shift[ch]));
  }
}

inline void channel_sums(const float* a, const float* b, const float* shift, int64_t rows, int64_t C, double* s1, double* s2,
                         const float* mask = nullptr) {
  const int64_t t = std::min<int64_t>(g_threads, std::max<int64_t>(1, rows * C / 65536));
  std::vector<std::vector<double>> part(size_t(t), std::vector<double>(size_t(2 * C), 0.0));
  std::vector<float> zero;
  if (!shift) {
    zero.assign(size_t(C), 0.f);
    shift = zero.data();
  }
  const int64_t chunk = (rows + t - 1) / t;
  parallel_for(t, 1, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; k++) {
      double* p1 = part[size_t(k)].data();
      double* p2 = p1 + C;
      for (int64_t r = k * chunk; r < std::min(rows, (k + 1) * chunk); r++) {
        if (mask) channel_sums_row<true>(a + r * C, b + r * C, mask + r * C, shift, C, p1, p2);
        else channel_sums_row<false>(a + r * C, b + r * C, nullptr, shift, C, p1, p2);
      }
    }
  });
  for (int64_t ch = 0; ch < C; ch++) {
    double v1 = 0, v2 = 0;
    for (int64_t k = 0; k < t; k++) {
      v1 += part[size_t(k)][size_t(ch)];
      v2 += part[size_t(k)][size_t(C + ch)];
    }
    s1[ch] = v1;
    s2[ch] = v2;
  }
}

// Adds the fused training-step kernels (fused.cc) to the module exports.
void register_fused(napi_env env, napi_value exports);
// frame.cc: a tracked frame's crops and response upsampling.
void register_frame(napi_env env, napi_value exports);
// xcorr.cc: SiamFC's cross-correlation head.
void register_xcorr(napi_env env, napi_value exports);
// net.cc: a plain backbone as one chain of oneDNN primitives (oneDNN builds only).
void register_net(napi_env env, napi_value exports);

}  // namespace rtn
