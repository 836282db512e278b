// rot-track-native: BLAS-backed CPU kernels for TensorFlow.js tensors (NHWC, float32).
//
// Every entry point works in place on JS Float32Arrays (the cpu backend's tensor storage): inputs are read and the
// output array, allocated on the JS side, is written. No copies cross the N-API boundary. Shapes and conv geometry
// come in an Int32Array `p`; every array length is checked against what the geometry needs before any access.
//
// Convolutions are im2col + sgemm over blocks of output rows (Conv::blockRows: ~512 rows, a block of the column
// matrix stays in the core's L2 between im2col writing it and sgemm reading it); 1x1 / stride 1 / no padding convs skip
// im2col; in a oneDNN build, oneDNN's own conv primitives take what dnnl_conv.h says (by default ungrouped forward).
// The input gradient is sgemm into a column block followed by col2im of its rows (each column row added back where
// im2col read it; threads own whole images). The filter gradient accumulates col^T · dy over blocks (beta = 1
// after the first). Pooling loops are plain C++, threaded over rows.
// Threads: OpenBLAS always runs single-threaded; every GEMM with enough rows is split into row blocks over the
// add-on's own threads (split_rows). OpenBLAS's own 2-thread GEMMs made a CPU-scale training step slower than 1 thread
// (104 vs 88 ms): its workers spin after a call and competed with the add-on's threads on 2 cores.
#include <node_api.h>

#include "gemm.h"
#ifdef ROT_TRACK_ACCELERATE
// Accelerate sizes its own thread pool; these keep the OpenBLAS calls below portable.
static void openblas_set_num_threads(int) {}
static const char* openblas_get_config() { return "Accelerate"; }
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "common.h"
#include "dnnl_conv.h"

namespace {

using namespace rtn;

// Upper bound of one thread's im2col block (floats): 16 Mi by default; setScratchLimit() changes it (tests shrink it
// to one row per block to exercise the block loops on small shapes). Each thread has its own block buffer.
int64_t kScratchFloats = int64_t(16) << 20;
// thread_local: two JS threads (the OPE evaluation's worker_threads) may run convs at once; each has its own buffers.
thread_local std::vector<std::vector<float>> g_scratch;

// One buffer of n floats per thread index [0, t), sized here in the calling thread before any thread starts.
std::vector<float*> scratch_buffers(int64_t t, int64_t n) {
  if (int64_t(g_scratch.size()) < t) g_scratch.resize(size_t(t));
  std::vector<float*> out(static_cast<size_t>(t), nullptr);
  for (int64_t i = 0; i < t; i++) {
    auto& v = g_scratch[size_t(i)];
    if (int64_t(v.size()) < n) {
      v.clear();
      v.shrink_to_fit();
      v.resize(size_t(n));
    }
    out[size_t(i)] = v.data();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Conv geometry: p = [B, inH, inW, C, outH, outW, OC, KH, KW, sh, sw, dh, dw, padTop, padLeft(, groups)]. C and OC
// in p are the tensors' channel counts; with groups G (AlexNet's two-GPU split: default 1) input channels
// [g·C/G, (g+1)·C/G) feed output channels [g·OC/G, (g+1)·OC/G) through filter columns of the same range, and the filter
// is [KH, KW, C/G, OC] as tfjs lays out a grouped conv's weights. In the struct C and OC are per group, CS and OS the
// tensors' channel strides.

struct Conv {
  int64_t B, H, W, C, OH, OW, OC, KH, KW, sh, sw, dh, dw, pt, pl, G, CS, OS;
  int64_t K() const { return KH * KW * C; }
  int64_t xSize() const { return B * H * W * CS; }
  int64_t ySize() const { return B * OH * OW * OS; }
  int64_t wSize() const { return K() * OS; }
  bool pointwise() const {
    return G == 1 && KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && OH == H && OW == W;
  }
  // Output rows per im2col block: 512, or more when K is small (≥ 128 Ki floats a block, so a 3×3×3 conv does not
  // call sgemm for every few rows), within the scratch bound. Measured on AlexNet's search-branch convs (1 thread, a
  // standalone harness): conv1 (K 363) forward 85 → 53 ms and filter gradient 77 → 50 ms against im2col of the whole
  // batch then one sgemm, conv2 (K 1,200) 65 → 47 and 62 → 46 ms; 128–2,048-row blocks were all within ~10%.
  int64_t blockRows() const {
    const int64_t k = std::max<int64_t>(1, K());
    return std::max<int64_t>(1, std::min(std::max<int64_t>(512, 131072 / k), kScratchFloats / k));
  }
};

Conv conv_from(napi_env env, napi_value v) {
  const bool grouped = typed_length(env, v, "params") >= 16;
  auto p = ints(env, v, grouped ? 16 : 15, "params");
  const int64_t G = grouped ? p[15] : 1;
  for (int i = 0; i < 13; i++) {
    if (p[i] <= 0) throw ArgError{"conv params must be positive (index " + std::to_string(i) + ")"};
  }
  if (G < 1 || p[3] % G != 0 || p[6] % G != 0) {
    throw ArgError{"conv groups " + std::to_string(G) + " must divide the input channels (" + std::to_string(p[3]) +
                   ") and the output channels (" + std::to_string(p[6]) + ")"};
  }
  Conv c{p[0], p[1], p[2], p[3] / G, p[4], p[5], p[6] / G, p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14],
         G, p[3], p[6]};
  return c;
}

// Rows [r0, r1) of group g's im2col matrix of the batch `x` (row = (b, oh, ow)), written to col[0 .. (r1 − r0)·K).
void im2col_rows(const Conv& c, const float* x, float* col, int64_t r0, int64_t r1, int64_t g) {
  const int64_t K = c.K(), rowLen = c.KW * c.C;
  for (int64_t r = r0; r < r1; r++) {
    const int64_t b = r / (c.OH * c.OW), rem = r % (c.OH * c.OW), oh = rem / c.OW, ow = rem % c.OW;
    float* dst = col + (r - r0) * K;
    const float* img = x + b * c.H * c.W * c.CS + g * c.C;
    for (int64_t kh = 0; kh < c.KH; kh++) {
      const int64_t ih = oh * c.sh - c.pt + kh * c.dh;
      float* d = dst + kh * rowLen;
      if (ih < 0 || ih >= c.H) {
        std::memset(d, 0, sizeof(float) * size_t(rowLen));
        continue;
      }
      const float* srcRow = img + ih * c.W * c.CS;
      const int64_t iw0 = ow * c.sw - c.pl;
      if (c.G == 1 && c.dw == 1 && iw0 >= 0 && iw0 + c.KW <= c.W) {
        std::memcpy(d, srcRow + iw0 * c.C, sizeof(float) * size_t(rowLen));
        continue;
      }
      for (int64_t kw = 0; kw < c.KW; kw++) {
        const int64_t iw = iw0 + kw * c.dw;
        if (iw < 0 || iw >= c.W) std::memset(d + kw * c.C, 0, sizeof(float) * size_t(c.C));
        else std::memcpy(d + kw * c.C, srcRow + iw * c.CS, sizeof(float) * size_t(c.C));
      }
    }
  }
}

// Adds group g's column rows [r0, r1) (col[0 .. (r1 − r0)·K)) back into dx where im2col read them, kernel row by kernel row —
// with dilation 1 and the window inside the image, one contiguous add of KW·C floats (the mirror of im2col's memcpy).
// The column block is read sequentially and only the KH image rows under the window are written, so both stay in
// cache; the per-input-pixel gather this replaced read the column matrix with a stride of K floats and ran at a
// quarter of the forward conv's speed (AlexNet's Conv2DBackpropInput). The caller zeroes dx first; a thread owns whole
// images, so no two threads write one element.
void col2im_rows(const Conv& c, const float* __restrict col, float* __restrict dx, int64_t r0, int64_t r1,
                 int64_t g) {
  const int64_t K = c.K(), rowLen = c.KW * c.C, img = c.H * c.W * c.CS;
  for (int64_t r = r0; r < r1; r++) {
    const int64_t b = r / (c.OH * c.OW), rem = r % (c.OH * c.OW), oh = rem / c.OW, ow = rem % c.OW;
    float* dimg = dx + b * img + g * c.C;
    const float* src = col + (r - r0) * K;
    const int64_t iw0 = ow * c.sw - c.pl;
    const bool inside = c.G == 1 && c.dw == 1 && iw0 >= 0 && iw0 + c.KW <= c.W;
    for (int64_t kh = 0; kh < c.KH; kh++) {
      const int64_t ih = oh * c.sh - c.pt + kh * c.dh;
      if (ih < 0 || ih >= c.H) continue;
      float* __restrict drow = dimg + ih * c.W * c.CS;
      const float* __restrict s = src + kh * rowLen;
      if (inside) {
        float* __restrict d = drow + iw0 * c.C;
        for (int64_t j = 0; j < rowLen; j++) d[j] += s[j];
        continue;
      }
      for (int64_t kw = 0; kw < c.KW; kw++) {
        const int64_t iw = iw0 + kw * c.dw;
        if (iw < 0 || iw >= c.W) continue;
        float* __restrict d = drow + iw * c.CS;
        const float* __restrict sk = s + kw * c.C;
        for (int64_t ch = 0; ch < c.C; ch++) d[ch] += sk[ch];
      }
    }
  }
}

// Activation codes shared with native-backend.ts.
enum Act { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3 };

// y ← act(y + bias) on rows [a, b) of a row-major [rows, n] matrix.
void bias_act_rows(float* y, int64_t a, int64_t b, int64_t n, const float* bias, int act, float alpha) {
  if (bias == nullptr && act == kLinear) return;
  for (int64_t r = a; r < b; r++) {
    float* row = y + r * n;
    if (bias) for (int64_t j = 0; j < n; j++) row[j] += bias[j];
    switch (act) {
      case kRelu:
        for (int64_t j = 0; j < n; j++) row[j] = row[j] < 0.f ? 0.f : row[j];
        break;
      case kRelu6:
        for (int64_t j = 0; j < n; j++) row[j] = std::min(6.f, std::max(0.f, row[j]));
        break;
      case kLeakyRelu:
        for (int64_t j = 0; j < n; j++) row[j] = row[j] < 0.f ? alpha * row[j] : row[j];
        break;
      default:
        break;
    }
  }
}

void bias_act(float* y, int64_t rows, int64_t n, const float* bias, int act, float alpha) {
  if (bias == nullptr && act == kLinear) return;
  parallel_for(rows, 1024, [&](int64_t a, int64_t b) { bias_act_rows(y, a, b, n, bias, act, alpha); });
}

// Row-split GEMMs. OpenBLAS threads one GEMM by itself, but on the skinny GEMMs of small convs (M = B·H·W rows,
// N = 24–96 output channels) its 2 threads were slower than 1 (a CPU-scale training step: 104 ms at 2 threads, 88 at
// 1). With g_threads > 1 and enough rows, each of our threads instead takes a contiguous block of rows — im2col of
// those rows and a single-threaded sgemm on them — OpenBLAS itself always runs at 1 thread. Each output element is
// still one dot product over K (only OpenBLAS's blocking of it may differ), except the filter gradient, whose
// per-thread partials over rows are added at the end; the tests compare with the cpu kernels at 1e-4 relative.
constexpr int64_t kMinRowsPerThread = 512;

int64_t row_threads(int64_t rows) {
  return std::min<int64_t>(g_threads, std::max<int64_t>(1, rows / kMinRowsPerThread));
}

// Runs fn(r0, r1, block) over t row blocks on the worker pool (pool.h; the caller runs one). `block` indexes the
// per-thread scratch buffers: each block runs on exactly one thread.
template <typename F>
void split_rows(int64_t rows, int64_t t, F fn) {
  const int64_t chunk = (rows + t - 1) / t;
  auto part = [&](int64_t i) {
    const int64_t b = i * chunk, e = std::min(rows, b + chunk);
    if (b < e) fn(b, e, i);
  };
  run_parts(t, part);
}

// C (M × N, leading dimension ldc) = op(A) · op(B), the rows of C split over our threads (split_rows): a row block of
// op(A) starts at A + r0 (transposed A: a column offset) or A + r0·lda.
void sgemm_rows(bool tA, bool tB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                int64_t ldb, float* C, int64_t ldc) {
  auto run = [&](int64_t r0, int64_t r1, int64_t) {
    sgemm(tA, tB, r1 - r0, N, K, 1.f, tA ? A + r0 : A + r0 * lda, lda, B, ldb, 0.f, C + r0 * ldc, ldc);
  };
  const int64_t t = row_threads(M);
  if (t > 1) split_rows(M, t, run);
  else run(0, M, 0);
}

// The oneDNN conv primitives (dnnl_conv.h) take non-pointwise convs (grouped ones too) when the build has them and they
// are switched on, with the batch split over the add-on's threads into t = min(threads, B) equal parts of whole images,
// each one single-threaded primitive; a batch that does not split evenly (or is smaller than the thread count) keeps
// the im2col path and its row split. Returns the plan of one part (all parts share it), or null for im2col — also when
// oneDNN has no kernel for the geometry (dnnl::error, thrown before any output is written). `parts` gets t.
#ifdef ROT_TRACK_DNNL
const DnnlPlan* dnnl_plan(const Conv& c, DnnlConvs::Kind kind, bool bias, int act, float alpha, int64_t& parts) {
  const int bit = kind == DnnlConvs::kForward ? 1 : kind == DnnlConvs::kBackwardData ? 2 : 4;
  if (!(dnnl_conv_mask() & bit) || c.pointwise()) return nullptr;
  parts = std::min<int64_t>(g_threads, c.B);
  if (c.B % parts != 0 || (g_threads > 1 && parts == 1)) return nullptr;
  const DConv d{c.B / parts, c.H, c.W, c.C, c.OH, c.OW, c.OC, c.KH, c.KW, c.sh, c.sw, c.dh, c.dw, c.pt, c.pl, c.G};
  if (!d.supported()) return nullptr;
  try {
    const DnnlPlan& p = DnnlConvs::plan(kind, d, bias, act, alpha);
    // oneDNN 2.6's direct input-gradient kernel on few input channels is far slower than im2col (AlexNet's conv1, 3
    // channels, batch 8, 2 threads, scripts/bench-native-convs.ts: 114.6 against 25.5 ms): those stay on im2col
    if (kind == DnnlConvs::kBackwardData && !p.wino && c.C < 16) return nullptr;
    return &p;
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

// Runs f(part, b0) for the t parts of the batch (images [b0, b0 + B / t)) on the pool. False when a part threw
// dnnl::error: the caller then runs the im2col path, which writes every output element again.
template <typename F>
bool dnnl_run(const Conv& c, int64_t t, F f) {
  std::atomic<bool> ok{true};
  auto part = [&](int64_t p, int64_t b0) {
    try {
      f(p, b0);
    } catch (const dnnl::error&) {
      ok = false;
    }
  };
  if (t == 1) part(0, 0);
  else split_rows(c.B, t, [&](int64_t b0, int64_t, int64_t p) { part(p, b0); });
  return ok;
}
#endif

// conv2d(x, w, y, params, bias|null, act, alpha). Threads take contiguous row ranges (split_rows); each walks its
// range in blocks: im2col of the block into its own buffer, sgemm into the block's output rows, bias and activation
// while those rows are still in cache.
NATIVE_FN(Conv2D) {
  auto a = get_args(env, info, 7);
  Conv c = conv_from(env, a[3]);
  const float* x = f32(env, a[0], c.xSize(), "x");
  const float* w = f32(env, a[1], c.wSize(), "filter");
  float* y = f32(env, a[2], c.ySize(), "y");
  const float* bias = is_null_or_undefined(env, a[4]) ? nullptr : f32(env, a[4], c.OS, "bias");
  int act = int(number(env, a[5]));
  float alpha = float(number(env, a[6]));
#ifdef ROT_TRACK_DNNL
  int64_t parts = 1;
  if (const DnnlPlan* p = dnnl_plan(c, DnnlConvs::kForward, bias != nullptr, act, alpha, parts)) {
    const float* wp = nullptr;
    if (dnnl_run(c, 1, [&](int64_t, int64_t) { wp = DnnlConvs::weights_for(*p, w); }) &&
        dnnl_run(c, parts, [&](int64_t, int64_t b0) {
          DnnlConvs::forward(*p, x + b0 * c.H * c.W * c.CS, wp, y + b0 * c.OH * c.OW * c.OS, bias);
        })) {
      return undefined(env);
    }
  }
#endif
  const int64_t K = c.K(), M = c.B * c.OH * c.OW;
  if (c.pointwise()) {
    sgemm_rows(false, false, M, c.OC, K, x, K, w, c.OC, y, c.OC);
    bias_act(y, M, c.OC, bias, act, alpha);
    return undefined(env);
  }
  const int64_t RB = c.blockRows(), t = row_threads(M);
  const std::vector<float*> bufs = scratch_buffers(t, RB * K);
  auto run = [&](int64_t r0, int64_t r1, int64_t ti) {
    float* col = bufs[size_t(ti)];
    for (int64_t b = r0; b < r1; b += RB) {
      const int64_t e = std::min(r1, b + RB);
      for (int64_t g = 0; g < c.G; g++) {
        im2col_rows(c, x, col, b, e, g);
        sgemm(false, false, e - b, c.OC, K, 1.f, col, K, w + g * c.OC, c.OS, 0.f, y + b * c.OS + g * c.OC, c.OS);
      }
      bias_act_rows(y, b, e, c.OS, bias, act, alpha);
    }
  };
  if (t > 1) split_rows(M, t, run);
  else run(0, M, 0);
  return undefined(env);
}

// conv2dBackpropInput(dy, w, dx, params). Threads own whole images (col2im adds into overlapping windows); each zeroes
// its images' dx, then per row block: sgemm dy·wᵀ into its column buffer, col2im of those rows.
NATIVE_FN(Conv2DBackpropInput) {
  auto a = get_args(env, info, 4);
  Conv c = conv_from(env, a[3]);
  const float* dy = f32(env, a[0], c.ySize(), "dy");
  const float* w = f32(env, a[1], c.wSize(), "filter");
  float* dx = f32(env, a[2], c.xSize(), "dx");
#ifdef ROT_TRACK_DNNL
  int64_t parts = 1;
  if (const DnnlPlan* p = dnnl_plan(c, DnnlConvs::kBackwardData, false, 0, 0.f, parts)) {
    const float* wp = nullptr;
    if (dnnl_run(c, 1, [&](int64_t, int64_t) { wp = DnnlConvs::weights_for(*p, w); }) &&
        dnnl_run(c, parts, [&](int64_t, int64_t b0) {
          DnnlConvs::backward_data(*p, dy + b0 * c.OH * c.OW * c.OS, wp, dx + b0 * c.H * c.W * c.CS);
        })) {
      return undefined(env);
    }
  }
#endif
  const int64_t K = c.K(), M1 = c.OH * c.OW;
  if (c.pointwise()) {
    sgemm_rows(false, true, c.B * M1, c.C, c.OC, dy, c.OC, w, c.OC, dx, c.C);
    return undefined(env);
  }
  const int64_t RB = c.blockRows(), img = c.H * c.W * c.CS;
  const int64_t t = std::min<int64_t>(c.B, row_threads(c.B * M1));
  const std::vector<float*> bufs = scratch_buffers(t, RB * K);
  auto run = [&](int64_t i0, int64_t i1, int64_t ti) {
    float* col = bufs[size_t(ti)];
    std::memset(dx + i0 * img, 0, sizeof(float) * size_t((i1 - i0) * img));
    for (int64_t b = i0 * M1, end = i1 * M1; b < end; b += RB) {
      const int64_t e = std::min(end, b + RB);
      for (int64_t g = 0; g < c.G; g++) {
        sgemm(false, true, e - b, K, c.OC, 1.f, dy + b * c.OS + g * c.OC, c.OS, w + g * c.OC, c.OS, 0.f, col, K);
        col2im_rows(c, col, dx, b, e, g);
      }
    }
  };
  if (t > 1) split_rows(c.B, t, run);
  else run(0, c.B, 0);
  return undefined(env);
}

// conv2dBackpropFilter(x, dy, dw, params). Threads take contiguous row ranges; each accumulates colᵀ·dy over its
// blocks (thread 0 into dw itself, the others into partials added in thread order after: deterministic for a thread
// count).
NATIVE_FN(Conv2DBackpropFilter) {
  auto a = get_args(env, info, 4);
  Conv c = conv_from(env, a[3]);
  const float* x = f32(env, a[0], c.xSize(), "x");
  const float* dy = f32(env, a[1], c.ySize(), "dy");
  float* dw = f32(env, a[2], c.wSize(), "dw");
#ifdef ROT_TRACK_DNNL
  int64_t parts = 1;
  if (const DnnlPlan* p = dnnl_plan(c, DnnlConvs::kBackwardWeights, false, 0, 0.f, parts)) {
    // each part's filter gradient in the primitive's layout (part 0 straight into dw when that is tfjs's layout), then
    // added in part order (deterministic for a thread count) and converted to dw
    const size_t n = DnnlConvs::prim_floats(*p);
    std::vector<AlignedVector<float>> buf(size_t(parts) - (p->reorderW ? 0 : 1), AlignedVector<float>(n));
    auto out = [&](int64_t part) {
      return p->reorderW ? buf[size_t(part)].data() : part == 0 ? dw : buf[size_t(part - 1)].data();
    };
    if (dnnl_run(c, parts, [&](int64_t part, int64_t b0) {
          DnnlConvs::backward_weights(*p, x + b0 * c.H * c.W * c.CS, dy + b0 * c.OH * c.OW * c.OS, out(part));
        })) {
      float* sum = out(0);
      for (int64_t q = 1; q < parts; q++) {
        const float* pp = out(q);
        for (size_t j = 0; j < n; j++) sum[j] += pp[j];
      }
      if (!p->reorderW || dnnl_run(c, 1, [&](int64_t, int64_t) { DnnlConvs::to_user(*p, sum, dw); })) {
        return undefined(env);
      }
    }
  }
#endif
  const int64_t K = c.K(), M = c.B * c.OH * c.OW;
  if (c.pointwise()) {
    sgemm_rows(true, false, K, c.OC, M, x, K, dy, c.OC, dw, c.OC);
    return undefined(env);
  }
  const int64_t RB = c.blockRows(), t = row_threads(M);
  const std::vector<float*> bufs = scratch_buffers(t, RB * K);
  std::vector<std::vector<float>> part(size_t(t - 1), std::vector<float>(size_t(c.wSize()), 0.f));
  auto run = [&](int64_t r0, int64_t r1, int64_t ti) {
    float* col = bufs[size_t(ti)];
    float* out = ti == 0 ? dw : part[size_t(ti - 1)].data();
    for (int64_t b = r0; b < r1; b += RB) {
      const int64_t e = std::min(r1, b + RB);
      for (int64_t g = 0; g < c.G; g++) {
        im2col_rows(c, x, col, b, e, g);
        sgemm(true, false, K, c.OC, e - b, 1.f, col, K, dy + b * c.OS + g * c.OC, c.OS, b == r0 ? 0.f : 1.f,
              out + g * c.OC, c.OS);
      }
    }
  };
  if (t > 1) split_rows(M, t, run);
  else run(0, M, 0);
  for (const auto& p : part) {
    const float* pp = p.data();
    for (int64_t j = 0; j < c.wSize(); j++) dw[j] += pp[j];
  }
  return undefined(env);
}

// batchMatMul(a, b, c, params = [batch, batchA, batchB, M, N, K, transA, transB], bias|null, act, alpha)
// a: [batchA, M, K] (or [batchA, K, M] when transA), b: [batchB, K, N] (or [batchB, N, K]), c: [batch, M, N].
// Batch index bi uses a[bi % batchA], b[bi % batchB], as tfjs's cpu kernel does. bias has N elements.
NATIVE_FN(BatchMatMul) {
  auto a = get_args(env, info, 7);
  auto p = ints(env, a[3], 8, "params");
  const int64_t batch = p[0], bA = p[1], bB = p[2], M = p[3], N = p[4], K = p[5];
  const bool tA = p[6] != 0, tB = p[7] != 0;
  if (batch <= 0 || bA <= 0 || bB <= 0 || M < 0 || N < 0 || K < 0) throw ArgError{"bad matmul params"};
  const float* A = f32(env, a[0], bA * M * K, "a");
  const float* Bm = f32(env, a[1], bB * K * N, "b");
  float* C = f32(env, a[2], batch * M * N, "c");
  const float* bias = is_null_or_undefined(env, a[4]) ? nullptr : f32(env, a[4], N, "bias");
  int act = int(number(env, a[5]));
  float alpha = float(number(env, a[6]));
  if (M == 0 || N == 0) return undefined(env);
  if (K == 0) {
    std::fill(C, C + batch * M * N, 0.f);
  } else {
    for (int64_t bi = 0; bi < batch; bi++) {
      sgemm_rows(tA, tB, M, N, K, A + (bi % bA) * M * K, tA ? M : K, Bm + (bi % bB) * K * N, tB ? K : N, C + bi * M * N, N);
    }
  }
  bias_act(C, batch * M, N, bias, act, alpha);
  return undefined(env);
}

// sgemm(a, b, c, M, N, K): c = a·b, row-major, no transposes (the BLAS ceiling for benchmarks).
NATIVE_FN(Sgemm) {
  auto a = get_args(env, info, 6);
  const int64_t M = int64_t(number(env, a[3])), N = int64_t(number(env, a[4])), K = int64_t(number(env, a[5]));
  if (M <= 0 || N <= 0 || K <= 0) throw ArgError{"bad sgemm sizes"};
  const float* A = f32(env, a[0], M * K, "a");
  const float* B = f32(env, a[1], K * N, "b");
  float* C = f32(env, a[2], M * N, "c");
  sgemm_rows(false, false, M, N, K, A, K, B, N, C, N);
  return undefined(env);
}

// ---------------------------------------------------------------------------------------------------------------
// Pooling, tfjs cpu semantics. p = [B, H, W, C, OH, OW, fH, fW, sh, sw, dh, dw, padTop, padLeft]
// (fH/fW are the effective filter sizes, (f − 1)·d + 1, as tfjs's loops use.)

struct Pool {
  int64_t B, H, W, C, OH, OW, fH, fW, sh, sw, dh, dw, pt, pl;
  int64_t xSize() const { return B * H * W * C; }
  int64_t ySize() const { return B * OH * OW * C; }
};

Pool pool_from(napi_env env, napi_value v) {
  auto p = ints(env, v, 14, "params");
  Pool q{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13]};
  for (int i = 0; i < 12; i++) {
    if (p[i] <= 0) throw ArgError{"pool params must be positive (index " + std::to_string(i) + ")"};
  }
  return q;
}

// Window start (first in-range tap, stepping by the dilation as tfjs's maxPoolPositions does) and end.
inline void window(int64_t corner, int64_t f, int64_t d, int64_t n, int64_t& lo, int64_t& hi) {
  lo = corner;
  while (lo < 0) lo += d;
  hi = std::min(n, f + corner);
}

// maxPool(x, y, params) / avgPool(x, y, params)
template <bool kMax>
void pool_forward(const Pool& q, const float* x, float* y) {
  parallel_for(q.B * q.OH, 8, [&](int64_t r0, int64_t r1) {
    std::vector<float> acc(size_t(q.C));
    std::vector<int64_t> cnt(size_t(q.C));
    for (int64_t r = r0; r < r1; r++) {
      const int64_t b = r / q.OH, oh = r % q.OH;
      const int64_t rc = oh * q.sh - q.pt;
      // tfjs's pool() starts at max(0, corner) without the dilation step (strides or dilations are 1 there).
      const int64_t rlo = std::max<int64_t>(0, rc), rhi = std::min(q.H, q.fH + rc);
      for (int64_t ow = 0; ow < q.OW; ow++) {
        const int64_t cc = ow * q.sw - q.pl;
        const int64_t clo = std::max<int64_t>(0, cc), chi = std::min(q.W, q.fW + cc);
        std::fill(acc.begin(), acc.end(), kMax ? -std::numeric_limits<float>::infinity() : 0.f);
        int64_t count = 0;
        for (int64_t ih = rlo; ih < rhi; ih += q.dh) {
          for (int64_t iw = clo; iw < chi; iw += q.dw) {
            const float* px = x + ((b * q.H + ih) * q.W + iw) * q.C;
            if (kMax) {
              for (int64_t ch = 0; ch < q.C; ch++) acc[ch] = px[ch] > acc[ch] ? px[ch] : acc[ch];
            } else {
              for (int64_t ch = 0; ch < q.C; ch++) acc[ch] += px[ch];
            }
            count++;
          }
        }
        float* out = y + ((b * q.OH + oh) * q.OW + ow) * q.C;
        if (kMax) {
          std::copy(acc.begin(), acc.end(), out);
        } else {
          for (int64_t ch = 0; ch < q.C; ch++) out[ch] = acc[ch] / float(count);
        }
      }
    }
  });
}

NATIVE_FN(MaxPool) {
  auto a = get_args(env, info, 3);
  Pool q = pool_from(env, a[2]);
  pool_forward<true>(q, f32(env, a[0], q.xSize(), "x"), f32(env, a[1], q.ySize(), "y"));
  return undefined(env);
}

NATIVE_FN(AvgPool) {
  auto a = get_args(env, info, 3);
  Pool q = pool_from(env, a[2]);
  pool_forward<false>(q, f32(env, a[0], q.xSize(), "x"), f32(env, a[1], q.ySize(), "y"));
  return undefined(env);
}

// maxPoolGrad(dy, x, dx, params): dy goes to the first strict maximum of each window (tfjs's maxPoolPositions).
// Two branch-free passes over each window, both contiguous over channels (so they vectorise): the window's maximum,
// then the taps in order, where the first tap equal to it takes the gradient still held (`rem`, zeroed once handed
// out). A window without a finite maximum (all −∞ or NaN) passes no gradient, as in tfjs (no strict maximum over −∞).
// Adding the zeros of the other taps leaves every sum bit for bit as the per-channel arg-max scatter made it (that
// version ran at 1/13 of the forward pool's speed). Threads own whole images, so the scatter never races.
NATIVE_FN(MaxPoolGrad) {
  auto a = get_args(env, info, 4);
  Pool q = pool_from(env, a[3]);
  const float* dy = f32(env, a[0], q.ySize(), "dy");
  const float* x = f32(env, a[1], q.xSize(), "x");
  float* dx = f32(env, a[2], q.xSize(), "dx");
  parallel_for(q.B, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> bestv(size_t(q.C)), remv(size_t(q.C));
    float* __restrict best = bestv.data();
    float* __restrict rem = remv.data();
    const float ninf = -std::numeric_limits<float>::infinity();
    std::memset(dx + b0 * q.H * q.W * q.C, 0, sizeof(float) * size_t((b1 - b0) * q.H * q.W * q.C));
    for (int64_t b = b0; b < b1; b++) {
      for (int64_t oh = 0; oh < q.OH; oh++) {
        int64_t rlo, rhi;
        window(oh * q.sh - q.pt, q.fH, q.dh, q.H, rlo, rhi);
        for (int64_t ow = 0; ow < q.OW; ow++) {
          int64_t clo, chi;
          window(ow * q.sw - q.pl, q.fW, q.dw, q.W, clo, chi);
          for (int64_t ch = 0; ch < q.C; ch++) best[ch] = ninf;
          for (int64_t ih = rlo; ih < rhi; ih += q.dh) {
            for (int64_t iw = clo; iw < chi; iw += q.dw) {
              const float* __restrict px = x + ((b * q.H + ih) * q.W + iw) * q.C;
              for (int64_t ch = 0; ch < q.C; ch++) best[ch] = px[ch] > best[ch] ? px[ch] : best[ch];
            }
          }
          const float* __restrict g = dy + ((b * q.OH + oh) * q.OW + ow) * q.C;
          for (int64_t ch = 0; ch < q.C; ch++) rem[ch] = best[ch] > ninf ? g[ch] : 0.f;
          for (int64_t ih = rlo; ih < rhi; ih += q.dh) {
            for (int64_t iw = clo; iw < chi; iw += q.dw) {
              const int64_t off = ((b * q.H + ih) * q.W + iw) * q.C;
              const float* __restrict px = x + off;
              float* __restrict o = dx + off;
              for (int64_t ch = 0; ch < q.C; ch++) {
                const bool hit = px[ch] == best[ch];
                o[ch] += hit ? rem[ch] : 0.f;
                rem[ch] = hit ? 0.f : rem[ch];
              }
            }
          }
        }
      }
    }
  });
  return undefined(env);
}

// avgPoolGrad(dy, dx, params, multiplier): every in-range tap of each window gets dy · multiplier (tfjs uses
// 1 / (filterHeight · filterWidth) there, whatever the padding).
NATIVE_FN(AvgPoolGrad) {
  auto a = get_args(env, info, 4);
  Pool q = pool_from(env, a[2]);
  const float* dy = f32(env, a[0], q.ySize(), "dy");
  float* dx = f32(env, a[1], q.xSize(), "dx");
  const float mul = float(number(env, a[3]));
  parallel_for(q.B, 1, [&](int64_t b0, int64_t b1) {
    std::memset(dx + b0 * q.H * q.W * q.C, 0, sizeof(float) * size_t((b1 - b0) * q.H * q.W * q.C));
    for (int64_t b = b0; b < b1; b++) {
      for (int64_t oh = 0; oh < q.OH; oh++) {
        int64_t rlo, rhi;
        window(oh * q.sh - q.pt, q.fH, q.dh, q.H, rlo, rhi);
        for (int64_t ow = 0; ow < q.OW; ow++) {
          int64_t clo, chi;
          window(ow * q.sw - q.pl, q.fW, q.dw, q.W, clo, chi);
          const float* g = dy + ((b * q.OH + oh) * q.OW + ow) * q.C;
          for (int64_t ih = rlo; ih < rhi; ih += q.dh) {
            for (int64_t iw = clo; iw < chi; iw += q.dw) {
              float* o = dx + ((b * q.H + ih) * q.W + iw) * q.C;
              for (int64_t ch = 0; ch < q.C; ch++) o[ch] += g[ch] * mul;
            }
          }
        }
      }
    }
  });
  return undefined(env);
}

// ---------------------------------------------------------------------------------------------------------------
// Element-wise ops, reductions, Tile and BatchNorm: the memory-bound kernels of a training step (BatchNorm with batch
// statistics, biases, relu and their gradients) that dominate it once the convs are BLAS-fast. Results follow tfjs's
// cpu kernels, which compute in double and round to float32: the same is done here.

enum BinOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kSqDiff = 4, kMax = 5, kMin = 6, kEluGrad = 7 };

template <int kOp>
inline float bin(float a, float b) {
  switch (kOp) {
    case kAdd: return a + b;
    case kSub: return a - b;
    case kMul: return a * b;
    case kDiv: return a / b;
    case kSqDiff: { const double d = double(a) - double(b); return float(d * d); }
    case kMax: return (std::isnan(a) || std::isnan(b)) ? std::numeric_limits<float>::quiet_NaN() : (a > b ? a : b);
    case kMin: return (std::isnan(a) || std::isnan(b)) ? std::numeric_limits<float>::quiet_NaN() : (a < b ? a : b);
    default: return b >= 0.f ? a : float(double(a) * (double(b) + 1.0));  // EluGrad: a = dy, b = y
  }
}

// p = [rank, outShape[rank], aStrides[rank], bStrides[rank]] (dims already collapsed on the JS side; strides 0 where
// broadcast). The last dim is the inner loop.
template <int kOp>
void binary_run(const float* a, const float* b, float* out, int64_t rank, const int64_t* shape, const int64_t* as,
                const int64_t* bs) {
  const int64_t inner = shape[rank - 1], ai = as[rank - 1], bi = bs[rank - 1];
  int64_t rows = 1;
  for (int64_t d = 0; d < rank - 1; d++) rows *= shape[d];
  parallel_for(rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, inner)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      int64_t rem = r, ao = 0, bo = 0;
      for (int64_t d = rank - 2; d >= 0; d--) {
        const int64_t idx = rem % shape[d];
        rem /= shape[d];
        ao += idx * as[d];
        bo += idx * bs[d];
      }
      const float* pa = a + ao;
      const float* pb = b + bo;
      float* po = out + r * inner;
      if (ai == 1 && bi == 1) for (int64_t j = 0; j < inner; j++) po[j] = bin<kOp>(pa[j], pb[j]);
      else if (ai == 1) { const float vb = pb[0]; for (int64_t j = 0; j < inner; j++) po[j] = bin<kOp>(pa[j], vb); }
      else if (bi == 1) { const float va = pa[0]; for (int64_t j = 0; j < inner; j++) po[j] = bin<kOp>(va, pb[j]); }
      else { const float v = bin<kOp>(pa[0], pb[0]); for (int64_t j = 0; j < inner; j++) po[j] = v; }
    }
  });
}

// binary(op, a, b, out, p)
// Integer params `[rank, then `groups` arrays of rank values]` (shapes, strides, permutations); rank in [1, 16].
std::vector<int64_t> rank_params(napi_env env, napi_value v, int64_t groups, int64_t& rank) {
  int32_t* raw = typed<int32_t>(env, v, napi_int32_array, 1, "params");
  rank = raw[0];
  if (rank < 1 || rank > 16) throw ArgError{"bad rank"};
  return ints(env, v, size_t(1 + groups * rank), "params");
}

// Parameters of a broadcasting element-wise op: p = [rank, outShape[rank], aStrides[rank], bStrides[rank]]; the
// element counts of the output and the extents each input must have.
struct Broadcast {
  std::vector<int64_t> p;
  int64_t rank = 0, n = 1, aNeed = 1, bNeed = 1;
  const int64_t* shape() const { return p.data() + 1; }
  const int64_t* as() const { return shape() + rank; }
  const int64_t* bs() const { return as() + rank; }
};

Broadcast broadcast_params(napi_env env, napi_value v) {
  Broadcast b;
  b.p = rank_params(env, v, 3, b.rank);
  for (int64_t d = 0; d < b.rank; d++) {
    const int64_t s = b.shape()[d], sa = b.as()[d], sb = b.bs()[d];
    if (s <= 0 || sa < 0 || sb < 0) throw ArgError{"bad broadcast params"};
    b.n *= s;
    b.aNeed += (s - 1) * sa;
    b.bNeed += (s - 1) * sb;
  }
  return b;
}

NATIVE_FN(Binary) {
  auto a = get_args(env, info, 5);
  const int op = int(number(env, a[0]));
  const Broadcast bc = broadcast_params(env, a[4]);
  const int64_t rank = bc.rank;
  const int64_t* shape = bc.shape();
  const int64_t* as = bc.as();
  const int64_t* bs = bc.bs();
  const float* x = f32(env, a[1], bc.aNeed, "a");
  const float* y = f32(env, a[2], bc.bNeed, "b");
  float* out = f32(env, a[3], bc.n, "out");
  switch (op) {
    case kAdd: binary_run<kAdd>(x, y, out, rank, shape, as, bs); break;
    case kSub: binary_run<kSub>(x, y, out, rank, shape, as, bs); break;
    case kMul: binary_run<kMul>(x, y, out, rank, shape, as, bs); break;
    case kDiv: binary_run<kDiv>(x, y, out, rank, shape, as, bs); break;
    case kSqDiff: binary_run<kSqDiff>(x, y, out, rank, shape, as, bs); break;
    case kMax: binary_run<kMax>(x, y, out, rank, shape, as, bs); break;
    case kMin: binary_run<kMin>(x, y, out, rank, shape, as, bs); break;
    case kEluGrad: binary_run<kEluGrad>(x, y, out, rank, shape, as, bs); break;
    default: throw ArgError{"unknown binary op"};
  }
  return undefined(env);
}

// equal(a, b, out, p): out[i] = a == b as 0/1 bytes (tfjs's bool storage); p as binary's. It is the mask of the
// gradient of max-reductions (IEN's group pooling), where the cpu backend's broadcasting loop costs more than the convs.
NATIVE_FN(Equal) {
  auto a = get_args(env, info, 4);
  const Broadcast bc = broadcast_params(env, a[3]);
  const int64_t rank = bc.rank;
  const int64_t* shape = bc.shape();
  const int64_t* as = bc.as();
  const int64_t* bs = bc.bs();
  const int64_t n = bc.n;
  const float* x = f32(env, a[0], bc.aNeed, "a");
  const float* y = f32(env, a[1], bc.bNeed, "b");
  uint8_t* out = typed<uint8_t>(env, a[2], napi_uint8_array, n, "out");
  const int64_t inner = shape[rank - 1], ai = as[rank - 1], bi = bs[rank - 1];
  const int64_t rows = n / inner;
  parallel_for(rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, inner)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      int64_t rem = r, ao = 0, bo = 0;
      for (int64_t d = rank - 2; d >= 0; d--) {
        const int64_t idx = rem % shape[d];
        rem /= shape[d];
        ao += idx * as[d];
        bo += idx * bs[d];
      }
      const float* pa = x + ao;
      const float* pb = y + bo;
      uint8_t* po = out + r * inner;
      for (int64_t j = 0; j < inner; j++) po[j] = pa[j * ai] == pb[j * bi] ? 1 : 0;
    }
  });
  return undefined(env);
}

// segmentSum(x, ids, out, inner): out[ids[i]·inner + k] += x[i·inner + k]; ids outside [0, out.length / inner) are
// dropped (TensorFlow's rule). The gradient of gather (IEN's rotation). Parallel over the inner dimension, so no two
// threads write the same element.
NATIVE_FN(SegmentSum) {
  auto a = get_args(env, info, 4);
  const int64_t inner = int64_t(number(env, a[3]));
  if (inner < 1) throw ArgError{"inner must be >= 1"};
  const int64_t idCount = typed_length(env, a[1], "ids");
  const int64_t outLen = typed_length(env, a[2], "out");
  const int32_t* ids = typed<int32_t>(env, a[1], napi_int32_array, idCount, "ids");
  const float* x = f32(env, a[0], idCount * inner, "x");
  float* out = f32(env, a[2], outLen, "out");
  const int64_t segments = outLen / inner;
  std::fill(out, out + outLen, 0.f);
  parallel_for(inner, std::max<int64_t>(1, 4096), [&](int64_t k0, int64_t k1) {
    for (int64_t i = 0; i < idCount; i++) {
      const int64_t s = ids[i];
      if (s < 0 || s >= segments) continue;
      const float* src = x + i * inner;
      float* dst = out + s * inner;
      for (int64_t k = k0; k < k1; k++) dst[k] += src[k];
    }
  });
  return undefined(env);
}

enum UnOp { kURelu = 0, kUStep = 1, kUNeg = 2, kUSquare = 3, kUSqrt = 4, kURsqrt = 5, kUExp = 6, kULog = 7, kUSigmoid = 8, kUElu = 9, kUAbs = 10 };

template <int kOp>
void unary_run(const float* x, float* y, int64_t n, float alpha) {
  parallel_for(n, 65536, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const float v = x[i];
      switch (kOp) {
        case kURelu: y[i] = v < 0.f ? 0.f : v; break;
        case kUStep: y[i] = std::isnan(v) ? v : (v > 0.f ? 1.f : alpha); break;
        case kUNeg: y[i] = -v; break;
        case kUSquare: y[i] = float(double(v) * double(v)); break;
        case kUSqrt: y[i] = float(std::sqrt(double(v))); break;
        case kURsqrt: y[i] = float(1.0 / std::sqrt(double(v))); break;
        case kUExp: y[i] = float(std::exp(double(v))); break;
        case kULog: y[i] = float(std::log(double(v))); break;
        case kUSigmoid: y[i] = float(1.0 / (1.0 + std::exp(-double(v)))); break;
        case kUElu: y[i] = v >= 0.f ? v : float(std::exp(double(v)) - 1.0); break;
        default: y[i] = std::fabs(v); break;
      }
    }
  });
}

// unary(op, x, y, n, alpha)
NATIVE_FN(Unary) {
  auto a = get_args(env, info, 5);
  const int op = int(number(env, a[0]));
  const int64_t n = int64_t(number(env, a[3]));
  if (n < 0) throw ArgError{"bad size"};
  const float* x = f32(env, a[1], n, "x");
  float* y = f32(env, a[2], n, "y");
  const float alpha = float(number(env, a[4]));
  switch (op) {
    case kURelu: unary_run<kURelu>(x, y, n, alpha); break;
    case kUStep: unary_run<kUStep>(x, y, n, alpha); break;
    case kUNeg: unary_run<kUNeg>(x, y, n, alpha); break;
    case kUSquare: unary_run<kUSquare>(x, y, n, alpha); break;
    case kUSqrt: unary_run<kUSqrt>(x, y, n, alpha); break;
    case kURsqrt: unary_run<kURsqrt>(x, y, n, alpha); break;
    case kUExp: unary_run<kUExp>(x, y, n, alpha); break;
    case kULog: unary_run<kULog>(x, y, n, alpha); break;
    case kUSigmoid: unary_run<kUSigmoid>(x, y, n, alpha); break;
    case kUElu: unary_run<kUElu>(x, y, n, alpha); break;
    case kUAbs: unary_run<kUAbs>(x, y, n, alpha); break;
    default: throw ArgError{"unknown unary op"};
  }
  return undefined(env);
}

// reduceSum(x, out, outer, inner, reduceOuter, divisor): x viewed as [outer, inner]. reduceOuter: out[j] = Σ_i x[i, j]
// (out has `inner` elements), else out[i] = Σ_j x[i, j] (`outer` elements). Sums in double; when divisor > 0 the
// float32 sum is then divided by it in float32 (tfjs's Mean: Sum, then RealDiv).
NATIVE_FN(ReduceSum) {
  auto a = get_args(env, info, 6);
  const int64_t outer = int64_t(number(env, a[2])), inner = int64_t(number(env, a[3]));
  const bool reduceOuter = number(env, a[4]) != 0;
  const double divisor = number(env, a[5]);
  if (outer < 1 || inner < 1) throw ArgError{"bad reduce sizes"};
  const float* x = f32(env, a[0], outer * inner, "x");
  float* out = f32(env, a[1], reduceOuter ? inner : outer, "out");
  auto finish = [&](double s) {
    const float f = float(s);
    return divisor > 0 ? f / float(divisor) : f;
  };
  if (!reduceOuter) {
    parallel_for(outer, std::max<int64_t>(1, 65536 / inner), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) {
        double s = 0;
        const float* row = x + i * inner;
        for (int64_t j = 0; j < inner; j++) s += row[j];
        out[i] = finish(s);
      }
    });
    return undefined(env);
  }
  // Column sums: threads take row blocks with their own double partials, added in block order.
  const int64_t t = std::min<int64_t>(g_threads, std::max<int64_t>(1, outer * inner / 65536));
  std::vector<std::vector<double>> partial(size_t(t), std::vector<double>(size_t(inner), 0.0));
  const int64_t chunk = (outer + t - 1) / t;
  parallel_for(t, 1, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; k++) {
      double* acc = partial[size_t(k)].data();
      for (int64_t i = k * chunk; i < std::min(outer, (k + 1) * chunk); i++) {
        const float* row = x + i * inner;
        for (int64_t j = 0; j < inner; j++) acc[j] += row[j];
      }
    }
  });
  for (int64_t j = 0; j < inner; j++) {
    double s = 0;
    for (int64_t k = 0; k < t; k++) s += partial[size_t(k)][size_t(j)];
    out[j] = finish(s);
  }
  return undefined(env);
}

// tile(x, out, p = [rank, xShape[rank], reps[rank]])
NATIVE_FN(Tile) {
  auto a = get_args(env, info, 3);
  int64_t rank = 0;
  auto p = rank_params(env, a[2], 2, rank);
  const int64_t* xs = p.data() + 1;
  const int64_t* reps = xs + rank;
  std::vector<int64_t> os(static_cast<size_t>(rank)), xstr(static_cast<size_t>(rank));
  int64_t n = 1, xn = 1;
  for (int64_t d = rank - 1; d >= 0; d--) {
    if (xs[d] <= 0 || reps[d] <= 0) throw ArgError{"bad tile params"};
    os[size_t(d)] = xs[d] * reps[d];
    xstr[size_t(d)] = xn;
    xn *= xs[d];
    n *= os[size_t(d)];
  }
  const float* x = f32(env, a[0], xn, "x");
  float* out = f32(env, a[1], n, "out");
  // One value broadcast (the gradient of a mean or sum over a whole tensor): a fill, not a memcpy of 4 bytes per
  // element (IEN step at 2 threads: 17 such tiles, 3.65 ms a step before).
  if (xn == 1) {
    const float v = x[0];
    parallel_for(n, 65536, [&](int64_t i0, int64_t i1) { std::fill(out + i0, out + i1, v); });
    return undefined(env);
  }
  const int64_t inner = os[size_t(rank - 1)], xInner = xs[rank - 1];
  const int64_t rows = n / inner;
  parallel_for(rows, std::max<int64_t>(1, 32768 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      int64_t rem = r, xo = 0;
      for (int64_t d = rank - 2; d >= 0; d--) {
        const int64_t idx = rem % os[size_t(d)];
        rem /= os[size_t(d)];
        xo += (idx % xs[d]) * xstr[size_t(d)];
      }
      const float* src = x + xo;
      float* dst = out + r * inner;
      if (xInner < 16) {  // short runs: copied value by value rather than a memcpy call each
        for (int64_t k = 0; k < reps[rank - 1]; k++, dst += xInner) {
          for (int64_t j = 0; j < xInner; j++) dst[j] = src[j];
        }
      } else {
        for (int64_t k = 0; k < reps[rank - 1]; k++) std::memcpy(dst + k * xInner, src, sizeof(float) * size_t(xInner));
      }
    }
  });
  return undefined(env);
}

// pad(x, out, p = [rank, xShape[rank], before[rank]], constant, fill): copies x into out at offset `before` per dim;
// when `fill` is nonzero the rest of out is set to `constant` first (a fresh Float32Array is already all zeros).
NATIVE_FN(Pad) {
  auto a = get_args(env, info, 5);
  int64_t rank = 0;
  auto p = rank_params(env, a[2], 3, rank);
  const int64_t* xs = p.data() + 1;
  const int64_t* before = xs + rank;
  const int64_t* after = before + rank;
  std::vector<int64_t> os(static_cast<size_t>(rank)), ostr(static_cast<size_t>(rank));
  int64_t n = 1, xn = 1;
  for (int64_t d = rank - 1; d >= 0; d--) {
    if (xs[d] <= 0 || before[d] < 0 || after[d] < 0) throw ArgError{"bad pad params"};
    os[size_t(d)] = xs[d] + before[d] + after[d];
    ostr[size_t(d)] = n;
    n *= os[size_t(d)];
    xn *= xs[d];
  }
  const float* x = f32(env, a[0], xn, "x");
  float* out = f32(env, a[1], n, "out");
  const float constant = float(number(env, a[3]));
  if (number(env, a[4]) != 0) std::fill(out, out + n, constant);
  const int64_t inner = xs[rank - 1];
  const int64_t rows = xn / inner;
  parallel_for(rows, std::max<int64_t>(1, 32768 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      int64_t rem = r, oo = before[rank - 1];
      for (int64_t d = rank - 2; d >= 0; d--) {
        const int64_t idx = rem % xs[d];
        rem /= xs[d];
        oo += (idx + before[d]) * ostr[size_t(d)];
      }
      std::memcpy(out + oo, x + r * inner, sizeof(float) * size_t(inner));
    }
  });
  return undefined(env);
}

// transpose(x, out, p = [rank, xShape[rank], perm[rank]]): out dim i is x dim perm[i].
NATIVE_FN(Transpose) {
  auto a = get_args(env, info, 3);
  int64_t rank = 0;
  auto p = rank_params(env, a[2], 2, rank);
  const int64_t* xs = p.data() + 1;
  const int64_t* perm = xs + rank;
  std::vector<int64_t> xstr(static_cast<size_t>(rank)), os(static_cast<size_t>(rank)), ostr(static_cast<size_t>(rank));
  int64_t n = 1;
  for (int64_t d = rank - 1; d >= 0; d--) {
    if (xs[d] <= 0) throw ArgError{"bad transpose shape"};
    xstr[size_t(d)] = n;
    n *= xs[d];
  }
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t d = 0; d < rank; d++) {
    if (perm[d] < 0 || perm[d] >= rank || seen[size_t(perm[d])]) throw ArgError{"bad perm"};
    seen[size_t(perm[d])] = true;
    os[size_t(d)] = xs[perm[d]];
    ostr[size_t(d)] = xstr[size_t(perm[d])];  // x stride of out dim d
  }
  const float* x = f32(env, a[0], n, "x");
  float* out = f32(env, a[1], n, "out");
  const int64_t inner = os[size_t(rank - 1)], is = ostr[size_t(rank - 1)];
  const int64_t rows = n / inner;
  parallel_for(rows, std::max<int64_t>(1, 16384 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      int64_t rem = r, xo = 0;
      for (int64_t d = rank - 2; d >= 0; d--) {
        const int64_t idx = rem % os[size_t(d)];
        rem /= os[size_t(d)];
        xo += idx * ostr[size_t(d)];
      }
      float* dst = out + r * inner;
      const float* src = x + xo;
      if (is == 1) std::memcpy(dst, src, sizeof(float) * size_t(inner));
      else for (int64_t j = 0; j < inner; j++) dst[j] = src[j * is];
    }
  });
  return undefined(env);
}

// gather(x, indices, out, outer, axisDim, inner): x as [outer, axisDim, inner] → out [outer, nIdx, inner].
NATIVE_FN(Gather) {
  auto a = get_args(env, info, 6);
  const int64_t outer = int64_t(number(env, a[3])), axisDim = int64_t(number(env, a[4])), inner = int64_t(number(env, a[5]));
  if (outer < 1 || axisDim < 1 || inner < 1) throw ArgError{"bad gather sizes"};
  napi_typedarray_type t;
  size_t nIdx;
  void* d;
  napi_value ab;
  size_t off;
  check(env, napi_get_typedarray_info(env, a[1], &t, &nIdx, &d, &ab, &off), "get_typedarray_info");
  const int32_t* idx = typed<int32_t>(env, a[1], napi_int32_array, int64_t(nIdx), "indices");
  for (size_t i = 0; i < nIdx; i++) {
    if (idx[i] < 0 || idx[i] >= axisDim) throw ArgError{"index out of range"};
  }
  const float* x = f32(env, a[0], outer * axisDim * inner, "x");
  float* out = f32(env, a[2], outer * int64_t(nIdx) * inner, "out");
  const int64_t rows = outer * int64_t(nIdx);
  parallel_for(rows, std::max<int64_t>(1, 16384 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t o = r / int64_t(nIdx), i = r % int64_t(nIdx);
      std::memcpy(out + r * inner, x + (o * axisDim + idx[i]) * inner, sizeof(float) * size_t(inner));
    }
  });
  return undefined(env);
}

// bnGradSums(x, dy, mean, sums, n, C): per channel c (x, dy as [n / C, C]) sums[c] = Σ dy, sums[C + c] = Σ dy·(x − mean[c]),
// in double (the reductions of BatchNorm's gradient; threads take row blocks and add their partials in order).
NATIVE_FN(BnGradSums) {
  auto a = get_args(env, info, 6);
  const int64_t n = int64_t(number(env, a[4])), C = int64_t(number(env, a[5]));
  if (C < 1 || n < C || n % C != 0) throw ArgError{"bad sizes"};
  const float* x = f32(env, a[0], n, "x");
  const float* dy = f32(env, a[1], n, "dy");
  const float* mean = f32(env, a[2], C, "mean");
  double* sums = typed<double>(env, a[3], napi_float64_array, 2 * C, "sums");
  channel_sums(dy, x, mean, n / C, C, sums, sums + C);
  return undefined(env);
}

// batchNorm(x, mean, variance, offset|null, scale|null, out, n, eps): tfjs's FusedBatchNorm, element i using
// mean[i % len] etc. (in practice the channel, NHWC), offset + (x − mean) · scale / sqrt(variance + eps) in double.
NATIVE_FN(BatchNorm) {
  auto a = get_args(env, info, 8);
  const int64_t n = int64_t(number(env, a[6]));
  const double eps = number(env, a[7]);
  auto len = [&](napi_value v) {
    size_t l;
    napi_typedarray_type t;
    void* d;
    napi_value ab;
    size_t off;
    check(env, napi_get_typedarray_info(env, v, &t, &l, &d, &ab, &off), "get_typedarray_info");
    return int64_t(l);
  };
  const float* x = f32(env, a[0], n, "x");
  const int64_t ml = len(a[1]), vl = len(a[2]);
  const float* mean = f32(env, a[1], 1, "mean");
  const float* var = f32(env, a[2], 1, "variance");
  const float one = 1.f, zero = 0.f;
  const bool hasOff = !is_null_or_undefined(env, a[3]), hasScale = !is_null_or_undefined(env, a[4]);
  const int64_t ol = hasOff ? len(a[3]) : 1, sl = hasScale ? len(a[4]) : 1;
  const float* off = hasOff ? f32(env, a[3], 1, "offset") : &zero;
  const float* scale = hasScale ? f32(env, a[4], 1, "scale") : &one;
  float* out = f32(env, a[5], n, "out");
  if (ml < 1 || vl < 1 || ol < 1 || sl < 1) throw ArgError{"empty batchNorm parameters"};
  const int64_t L = ml;
  if (vl == L && (ol == L || ol == 1) && (sl == L || sl == 1) && n % L == 0) {
    // Per-channel parameters (the usual case): no modulo per element.
    std::vector<double> o(static_cast<size_t>(L)), m(static_cast<size_t>(L)), k(static_cast<size_t>(L));
    for (int64_t c = 0; c < L; c++) {
      o[size_t(c)] = off[ol == 1 ? 0 : c];
      m[size_t(c)] = mean[c];
      k[size_t(c)] = double(scale[sl == 1 ? 0 : c]) / std::sqrt(double(var[c]) + eps);
    }
    parallel_for(n / L, std::max<int64_t>(1, 65536 / L), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) {
        const float* xr = x + r * L;
        float* yr = out + r * L;
        for (int64_t c = 0; c < L; c++) yr[c] = float(o[size_t(c)] + (double(xr[c]) - m[size_t(c)]) * k[size_t(c)]);
      }
    });
    return undefined(env);
  }
  parallel_for(n, 65536, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      out[i] = float(double(off[i % ol]) + (double(x[i]) - double(mean[i % ml])) * double(scale[i % sl]) /
                                               std::sqrt(double(var[i % vl]) + eps));
    }
  });
  return undefined(env);
}

// ---------------------------------------------------------------------------------------------------------------
// Threads and build info

NATIVE_FN(SetThreads) {
  auto a = get_args(env, info, 1);
  int n = int(number(env, a[0]));
  if (n < 1) n = 1;
  g_threads = n;
  openblas_set_num_threads(1);  // our threads split the GEMMs (split_rows); OpenBLAS stays single-threaded
  return undefined(env);
}

// mallocThresholds(mmapBytes, trimBytes) → whether glibc took them: allocations below mmapBytes come from the heap,
// and up to trimBytes of free memory at its top stay mapped (mallopt; not glibc: false, nothing changed). Why: with
// glibc's dynamic thresholds, large blocks freed in bursts (a frame's onnxruntime outputs, freed together by V8's GC)
// were handed back to the system and faulted in again, frame after frame — see tracker/node/native-backend.ts.
NATIVE_FN(MallocThresholds) {
  auto a = get_args(env, info, 2);
  const double mm = number(env, a[0]), trim = number(env, a[1]);
  if (!(mm >= 0 && mm <= 2147483647.0 && trim >= 0 && trim <= 2147483647.0)) {
    throw ArgError{"thresholds must be between 0 and 2^31 − 1 bytes"};
  }
  bool ok = false;
#ifdef __GLIBC__
  ok = mallopt(M_MMAP_THRESHOLD, int(mm)) == 1 && mallopt(M_TRIM_THRESHOLD, int(trim)) == 1;
#endif
  napi_value v;
  check(env, napi_get_boolean(env, ok, &v), "get_boolean");
  return v;
}

// setScratchLimit(floats): bound of one thread's im2col block (at least one row per block whatever the bound).
NATIVE_FN(SetScratchLimit) {
  auto a = get_args(env, info, 1);
  const double n = number(env, a[0]);
  kScratchFloats = n >= 1 ? int64_t(n) : 1;
  g_scratch.clear();
  g_scratch.shrink_to_fit();
  return undefined(env);
}

// convGroups() → true: conv params may carry a 16th entry, the group count (an older build reads 15 and ignores it, so
// tracker/node/native-group-conv.ts registers its kernels only when this exists).
NATIVE_FN(ConvGroups) {
  napi_value v;
  check(env, napi_get_boolean(env, true, &v), "get_boolean");
  return v;
}

// setConvEngine(mask): which ungrouped convs run oneDNN's primitives — 1 forward, 2 input gradient, 4 filter
// gradient, 0 none, −1 auto (dnnl_conv.h; no effect without oneDNN). convEngine() → the mask in use at the current
// thread count (always 0 without oneDNN).
NATIVE_FN(SetConvEngine) {
  auto a = get_args(env, info, 1);
#ifdef ROT_TRACK_DNNL
  const int mask = int(number(env, a[0]));
  dnnl_conv_setting() = mask < 0 ? -1 : mask & 7;
#else
  (void)a;
#endif
  return undefined(env);
}

NATIVE_FN(ConvEngine) {
#ifdef ROT_TRACK_DNNL
  const int mask = dnnl_conv_mask();
#else
  const int mask = 0;
#endif
  napi_value v;
  check(env, napi_create_int32(env, mask, &v), "create_int32");
  return v;
}

// convImpl(params, kind 'f' | 'd' | 'w') → the oneDNN kernel that runs one part of this conv (forward, input or
// filter gradient) at the current thread count and mask, e.g. "jit_wino_4x3:avx512_core", or null for im2col.
NATIVE_FN(ConvImpl) {
  auto a = get_args(env, info, 2);
  Conv c = conv_from(env, a[0]);
  char kind[4] = {0};
  size_t len = 0;
  check(env, napi_get_value_string_utf8(env, a[1], kind, sizeof kind, &len), "kind: expected 'f', 'd' or 'w'");
  if (len != 1 || (kind[0] != 'f' && kind[0] != 'd' && kind[0] != 'w')) throw ArgError{"kind: expected 'f', 'd' or 'w'"};
  napi_value v;
#ifdef ROT_TRACK_DNNL
  int64_t parts = 1;
  const DnnlPlan* p = dnnl_plan(c, DnnlConvs::Kind(kind[0]), false, 0, 0.f, parts);
  if (p) {
    check(env, napi_create_string_utf8(env, p->impl.c_str(), p->impl.size(), &v), "create_string");
    return v;
  }
#else
  (void)c;
#endif
  check(env, napi_get_null(env, &v), "get_null");
  return v;
}

NATIVE_FN(GetThreads) {
  napi_value v;
  check(env, napi_create_int32(env, g_threads, &v), "create_int32");
  return v;
}

// poolProbe(parts, jobs) → Int32Array(parts): for each part, in how many of `jobs` pool jobs it ran on the calling
// thread (test/native/pool.test.ts: part 0 always, pool.h). Throws when a part did not run exactly once per job.
NATIVE_FN(PoolProbe) {
  auto a = get_args(env, info, 2);
  const double pd = number(env, a[0]), jd = number(env, a[1]);
  if (!(pd >= 2 && pd <= 64 && jd >= 1 && jd <= 1e6)) throw ArgError{"poolProbe: parts must be in [2, 64] and jobs in [1, 10^6]"};
  const int64_t parts = int64_t(pd), jobs = int64_t(jd);
  const auto caller = std::this_thread::get_id();
  std::vector<int32_t> onCaller(size_t(parts), 0), runs(size_t(parts), 0);
  std::vector<char> mine(size_t(parts), 0), ran(size_t(parts), 0);
  for (int64_t j = 0; j < jobs; j++) {
    std::fill(mine.begin(), mine.end(), 0);
    std::fill(ran.begin(), ran.end(), 0);
    auto fn = [&](int64_t p) {  // each part writes only its own entries
      ran[size_t(p)]++;
      mine[size_t(p)] = std::this_thread::get_id() == caller;
      volatile double x = 0;  // a little work, so that spinning workers claim parts while the caller runs its own
      for (int i = 0; i < 2000; i++) x = x + i;
    };
    run_parts(parts, fn);
    for (int64_t p = 0; p < parts; p++) {
      runs[size_t(p)] += ran[size_t(p)];
      onCaller[size_t(p)] += mine[size_t(p)];
    }
  }
  for (int64_t p = 0; p < parts; p++) {
    if (runs[size_t(p)] != jobs) throw ArgError{"poolProbe: part " + std::to_string(p) + " ran " + std::to_string(runs[size_t(p)]) + " times in " + std::to_string(jobs) + " jobs"};
  }
  napi_value buf, arr;
  void* data = nullptr;
  check(env, napi_create_arraybuffer(env, size_t(parts) * 4, &data, &buf), "create_arraybuffer");
  std::memcpy(data, onCaller.data(), size_t(parts) * 4);
  check(env, napi_create_typedarray(env, napi_int32_array, size_t(parts), buf, 0, &arr), "create_typedarray");
  return arr;
}

NATIVE_FN(BlasInfo) {
  const char* cfg = openblas_get_config();
  const std::string text = gemm_name() + "; system BLAS: " + (cfg ? cfg : "");
  napi_value v;
  check(env, napi_create_string_utf8(env, text.c_str(), NAPI_AUTO_LENGTH, &v), "create_string");
  return v;
}

}  // namespace

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  struct Entry {
    const char* name;
    napi_callback fn;
  };
  const Entry entries[] = {
      {"conv2d", Conv2D},
      {"conv2dBackpropInput", Conv2DBackpropInput},
      {"conv2dBackpropFilter", Conv2DBackpropFilter},
      {"convGroups", ConvGroups},
      {"setConvEngine", SetConvEngine},
      {"convEngine", ConvEngine},
      {"convImpl", ConvImpl},
      {"batchMatMul", BatchMatMul},
      {"sgemm", Sgemm},
      {"maxPool", MaxPool},
      {"avgPool", AvgPool},
      {"maxPoolGrad", MaxPoolGrad},
      {"avgPoolGrad", AvgPoolGrad},
      {"binary", Binary},
      {"equal", Equal},
      {"segmentSum", SegmentSum},
      {"unary", Unary},
      {"reduceSum", ReduceSum},
      {"tile", Tile},
      {"pad", Pad},
      {"transpose", Transpose},
      {"gather", Gather},
      {"batchNorm", BatchNorm},
      {"bnGradSums", BnGradSums},
      {"setThreads", SetThreads},
      {"getThreads", GetThreads},
      {"poolProbe", PoolProbe},
      {"setScratchLimit", SetScratchLimit},
      {"mallocThresholds", MallocThresholds},
      {"blasInfo", BlasInfo},
  };
  for (const Entry& e : entries) {
    napi_value fn;
    napi_create_function(env, e.name, NAPI_AUTO_LENGTH, e.fn, nullptr, &fn);
    napi_set_named_property(env, exports, e.name, fn);
  }
  rtn::register_fused(env, exports);
  rtn::register_frame(env, exports);
  rtn::register_xcorr(env, exports);
  rtn::register_net(env, exports);
  g_threads = std::max(1, int(std::thread::hardware_concurrency()));
  openblas_set_num_threads(1);
  return exports;
}
