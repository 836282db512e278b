// Convolutions through oneDNN's own conv primitives (forward, input gradient, filter gradient) when the add-on is built
// with oneDNN (ROT_TRACK_DNNL): no im2col — oneDNN's JIT kernels read the NHWC activations directly and the filter in
// the blocked layout they pick (reordered from tfjs's [KH, KW, C, OC] once per call, on the calling thread).
//
// Why: on the CPU-scale SiamFC convs (batch 8, NHWC; a standalone harness, one thread) oneDNN's forward conv ran
// 190–195 GFLOP/s where im2col + sgemm ran 130–155 — the im2col copy is memory-bound. It is what PyTorch runs its CPU
// convs on. In the add-on the forward pass gained (bench-native's AlexNet-×0.5 forward b8: 206 → 164 ms at 1 thread,
// 117 → 90 at 2); the gradients (jit:avx512_core kernels in ONEDNN_VERBOSE, where the forward got brgconv) lost in
// session 11 (backward convs 241 → 287 ms at 1 thread, 104 → 144 at 2) and gained at 2 threads in session 13 (125 →
// 109), so they took these by default at 2 threads or more only; since session 15 (Winograd for the large 3×3 convs)
// they are faster at 1 thread too and take them at every thread count (dnnl_conv_mask).
//
// Primitives are created once per geometry (JIT compilation costs milliseconds), on the calling thread, and cached for
// the process; parts of one batch run the same primitive on several threads at once, so each primitive takes its
// scratchpad from the executing thread (scratchpad_mode::user: oneDNN's library-managed one is shared by default,
// and sharing it gave wrong results in test/native/pool.test.ts). oneDNN's Debian build threads inside a primitive with
// OpenMP; letting it do so (2 OpenMP threads beside the add-on's own pool on 2 cores) made a CPU-scale training step
// slower than im2col (39–48 vs 30 ms), so every primitive runs on one thread and the add-on splits the batch over its
// pool instead, as it splits GEMM rows (kernels.cc, dnnl_plan / dnnl_run).
//
// Session 15: 3×3 stride-1 convs with outputs of WINO_MIN_OUT positions or more run on oneDNN's Winograd kernels
// (forward and both gradients; their activations reordered between tfjs's NHWC and the blocked layouts those kernels
// read), and grouped convs (AlexNet's) run on oneDNN too: on its grouped primitive, or on Winograd one group after
// another over strided views of the group's channels (they had run im2col). AlexNet's batch-8 step at 2 threads,
// three interleaved pairs against the build before (train-step-cpu.ts --model alexnet, ROT_TRACK_NATIVE_ADDON):
// 479 / 537 / 484 against 546 / 573 / 538 ms. ROT_TRACK_TRAIN_WINO=0 keeps the direct kernels.
#pragma once

#ifdef ROT_TRACK_DNNL
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"

extern "C" void omp_set_num_threads(int);

namespace rtn {

// 64-byte aligned storage for oneDNN's buffers: its Winograd filter-gradient kernel reads its scratchpad and blocked
// activations with aligned vector loads (a std::vector's 16-byte alignment ended the process with SIGSEGV).
template <typename T>
struct Aligned64 {
  using value_type = T;
  Aligned64() = default;
  template <typename U>
  Aligned64(const Aligned64<U>&) {}
  T* allocate(size_t n) {
    void* p = ::operator new(n * sizeof(T), std::align_val_t(64));
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  template <typename U>
  bool operator==(const Aligned64<U>&) const { return true; }
  template <typename U>
  bool operator!=(const Aligned64<U>&) const { return false; }
};
template <typename T>
using AlignedVector = std::vector<T, Aligned64<T>>;

// Which convs take oneDNN's primitives: a mask of 1 (forward), 2 (input gradient), 4 (filter gradient); the others
// run im2col + sgemm. ROT_TRACK_CONV=dnnl → 7, dnnl-forward → 1, im2col → 0; unset (or auto): all three. Session 13
// had measured (train-step-cpu.ts --model siamfc, interleaved) at 2 threads 25.8–28.9 ms per step with oneDNN's
// gradients against 29.1–31.1 with im2col's, at 1 thread 44.3–49.2 against 41.1–44.5, and kept im2col's gradients at
// 1 thread; with Winograd for the large 3×3 convs (session 15, three interleaved runs at 1 thread) 36.1 / 36.7 / 34.2
// against 41.4 / 49.5 / 38.3 ms, AlexNet's step 701 / 717 against 789 / 741 ms. Read once; setConvEngine(mask, or −1
// for auto) changes it.
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
  return m >= 0 ? m : 7;
}

// One conv's geometry (NHWC activations, [KH, KW, C, G·OC] filter); dh, dw ≥ 1 as tfjs counts dilation.
struct DConv {
  // C, OC per group; G groups (tfjs's grouped conv: group g reads input channels [g·C, (g + 1)·C) and writes output
  // channels [g·OC, (g + 1)·OC); its filter is [KH, KW, C, G·OC])
  int64_t B, H, W, C, OH, OW, OC, KH, KW, sh, sw, dh, dw, pt, pl, G;
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
  // Winograd (wino_train_on): the activations in the primitive's blocked layouts (xPrim: src / diff_src, yPrim: dst /
  // diff_dst), reordered from and to tfjs's NHWC around it on the calling thread's buffers
  bool wino = false;
  dnnl::memory::desc xPrim, yPrim;
  std::string impl;  // oneDNN's name for the kernel (convImpl)
  // groups run one by one (a grouped conv on Winograd: one ungrouped primitive over strided views of each group's
  // channels) — 1 otherwise, also for a grouped conv on oneDNN's own grouped primitive
  // (group g's activations and filters start xStep / yStep channels after group g − 1's)
  int64_t loops = 1, xStep = 0, yStep = 0;
  dnnl::reorder xIn, yIn, xOut, yOut;
};

// ROT_TRACK_TRAIN_WINO=0: the training convs' 3×3 stride-1 convs stay on oneDNN's direct kernels (A/B benchmarks).
inline bool wino_train_on() {
  static const bool on = [] {
    const char* v = std::getenv("ROT_TRACK_TRAIN_WINO");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return on;
}

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
    thread_local AlignedVector<float> buf;
    const size_t n = group_floats(p);
    buf.resize(n * size_t(p.loops));
    Threads t;
    for (int64_t g = 0; g < p.loops; g++) reorder(p, p.toPrim, mem(p.wUser, w + g * p.yStep), mem(p.wPrim, buf.data() + g * n));
    return buf.data();
  }

  // y = conv(x, w) (+ bias, then act: 0 linear, 1 relu, 2 relu6, 3 leaky relu with alpha); w from weights_for.
  static void forward(const DnnlPlan& p, const float* x, const float* w, float* y, const float* bias) {
    Threads t;
    const size_t n = group_floats(p);
    for (int64_t g = 0; g < p.loops; g++) {
      const dnnl::memory xm = in(p, p.xIn, p.x, p.xPrim, x + g * p.xStep, 0);
      const dnnl::memory ym = out_mem(p.yPrim, p.wino ? nullptr : y + g * p.yStep, 1);
      std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, mem(p.wPrim, w + g * n)}, {DNNL_ARG_DST, ym}};
      if (bias) args.insert({DNNL_ARG_BIAS, mem(p.b, bias + g * p.yStep)});
      run(p, std::move(args));
      if (p.wino) reorder(p, p.yOut, ym, mem(p.y, y + g * p.yStep));
    }
  }

  // dx = the input gradient of conv(x, w) for dy; w from weights_for.
  static void backward_data(const DnnlPlan& p, const float* dy, const float* w, float* dx) {
    Threads t;
    const size_t n = group_floats(p);
    for (int64_t g = 0; g < p.loops; g++) {
      const dnnl::memory dym = in(p, p.yIn, p.y, p.yPrim, dy + g * p.yStep, 1);
      const dnnl::memory dxm = out_mem(p.xPrim, p.wino ? nullptr : dx + g * p.xStep, 0);
      run(p, {{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_WEIGHTS, mem(p.wPrim, w + g * n)}, {DNNL_ARG_DIFF_SRC, dxm}});
      if (p.wino) reorder(p, p.xOut, dxm, mem(p.x, dx + g * p.xStep));
    }
  }

  // dwPrim = the filter gradient of conv(x, w) for dy, in the plan's wPrim layout (to_user converts it); prim_floats
  // floats, the groups one after another when they loop.
  static void backward_weights(const DnnlPlan& p, const float* x, const float* dy, float* dwPrim) {
    Threads t;
    const size_t n = group_floats(p);
    for (int64_t g = 0; g < p.loops; g++) {
      const dnnl::memory xm = in(p, p.xIn, p.x, p.xPrim, x + g * p.xStep, 0);
      const dnnl::memory dym = in(p, p.yIn, p.y, p.yPrim, dy + g * p.yStep, 1);
      run(p, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_DIFF_WEIGHTS, mem(p.wPrim, dwPrim + g * n)}});
    }
  }

  // dw (tfjs layout) from a filter gradient in the plan's layout.
  static void to_user(const DnnlPlan& p, const float* dwPrim, float* dw) {
    Threads t;
    const size_t n = group_floats(p);
    for (int64_t g = 0; g < p.loops; g++) reorder(p, p.toUser, mem(p.wPrim, dwPrim + g * n), mem(p.wUser, dw + g * p.yStep));
  }

  // Floats of a filter in the plan's layout (all groups).
  static size_t prim_floats(const DnnlPlan& p) { return group_floats(p) * size_t(p.loops); }

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

  // Floats of one group's filter (one loop's) in the plan's layout.
  static size_t group_floats(const DnnlPlan& p) { return p.wPrim.get_size() / sizeof(float); }

  // A memory of layout d on `user`, or (user null) on this thread's buffer `slot` (0, 1: a Winograd plan's activations).
  static dnnl::memory out_mem(const md& d, float* user, int slot) {
    if (user) return mem(d, user);
    thread_local AlignedVector<float> buf[2];
    AlignedVector<float>& b = buf[slot];
    if (b.size() < d.get_size() / sizeof(float)) b.resize(d.get_size() / sizeof(float));
    return mem(d, b.data());
  }

  // The NHWC input `user` as the primitive reads it: itself, or (Winograd) reordered into this thread's buffer `slot`.
  static dnnl::memory in(const DnnlPlan& p, const dnnl::reorder& r, const md& userDesc, const md& primDesc, const float* user,
                         int slot) {
    if (!p.wino) return mem(userDesc, user);
    const dnnl::memory m = out_mem(primDesc, nullptr, slot);
    reorder(p, r, mem(userDesc, user), m);
    return m;
  }

  // This thread's scratchpad for a primitive that needs `d`.
  static dnnl::memory scratchpad(const md& d) {
    thread_local AlignedVector<unsigned char> pad;
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

  // Winograd F(4×4, 3×3) for the training convs (wino_train_on): 3×3, stride 1, no dilation, an output of at least
  // WINO_MIN_OUT positions per image. One thread, batch 4, forward + both gradients + the NHWC reorders
  // (scripts/wino-train-bench.cc, CPU-scale and AlexNet widths, two runs): 1.25–2.06× faster than the direct kernels
  // at 17×17 outputs and more, 1.15–1.57× at 15×15, about even at 11×11 – 13×13 (0.92–1.41×), slower at 7×7 – 9×9
  // (0.61–0.93×).
  static constexpr int64_t WINO_MIN_OUT = 200;
  static bool wino_fits(const DConv& c) {
    return wino_train_on() && c.KH == 3 && c.KW == 3 && c.sh == 1 && c.sw == 1 && c.dh == 1 && c.dw == 1 &&
           c.OH * c.OW >= WINO_MIN_OUT;
  }

  static std::unique_ptr<DnnlPlan> make(Kind kind, const DConv& c, bool bias, int act, float alpha) {
    if (wino_fits(c)) {
      try {
        return make(kind, c, bias, act, alpha, true);
      } catch (const dnnl::error&) {  // no Winograd kernel for it here: the direct one
      }
    }
    return make(kind, c, bias, act, alpha, false);
  }

  static std::unique_ptr<DnnlPlan> make(Kind kind, const DConv& c, bool bias, int act, float alpha, bool wino) {
    auto p = std::make_unique<DnnlPlan>();
    p->wino = wino;
    const int64_t CS = c.C * c.G, OS = c.OC * c.G;  // the tensors' channels
    // grouped: on Winograd the groups loop over one ungrouped primitive reading strided views of their channels;
    // otherwise oneDNN's grouped primitive runs them all
    const bool loop = c.G > 1 && wino, grouped = c.G > 1 && !wino;
    p->loops = loop ? c.G : 1;
    p->xStep = c.C;
    p->yStep = c.OC;
    using dims = dnnl::memory::dims;
    if (c.G == 1) {
      p->x = md({c.B, c.C, c.H, c.W}, f32, tag::nhwc);
      p->y = md({c.B, c.OC, c.OH, c.OW}, f32, tag::nhwc);
      p->wUser = md({c.OC, c.C, c.KH, c.KW}, f32, tag::hwio);
    } else if (loop) {  // one group's channels of the NHWC tensors, its filters in tfjs's [KH, KW, C, G·OC]
      p->x = md({c.B, c.C, c.H, c.W}, f32, dims{c.H * c.W * CS, 1, c.W * CS, CS});
      p->y = md({c.B, c.OC, c.OH, c.OW}, f32, dims{c.OH * c.OW * OS, 1, c.OW * OS, OS});
      p->wUser = md({c.OC, c.C, c.KH, c.KW}, f32, dims{1, OS, c.KW * c.C * OS, c.C * OS});
    } else {
      p->x = md({c.B, CS, c.H, c.W}, f32, tag::nhwc);
      p->y = md({c.B, OS, c.OH, c.OW}, f32, tag::nhwc);
      p->wUser = md({c.G, c.OC, c.C, c.KH, c.KW}, f32, dims{c.OC, 1, OS, c.KW * c.C * OS, c.C * OS});
    }
    p->b = md({grouped ? OS : c.OC}, f32, tag::x);
    const md wAny = grouped ? md({c.G, c.OC, c.C, c.KH, c.KW}, f32, tag::any) : md({c.OC, c.C, c.KH, c.KW}, f32, tag::any);
    // Winograd's kernels read and write blocked activations: the primitive picks them
    const md xd = wino ? md({c.B, c.C, c.H, c.W}, f32, tag::any) : p->x;
    const md yd = wino ? md({c.B, c.OC, c.OH, c.OW}, f32, tag::any) : p->y;
    const dnnl::memory::dims strides{c.sh, c.sw}, dil{c.dh - 1, c.dw - 1}, padL{c.pt, c.pl};
    const dnnl::memory::dims padR{std::max<int64_t>(0, c.pb()), std::max<int64_t>(0, c.pr())};
    const auto alg = wino ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct;
    const auto training = dnnl::prop_kind::forward_training;
    if (kind == kForward) {
      dnnl::post_ops po;
      if (act == 1) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      if (act == 2) po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f);
      if (act == 3) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, alpha, 0.f);
      dnnl::primitive_attr attr = user_scratchpad();
      attr.set_post_ops(po);
      const auto d = bias ? dnnl::convolution_forward::desc(training, alg, xd, wAny, p->b, yd, strides, dil, padL, padR)
                          : dnnl::convolution_forward::desc(training, alg, xd, wAny, yd, strides, dil, padL, padR);
      const dnnl::convolution_forward::primitive_desc pd(d, attr, engine());
      p->prim = dnnl::convolution_forward(pd);
      p->impl = pd.impl_info_str();
      p->wPrim = pd.weights_desc();
      p->scratch = pd.scratchpad_desc();
      p->xPrim = pd.src_desc();
      p->yPrim = pd.dst_desc();
    } else {
      const dnnl::convolution_forward::primitive_desc hint({training, alg, xd, wAny, yd, strides, dil, padL, padR}, engine());
      if (kind == kBackwardData) {
        const dnnl::convolution_backward_data::primitive_desc pd(
            {alg, xd, wAny, yd, strides, dil, padL, padR}, user_scratchpad(), engine(), hint);
        p->prim = dnnl::convolution_backward_data(pd);
        p->impl = pd.impl_info_str();
        p->wPrim = pd.weights_desc();
        p->scratch = pd.scratchpad_desc();
        p->xPrim = pd.diff_src_desc();
        p->yPrim = pd.diff_dst_desc();
      } else {
        const dnnl::convolution_backward_weights::primitive_desc pd(
            {alg, xd, wAny, yd, strides, dil, padL, padR}, user_scratchpad(), engine(), hint);
        p->prim = dnnl::convolution_backward_weights(pd);
        p->impl = pd.impl_info_str();
        p->wPrim = pd.diff_weights_desc();
        p->scratch = pd.scratchpad_desc();
        p->xPrim = pd.src_desc();
        p->yPrim = pd.diff_dst_desc();
      }
    }
    // the reorders' scratchpad: the largest any of them needs
    auto reorder_of = [&](const md& from, const md& to) {
      const dnnl::reorder::primitive_desc rd(engine(), from, engine(), to, user_scratchpad());
      if (rd.scratchpad_desc().get_size() > p->reorderScratch.get_size()) p->reorderScratch = rd.scratchpad_desc();
      return dnnl::reorder(rd);
    };
    // oneDNN's reference kernels are correct but far slower than im2col: those geometries stay there
    if (p->impl.find("ref") != std::string::npos) throw dnnl::error(dnnl_unimplemented, "only a reference kernel");
    p->reorderW = p->wPrim != p->wUser;
    if (p->reorderW) {
      if (kind == kBackwardWeights) p->toUser = reorder_of(p->wPrim, p->wUser);
      else p->toPrim = reorder_of(p->wUser, p->wPrim);
    }
    if (wino) {
      if (kind != kBackwardData) p->xIn = reorder_of(p->x, p->xPrim);
      if (kind == kForward) p->yOut = reorder_of(p->yPrim, p->y);
      if (kind != kForward) p->yIn = reorder_of(p->y, p->yPrim);
      if (kind == kBackwardData) p->xOut = reorder_of(p->xPrim, p->x);
    }
    return p;
  }
};

}  // namespace rtn
#endif
