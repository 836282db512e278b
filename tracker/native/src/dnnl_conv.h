// Convolutions through oneDNN's own conv primitives (forward, input gradient, filter gradient) when the add-on is built
// with oneDNN (ROT_TRACK_DNNL): no im2col — oneDNN's JIT kernels read the NHWC activations directly and the filter in
// the blocked layout they pick (reordered from tfjs's [KH, KW, C, OC] once per call, on the calling thread).
//
// Why: on the CPU-scale SiamFC convs (batch 8, NHWC; a standalone harness, one thread) oneDNN's forward conv ran
// 190–195 GFLOP/s where im2col + sgemm ran 130–155 — the im2col copy is memory-bound. It is what PyTorch runs its CPU
// convs on. In the add-on the forward pass gained (bench-native's AlexNet-×0.5 forward b8: 206 → 164 ms at 1 thread,
// 117 → 90 at 2); the gradients (jit:avx512_core kernels in ONEDNN_VERBOSE, where the forward got brgconv) lost in
// session 11 (backward convs 241 → 287 ms at 1 thread, 104 → 144 at 2) and gained at 2 threads in session 13 (125 →
// 109), so they take these by default at 2 threads or more only (dnnl_conv_mask).
//
// Primitives are created once per geometry (JIT compilation costs milliseconds), on the calling thread, and cached for
// the process; parts of one batch run the same primitive on several threads at once, so each primitive takes its
// scratchpad from the executing thread (scratchpad_mode::user: oneDNN's library-managed one is shared by default,
// and sharing it gave wrong results in test/native/pool.test.ts). oneDNN's Debian build threads inside a primitive with
// OpenMP; letting it do so (2 OpenMP threads beside the add-on's own pool on 2 cores) made a CPU-scale training step
// slower than im2col (39–48 vs 30 ms), so every primitive runs on one thread and the add-on splits the batch over its
// pool instead, as it splits GEMM rows (kernels.cc, dnnl_plan / dnnl_run). Grouped convs keep the im2col path.
#pragma once

#ifdef ROT_TRACK_DNNL
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"

extern "C" void omp_set_num_threads(int);

namespace rtn {

// Which convs take oneDNN's primitives: a mask of 1 (forward), 2 (input gradient), 4 (filter gradient); the others
// run im2col + sgemm. ROT_TRACK_CONV=dnnl → 7, dnnl-forward → 1, im2col → 0; unset (or auto): the gradients too when
// the add-on runs 2 threads or more, forward only on one — measured in session 13 (train-step-cpu.ts --model siamfc,
// interleaved): at 2 threads 25.8–28.9 ms per step with oneDNN's gradients against 29.1–31.1 with im2col's (five
// pairs), at 1 thread 44.3–49.2 against 41.1–44.5; bench-native's AlexNet-×0.5 backward convs at 2 threads 109
// against 125 ms, 1 thread 234 against 229. Read once; setConvEngine(mask, or −1 for auto) changes it.
inline int& dnnl_conv_setting() {
  static int mask = [] {
    const char* s = std::getenv("ROT_TRACK_CONV");
    if (s && std::strcmp(s, "im2col") == 0) return 0;
    if (s && std::strcmp(s, "dnnl") == 0) return 7;
    if (s && std::strcmp(s, "dnnl-forward") == 0) return 1;
    return -1;
  }();
  return mask;
}

// The mask in use at the add-on's current thread count.
inline int dnnl_conv_mask() {
  const int m = dnnl_conv_setting();
  return m >= 0 ? m : (g_threads > 1 ? 7 : 1);
}

// One ungrouped conv's geometry (NHWC activations, [KH, KW, C, OC] filter); dh, dw ≥ 1 as tfjs counts dilation.
struct DConv {
  int64_t B, H, W, C, OH, OW, OC, KH, KW, sh, sw, dh, dw, pt, pl;
  // Dilated kernel sides and the trailing pads tfjs's output size implies: negative when input rows or columns are
  // past the last window (tfjs's output size is a floor; oneDNN's own floor gives the same size with a pad of 0).
  int64_t kh() const { return (KH - 1) * dh + 1; }
  int64_t kw() const { return (KW - 1) * dw + 1; }
  int64_t pb() const { return (OH - 1) * sh + kh() - H - pt; }
  int64_t pr() const { return (OW - 1) * sw + kw() - W - pl; }
  // Padding as wide as the kernel (output rows that read only padding; possible with explicit pads) made oneDNN 2.6's
  // filter-gradient primitive fail (invalid arguments at 1 thread, a segfault inside oneDNN at 2): im2col takes those.
  bool supported() const { return pt < kh() && pl < kw() && pb() < kh() && pr() < kw(); }
};

// A cached primitive with its descriptors. wPrim is the filter layout the primitive reads (forward, input gradient)
// or writes (filter gradient); reorderW when it is not tfjs's.
struct DnnlPlan {
  dnnl::primitive prim;
  dnnl::memory::desc x, y, wUser, wPrim, b, scratch, reorderScratch;
  bool reorderW = false;
  dnnl::reorder toPrim, toUser;
};

class DnnlConvs {
 public:
  enum Kind : char { kForward = 'f', kBackwardData = 'd', kBackwardWeights = 'w' };

  // The plan for one part's geometry (created on first use; throws dnnl::error when oneDNN has no kernel for it).
  static const DnnlPlan& plan(Kind kind, const DConv& c, bool bias, int act, float alpha) {
    std::string key(reinterpret_cast<const char*>(&c), sizeof c);
    key += char(kind);
    key += char(bias);
    key += char(act);
    key.append(reinterpret_cast<const char*>(&alpha), sizeof alpha);
    static std::mutex mu;
    static std::unordered_map<std::string, std::unique_ptr<DnnlPlan>> cache;
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it == cache.end()) it = cache.emplace(key, make(kind, c, bias, act, alpha)).first;
    return *it->second;
  }

  // The filter as the forward / input-gradient primitive reads it: w itself, or w reordered into this thread's buffer.
  static const float* weights_for(const DnnlPlan& p, const float* w) {
    if (!p.reorderW) return w;
    thread_local std::vector<float> buf;
    buf.resize(p.wPrim.get_size() / sizeof(float));
    Threads t;
    reorder(p, p.toPrim, mem(p.wUser, w), mem(p.wPrim, buf.data()));
    return buf.data();
  }

  // y = conv(x, w) (+ bias, then act: 0 linear, 1 relu, 2 relu6, 3 leaky relu with alpha); w from weights_for.
  static void forward(const DnnlPlan& p, const float* x, const float* w, float* y, const float* bias) {
    Threads t;
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, mem(p.x, x)}, {DNNL_ARG_WEIGHTS, mem(p.wPrim, w)},
                                               {DNNL_ARG_DST, mem(p.y, y)}};
    if (bias) args.insert({DNNL_ARG_BIAS, mem(p.b, bias)});
    run(p, std::move(args));
  }

  // dx = the input gradient of conv(x, w) for dy; w from weights_for.
  static void backward_data(const DnnlPlan& p, const float* dy, const float* w, float* dx) {
    Threads t;
    run(p, {{DNNL_ARG_DIFF_DST, mem(p.y, dy)}, {DNNL_ARG_WEIGHTS, mem(p.wPrim, w)}, {DNNL_ARG_DIFF_SRC, mem(p.x, dx)}});
  }

  // dwPrim = the filter gradient of conv(x, w) for dy, in the plan's wPrim layout (to_user converts it).
  static void backward_weights(const DnnlPlan& p, const float* x, const float* dy, float* dwPrim) {
    Threads t;
    run(p, {{DNNL_ARG_SRC, mem(p.x, x)}, {DNNL_ARG_DIFF_DST, mem(p.y, dy)}, {DNNL_ARG_DIFF_WEIGHTS, mem(p.wPrim, dwPrim)}});
  }

  // dw (tfjs layout) from a filter gradient in the plan's layout.
  static void to_user(const DnnlPlan& p, const float* dwPrim, float* dw) {
    Threads t;
    reorder(p, p.toUser, mem(p.wPrim, dwPrim), mem(p.wUser, dw));
  }

  // Floats of a filter in the plan's layout.
  static size_t prim_floats(const DnnlPlan& p) { return p.wPrim.get_size() / sizeof(float); }

 private:
  using md = dnnl::memory::desc;
  using tag = dnnl::memory::format_tag;
  static constexpr auto f32 = dnnl::memory::data_type::f32;

  // Every primitive runs on one OpenMP thread: the add-on's pool splits the batch over its threads (kernels.cc).
  // A thread that has not called a GEMM yet would otherwise start an OpenMP team of all cores.
  struct Threads {
    Threads() {
      thread_local const bool single = (omp_set_num_threads(1), true);
      (void)single;
    }
  };

  static dnnl::engine& engine() {
    static dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
  }
  static dnnl::stream& stream() {
    thread_local dnnl::stream s(engine());
    return s;
  }
  static dnnl::memory mem(const md& d, const float* p) { return dnnl::memory(d, engine(), const_cast<float*>(p)); }

  // This thread's scratchpad for a primitive that needs `d`.
  static dnnl::memory scratchpad(const md& d) {
    thread_local std::vector<unsigned char> pad;
    if (pad.size() < d.get_size()) pad.resize(d.get_size());
    return dnnl::memory(d, engine(), pad.data());
  }

  // Runs the plan's primitive with this thread's scratchpad.
  static void run(const DnnlPlan& p, std::unordered_map<int, dnnl::memory> args) {
    args.insert({DNNL_ARG_SCRATCHPAD, scratchpad(p.scratch)});
    p.prim.execute(stream(), args);
  }

  static void reorder(const DnnlPlan& p, const dnnl::reorder& r, const dnnl::memory& from, const dnnl::memory& to) {
    r.execute(stream(), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}, {DNNL_ARG_SCRATCHPAD, scratchpad(p.reorderScratch)}});
  }

  static dnnl::primitive_attr user_scratchpad() {
    dnnl::primitive_attr a;
    a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return a;
  }

  static std::unique_ptr<DnnlPlan> make(Kind kind, const DConv& c, bool bias, int act, float alpha) {
    auto p = std::make_unique<DnnlPlan>();
    p->x = md({c.B, c.C, c.H, c.W}, f32, tag::nhwc);
    p->y = md({c.B, c.OC, c.OH, c.OW}, f32, tag::nhwc);
    p->wUser = md({c.OC, c.C, c.KH, c.KW}, f32, tag::hwio);
    p->b = md({c.OC}, f32, tag::x);
    const md wAny({c.OC, c.C, c.KH, c.KW}, f32, tag::any);
    const dnnl::memory::dims strides{c.sh, c.sw}, dil{c.dh - 1, c.dw - 1}, padL{c.pt, c.pl};
    const dnnl::memory::dims padR{std::max<int64_t>(0, c.pb()), std::max<int64_t>(0, c.pr())};
    const auto alg = dnnl::algorithm::convolution_direct;
    const auto training = dnnl::prop_kind::forward_training;
    if (kind == kForward) {
      dnnl::post_ops po;
      if (act == 1) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      if (act == 2) po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f);
      if (act == 3) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, alpha, 0.f);
      dnnl::primitive_attr attr = user_scratchpad();
      attr.set_post_ops(po);
      const auto d = bias ? dnnl::convolution_forward::desc(training, alg, p->x, wAny, p->b, p->y, strides, dil, padL, padR)
                          : dnnl::convolution_forward::desc(training, alg, p->x, wAny, p->y, strides, dil, padL, padR);
      const dnnl::convolution_forward::primitive_desc pd(d, attr, engine());
      p->prim = dnnl::convolution_forward(pd);
      p->wPrim = pd.weights_desc();
      p->scratch = pd.scratchpad_desc();
    } else {
      const dnnl::convolution_forward::primitive_desc hint(
          {training, alg, p->x, wAny, p->y, strides, dil, padL, padR}, engine());
      if (kind == kBackwardData) {
        const dnnl::convolution_backward_data::primitive_desc pd(
            {alg, p->x, wAny, p->y, strides, dil, padL, padR}, user_scratchpad(), engine(), hint);
        p->prim = dnnl::convolution_backward_data(pd);
        p->wPrim = pd.weights_desc();
        p->scratch = pd.scratchpad_desc();
      } else {
        const dnnl::convolution_backward_weights::primitive_desc pd(
            {alg, p->x, wAny, p->y, strides, dil, padL, padR}, user_scratchpad(), engine(), hint);
        p->prim = dnnl::convolution_backward_weights(pd);
        p->wPrim = pd.diff_weights_desc();
        p->scratch = pd.scratchpad_desc();
      }
    }
    p->reorderW = p->wPrim != p->wUser;
    if (p->reorderW) {
      const bool toUser = kind == kBackwardWeights;
      const dnnl::reorder::primitive_desc rd(engine(), toUser ? p->wPrim : p->wUser, engine(), toUser ? p->wUser : p->wPrim,
                                             user_scratchpad());
      (toUser ? p->toUser : p->toPrim) = dnnl::reorder(rd);
      p->reorderScratch = rd.scratchpad_desc();
    }
    return p;
  }
};

}  // namespace rtn
#endif
