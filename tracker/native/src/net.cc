// A whole plain SiamFC backbone (convs with bias and relu, max / average pooling) as one chain of oneDNN primitives,
// for the onnx engine's frames: the crops go in as NHWC floats, the features come out NCHW, nothing crosses into
// JavaScript in between. 3×3 stride-1 convs take oneDNN's Winograd kernels (F(4×4, 3×3), `jit_wino_4x3` on AVX-512):
// on the CPU-scale model's conv3 / conv4 at batch 3, one thread, 0.97 / 0.82 ms direct against 0.51 / 0.37 ms
// (tracker/native/scripts/wino-bench.cc) — onnxruntime's CPU convs have no Winograd. oneDNN 2.6 has Winograd for
// ungrouped convs only: a grouped 3×3 stride-1 conv runs as one Winograd conv per group, each on its own dense buffer
// (AlexNet's conv4 / conv5 at batch 3, 2 threads, ONEDNN_VERBOSE: 6.2 / 3.7 ms grouped direct against 2 × 1.4 / 2 × 1.1
// ms; ROT_TRACK_WINO_GROUPS=0 keeps the grouped direct conv). Other convs run oneDNN's default (brgconv). Winograd
// rounds differently from a direct conv: the features equal onnxruntime's to ~1e-5 of their largest value
// (test/native/net.test.ts).
//
// A chain is built per (batch, input side, part) on first use, on the calling thread, and kept: JIT code, the filters
// reordered into the layouts the primitives chose, the activations between them, and its own scratchpad. A batch of k
// crops splits over the add-on's threads, each part running its own chain on one thread (oneDNN's OpenMP held at 1) —
// or, for large convs (`wide`), one chain runs the batch with oneDNN's OpenMP threads (see netRun). 3 crops on 2
// threads (a SiamFC frame) split inside the net instead: chains of the layers before and after the first Winograd
// conv (run_split).
#ifdef ROT_TRACK_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "common.h"

extern "C" void omp_set_num_threads(int);

namespace rtn {
namespace {

// One layer: conv {0, O, I, k, stride, groups, act (0 none, 1 relu)} or pool {1 max | 2 avg, C, C, size, stride, 1, 0}.
struct LayerSpec {
  int type, O, I, k, stride, groups, act;
};

#ifdef ROT_TRACK_DNNL
using md = dnnl::memory::desc;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& cpu() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& thread_stream() {
  thread_local const bool single = (omp_set_num_threads(1), true);
  (void)single;
  thread_local dnnl::stream s(cpu());
  return s;
}

// ROT_TRACK_WINO_GROUPS=0 runs grouped 3×3 convs as oneDNN's grouped direct conv (A/B benchmarks of the per-group
// Winograd convs in Net::build).
bool wino_groups_on() {
  static const bool on = [] {
    const char* v = std::getenv("ROT_TRACK_WINO_GROUPS");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return on;
}

struct Step {
  dnnl::primitive prim;
  std::unordered_map<int, dnnl::memory> args;
};

struct Chain {
  dnnl::memory in, out;  // user memories: NHWC crops, NCHW features (handles set per run, unless fixed)
  bool fixedIn = false, fixedOut = false;  // a chain's own input buffer (a back part), or another chain's (a front part)
  std::vector<Step> steps;
  std::vector<unsigned char> scratch;
  int64_t outC = 0, outS = 0;
};

// The chains of the 3-crop schedule on 2 threads (NetRun): the back layers at batch 2 (crops 1 and 2) and the front
// layers of one crop each, writing into the back chain's input.
struct SplitChains {
  std::unique_ptr<Chain> back, front[2];
};

struct Net {
  int inC = 3;
  std::vector<LayerSpec> layers;
  std::vector<std::vector<float>> weight, bias;  // per conv layer (OIHW), in layer order
  // where the 3-crop schedule cuts the layers: the first 3×3 stride-1 ungrouped conv after layer 0 (the Winograd
  // convs, which run faster at batch 2), 0 when there is none (NetRun)
  size_t split = 0;
  std::map<std::tuple<int64_t, int64_t, int64_t>, std::unique_ptr<Chain>> chains;
  std::map<int64_t, SplitChains> splits;
  std::mutex m;

  Chain& chain(int64_t B, int64_t S, int64_t part) {
    std::lock_guard<std::mutex> lock(m);
    auto& c = chains[{B, S, part}];
    if (!c) c = build(B, S);
    return *c;
  }

  // The split schedule's chains for side S: the back first (its input buffer is where the fronts write).
  SplitChains& split_chains(int64_t S) {
    std::lock_guard<std::mutex> lock(m);
    SplitChains& sc = splits[S];
    if (!sc.front[1]) {  // built last: a build that threw is redone on the next call
      sc.back = build(2, S, split, layers.size(), nullptr);
      const md whole = sc.back->in.get_desc();
      dnnl::memory::dims one = whole.dims();
      one[0] = 1;
      for (int i = 0; i < 2; i++) {
        const dnnl::memory slot(whole.submemory_desc(one, {i, 0, 0, 0}), cpu(), sc.back->in.get_data_handle());
        sc.front[i] = build(1, S, 0, split, &slot);
      }
    }
    return sc;
  }

  // Layers [from, until) for a batch of B crops of side S. from > 0: the chain's input is its own buffer, in the layout
  // its first conv chose (layer `from` must be a conv); until < layers: the output goes into `sink` (another chain's input)
  // instead of NCHW features.
  std::unique_ptr<Chain> build(int64_t B, int64_t S, size_t from = 0, size_t until = SIZE_MAX, const dnnl::memory* sink = nullptr) {
    until = std::min(until, layers.size());
    thread_stream();  // OpenMP held at one thread on this thread too (unless the caller set more)
    auto c = std::make_unique<Chain>();
    size_t scratch = 0;
    int64_t C = inC, s = S;
    c->in = dnnl::memory(md({B, C, s, s}, dt::f32, tag::nhwc), cpu(), DNNL_MEMORY_NONE);
    dnnl::memory cur = c->in;
    std::vector<dnnl::memory> parts;  // a grouped conv's outputs, one dense buffer per group (else empty: `cur`)
    size_t wi = 0;
    for (size_t li = 0; li < until; li++) {
      const LayerSpec& l = layers[li];
      if (li < from) {  // only its output shape
        s = (s - l.k) / l.stride + 1;
        if (l.type == 0) {
          C = l.O;
          wi++;
        }
        continue;
      }
      if (l.type == 0 && l.groups > 1 && l.k == 3 && l.stride == 1 && li > from && wino_groups_on() &&
          group_winograd(*c, l, wi, B, C, s, cur, parts, scratch)) {
        wi++;
        C = l.O;
        s -= 2;
        continue;
      }
      if (!parts.empty()) cur = merge(*c, parts, B, C, s);
      if (l.type == 0) {
        const int64_t os = (s - l.k) / l.stride + 1;
        const md wUser = l.groups == 1 ? md({l.O, l.I, l.k, l.k}, dt::f32, tag::oihw)
                                       : md({l.groups, l.O / l.groups, l.I, l.k, l.k}, dt::f32, tag::goihw);
        dnnl::convolution_forward::primitive_desc pd;
        bool wino = false;
        if (l.k == 3 && l.stride == 1 && l.groups == 1) {
          try {
            pd = conv_pd(B, C, s, l.O, l, dnnl::algorithm::convolution_winograd, attrs());
            wino = true;
          } catch (const dnnl::error&) {
          }
        }
        if (!wino) pd = conv_pd(B, C, s, l.O, l, dnnl::algorithm::convolution_direct, attrs());
        scratch = std::max(scratch, pd.scratchpad_desc().get_size());
        if (li == from && from > 0) {  // a back part: its input buffer, in the layout this conv reads
          c->in = dnnl::memory(pd.src_desc(), cpu());
          c->fixedIn = true;
          cur = c->in;
        }
        cur = to(*c, cur, pd.src_desc());
        const dnnl::memory w = filters(pd, wUser, weight[wi].data());
        dnnl::memory bm(pd.bias_desc(), cpu()), y(pd.dst_desc(), cpu());
        std::copy(bias[wi].begin(), bias[wi].end(), static_cast<float*>(bm.get_data_handle()));
        wi++;
        c->steps.push_back({dnnl::convolution_forward(pd),
                            {{DNNL_ARG_SRC, cur}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, y}}});
        cur = y;
        C = l.O;
        s = os;
      } else {
        if (li == from && from > 0) throw ArgError{"runner: a back part must start at a conv"};
        const int64_t os = (s - l.k) / l.stride + 1;
        const md dst({B, C, os, os}, dt::f32, tag::any);
        const auto alg = l.type == 1 ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
        const dnnl::pooling_forward::primitive_desc pd(
            dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference, alg, cur.get_desc(), dst, {l.stride, l.stride},
                                        {l.k, l.k}, {0, 0}, {0, 0}),
            attrs(), cpu());
        scratch = std::max(scratch, pd.scratchpad_desc().get_size());
        dnnl::memory y(pd.dst_desc(), cpu());
        c->steps.push_back({dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, cur}, {DNNL_ARG_DST, y}}});
        cur = y;
        s = os;
      }
    }
    if (!parts.empty()) cur = merge(*c, parts, B, C, s);
    if (sink) {
      c->out = *sink;
      c->fixedOut = true;
    } else {
      c->out = dnnl::memory(md({B, C, s, s}, dt::f32, tag::nchw), cpu(), DNNL_MEMORY_NONE);
    }
    c->steps.push_back({dnnl::reorder(cur, c->out), {{DNNL_ARG_FROM, cur}, {DNNL_ARG_TO, c->out}}});
    c->outC = C;
    c->outS = s;
    c->scratch.resize(std::max<size_t>(scratch, 1));
    const dnnl::memory pad(md({int64_t(c->scratch.size())}, dt::u8, tag::x), cpu(), c->scratch.data());
    for (Step& st : c->steps) {
      if (st.prim.get_kind() != dnnl::primitive::kind::reorder) st.args[DNNL_ARG_SCRATCHPAD] = pad;
    }
    return c;
  }

  // A fresh attribute object per primitive (dnnl::primitive_attr copies share one object): a user scratchpad.
  static dnnl::primitive_attr attrs() {
    dnnl::primitive_attr a;
    a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return a;
  }

  // Layer l (a grouped 3×3 stride-1 conv with filters weight[wi], C input channels of side s, batch B) as one Winograd
  // conv per group (oneDNN 2.6 has Winograd for groups of 1 only): its steps appended to c, `parts` left holding the
  // per-group outputs. The previous grouped conv's buffers serve as they are when they are this conv's groups; else
  // `cur` (or those buffers, merged) is split into one dense buffer per group. False, nothing appended, when oneDNN has
  // no Winograd kernel for a group.
  bool group_winograd(Chain& c, const LayerSpec& l, size_t wi, int64_t B, int64_t C, int64_t s, dnnl::memory& cur,
                      std::vector<dnnl::memory>& parts, size_t& scratch) {
    const int64_t Og = l.O / l.groups;
    std::vector<dnnl::convolution_forward::primitive_desc> pds;
    try {
      for (int g = 0; g < l.groups; g++) pds.push_back(conv_pd(B, l.I, s, Og, l, dnnl::algorithm::convolution_winograd, attrs()));
    } catch (const dnnl::error&) {
      return false;
    }
    if (!parts.empty() && (parts.size() != size_t(l.groups) || C != int64_t(l.groups) * l.I)) cur = merge(c, parts, B, C, s);
    if (parts.empty()) {
      // a channel range of a blocked layout must start at a block: else from a plain copy
      const bool blocks = int64_t(l.I) % 16 == 0 || cur.get_desc().data.format_desc.blocking.inner_nblks == 0;
      if (!blocks) cur = to(c, cur, md({B, C, s, s}, dt::f32, tag::nchw));
      for (int g = 0; g < l.groups; g++) {
        const dnnl::memory view(cur.get_desc().submemory_desc({B, l.I, s, s}, {0, int64_t(g) * l.I, 0, 0}), cpu(),
                                cur.get_data_handle());
        dnnl::memory m(pds[size_t(g)].src_desc(), cpu());
        c.steps.push_back({dnnl::reorder(view, m), {{DNNL_ARG_FROM, view}, {DNNL_ARG_TO, m}}});
        parts.push_back(m);
      }
    }
    for (int g = 0; g < l.groups; g++) {
      const auto& pd = pds[size_t(g)];
      scratch = std::max(scratch, pd.scratchpad_desc().get_size());
      const dnnl::memory src = to(c, parts[size_t(g)], pd.src_desc());
      const dnnl::memory w = filters(pd, md({Og, l.I, 3, 3}, dt::f32, tag::oihw), weight[wi].data() + g * Og * l.I * 9);
      dnnl::memory bm(pd.bias_desc(), cpu()), y(pd.dst_desc(), cpu());
      std::copy_n(bias[wi].begin() + g * Og, Og, static_cast<float*>(bm.get_data_handle()));
      c.steps.push_back({dnnl::convolution_forward(pd),
                         {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, y}}});
      parts[size_t(g)] = y;
    }
    return true;
  }

  // A conv's primitive (bias; relu as a post-op when the layer has it): B × I × s × s → B × O, VALID, layer l's kernel and
  // stride, groups as in l unless O / I are one group's (then groups 1).
  static dnnl::convolution_forward::primitive_desc conv_pd(int64_t B, int64_t I, int64_t s, int64_t O, const LayerSpec& l,
                                                           dnnl::algorithm alg, dnnl::primitive_attr attr) {
    const int64_t os = (s - l.k) / l.stride + 1;
    const bool grouped = l.groups > 1 && O == l.O;
    const md src({B, I, s, s}, dt::f32, tag::any), dst({B, O, os, os}, dt::f32, tag::any), b({O}, dt::f32, tag::x);
    const md w = grouped ? md({l.groups, O / l.groups, l.I, l.k, l.k}, dt::f32, tag::any) : md({O, l.I, l.k, l.k}, dt::f32, tag::any);
    if (l.act == 1) {
      dnnl::post_ops po;
      po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(po);
    }
    return dnnl::convolution_forward::primitive_desc(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg, src, w, b, dst, {l.stride, l.stride}, {0, 0},
                                        {0, 0}),
        attr, cpu());
  }

  // The filters at `user` (layout `userDesc`) in the layout the primitive chose.
  static dnnl::memory filters(const dnnl::convolution_forward::primitive_desc& pd, const md& userDesc, const float* user) {
    dnnl::memory w(pd.weights_desc(), cpu());
    dnnl::memory wu(userDesc, cpu(), const_cast<float*>(user));
    dnnl::reorder(wu, w).execute(thread_stream(), wu, w);
    thread_stream().wait();
    return w;
  }

  // A grouped conv's per-group outputs as one B × C × s × s memory (the groups' channels in order), by reorder steps
  // into its channel ranges; `parts` ends empty.
  static dnnl::memory merge(Chain& c, std::vector<dnnl::memory>& parts, int64_t B, int64_t C, int64_t s) {
    const int64_t Cg = C / int64_t(parts.size());
    dnnl::memory whole(md({B, C, s, s}, dt::f32, Cg % 16 == 0 ? tag::nChw16c : tag::nchw), cpu());
    for (size_t g = 0; g < parts.size(); g++) {
      const dnnl::memory view(whole.get_desc().submemory_desc({B, Cg, s, s}, {0, int64_t(g) * Cg, 0, 0}), cpu(),
                              whole.get_data_handle());
      c.steps.push_back({dnnl::reorder(parts[g], view), {{DNNL_ARG_FROM, parts[g]}, {DNNL_ARG_TO, view}}});
    }
    parts.clear();
    return whole;
  }

  // `cur` in layout `want`: itself, or a new memory filled by a reorder step.
  static dnnl::memory to(Chain& c, const dnnl::memory& cur, const md& want) {
    if (cur.get_desc() == want) return cur;
    dnnl::memory m(want, cpu());
    c.steps.push_back({dnnl::reorder(cur, m), {{DNNL_ARG_FROM, cur}, {DNNL_ARG_TO, m}}});
    return m;
  }
};

void finalize_net(napi_env, void* data, void*) { delete static_cast<Net*>(data); }

Net* net_of(napi_env env, napi_value v) {
  void* p = nullptr;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) throw ArgError{"net: not a network made by netCreate"};
  return static_cast<Net*>(p);
}

// netCreate(spec: Int32Array 7 per layer (LayerSpec), weights: Float32Array[] OIHW per conv, biases: Float32Array[],
// inChannels) → a network handle (freed with it by the garbage collector).
NATIVE_FN(NetCreate) {
  auto a = get_args(env, info, 4);
  const int64_t n = typed_length(env, a[0], "spec");
  if (n == 0 || n % 7 != 0) throw ArgError{"spec: 7 values per layer"};
  const int32_t* sp = typed<int32_t>(env, a[0], napi_int32_array, n, "spec");
  auto net = std::make_unique<Net>();
  net->inC = int(number(env, a[3]));
  if (net->inC < 1) throw ArgError{"inChannels must be positive"};
  int convs = 0;
  for (int64_t i = 0; i < n; i += 7) {
    const LayerSpec l{sp[i], sp[i + 1], sp[i + 2], sp[i + 3], sp[i + 4], sp[i + 5], sp[i + 6]};
    if (l.type < 0 || l.type > 2 || l.O < 1 || l.I < 1 || l.k < 1 || l.stride < 1 || l.groups < 1 || l.act < 0 || l.act > 1 ||
        l.O % l.groups != 0) {
      throw ArgError{"spec: layer " + std::to_string(i / 7) + " is not a conv or pool this runner takes"};
    }
    net->layers.push_back(l);
    if (l.type == 0) convs++;
  }
  for (size_t i = 1; i < net->layers.size() && !net->split; i++) {
    const LayerSpec& l = net->layers[i];
    if (l.type == 0 && l.k == 3 && l.stride == 1 && l.groups == 1) net->split = i;
  }
  uint32_t nw = 0, nb = 0;
  check(env, napi_get_array_length(env, a[1], &nw), "weights length");
  check(env, napi_get_array_length(env, a[2], &nb), "biases length");
  if (int(nw) != convs || int(nb) != convs) throw ArgError{"weights / biases: one per conv layer"};
  int ci = 0;
  for (const LayerSpec& l : net->layers) {
    if (l.type != 0) continue;
    napi_value w, b;
    check(env, napi_get_element(env, a[1], uint32_t(ci), &w), "weights element");
    check(env, napi_get_element(env, a[2], uint32_t(ci), &b), "biases element");
    const int64_t wn = int64_t(l.O) * l.I * l.k * l.k;
    const float* wp = f32(env, w, wn, "weights");
    const float* bp = f32(env, b, l.O, "biases");
    net->weight.emplace_back(wp, wp + wn);
    net->bias.emplace_back(bp, bp + l.O);
    ci++;
  }
  napi_value out;
  Net* raw = net.release();
  if (napi_create_external(env, raw, finalize_net, nullptr, &out) != napi_ok) {
    delete raw;
    throw ArgError{"could not make the network handle"};
  }
  return out;
}

// [C', s] for JavaScript.
napi_value side_pair(napi_env env, int64_t C, int64_t s) {
  napi_value r, v;
  napi_create_array_with_length(env, 2, &r);
  napi_create_int64(env, C, &v);
  napi_set_element(env, r, 0, v);
  napi_create_int64(env, s, &v);
  napi_set_element(env, r, 1, v);
  return r;
}

// The first exception of the parts running on the pool's threads, for the calling thread to throw (an exception must
// not leave a worker thread: that ends the process).
class FirstError {
 public:
  template <typename F>
  void guard(F f) {
    try {
      f();
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(m_);
      if (msg_.empty()) msg_ = e.what();
    } catch (...) {
      std::lock_guard<std::mutex> lock(m_);
      if (msg_.empty()) msg_ = "unknown error";
    }
  }
  void rethrow() const {
    if (!msg_.empty()) throw ArgError{"oneDNN: " + msg_};
  }

 private:
  std::mutex m_;
  std::string msg_;
};

// One chain on this thread over the crops at `in`, features to `out`.
void runChain(Chain& c, const float* in, float* out) {
  if (!c.fixedIn) c.in.set_data_handle(const_cast<float*>(in));
  if (!c.fixedOut) c.out.set_data_handle(out);
  dnnl::stream& st = thread_stream();
  for (Step& step : c.steps) step.prim.execute(st, step.args);
  st.wait();
}

// ROT_TRACK_NET_SPLIT=0 runs 3 crops on 2 threads as 1 + 2 whole crops (A/B benchmarks of run_split).
bool split_off() {
  static const bool off = [] {
    const char* v = std::getenv("ROT_TRACK_NET_SPLIT");
    return v && std::strcmp(v, "0") == 0;
  }();
  return off;
}

// A one-shot flag the worker waits on: spinning briefly, then asleep — next to another busy process a spinning waiter
// kept a core from the very thread it waited for (the frame took 5.3–8.4 ms against 4.3 for the 1 + 2 split).
class ReadyFlag {
 public:
  void set() {
    if (state_.exchange(1, std::memory_order_acq_rel) == 2) {
      std::lock_guard<std::mutex> lock(m_);
      cv_.notify_one();
    }
  }
  void wait() {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(30);
    for (int k = 0; state_.load(std::memory_order_acquire) != 1; k++) {
      cpu_relax();
      if ((k & 63) == 63 && std::chrono::steady_clock::now() >= until) {
        std::unique_lock<std::mutex> lock(m_);
        int idle = 0;
        if (state_.compare_exchange_strong(idle, 2, std::memory_order_acq_rel)) {
          cv_.wait(lock, [&] { return state_.load(std::memory_order_acquire) == 1; });
        }
        return;
      }
    }
  }

 private:
  std::atomic<int> state_{0};  // 0 not set, 1 set, 2 a waiter sleeps
  std::mutex m_;
  std::condition_variable cv_;
};

// 3 crops on 2 threads, balanced: the caller runs crop 2's front layers (up to the first Winograd conv), then crop 0
// whole at batch 1; the worker runs crop 1's front, waits for crop 2's, then the back layers of crops 1 and 2 at batch
// 2 (Winograd F(4×4) needs a batch of 2; at batch 1 oneDNN 2.6 takes F(2×2)). Split 1 + 2 whole crops, the worker's
// part took twice the caller's (CPU-scale net: 1.56 against 0.79 ms). Part 0 always runs on the caller (pool.h), so
// the worker's wait ends: crop 2's front is the caller's first work; on a busy pool the parts run in order.
napi_value run_split(napi_env env, Net* net, const float* in, int64_t S, napi_value outArg) {
  SplitChains& sc = net->split_chains(S);
  Chain& whole = net->chain(1, S, 0);
  const int64_t C = whole.outC, s = whole.outS, inPer = S * S * net->inC, outPer = C * s * s;
  float* out = f32(env, outArg, 3 * outPer, "out");
  ReadyFlag ready;
  FirstError err;
  parallel_for(2, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; p++) {
      if (p == 0) {
        err.guard([&] { runChain(*sc.front[1], in + 2 * inPer, nullptr); });
        ready.set();
        err.guard([&] { runChain(whole, in, out); });
      } else {
        err.guard([&] { runChain(*sc.front[0], in + inPer, nullptr); });
        ready.wait();
        err.guard([&] { runChain(*sc.back, nullptr, out + outPer); });
      }
    }
  });
  err.rethrow();
  return side_pair(env, C, s);
}

// netRun(net, crops: Float32Array k·S·S·C (NHWC), k, S, out: Float32Array k·C'·s·s (NCHW), wide) → [C', s].
// wide false: the batch splits over the add-on's threads, a single-threaded chain per part (3 crops on 2 threads: one
// thread runs two); wide true: one chain over the batch with oneDNN's OpenMP threads inside each primitive — better for
// large convs (AlexNet 127/255 at 2 threads: 49.7 → 38.0 ms per search run), worse for small ones (CPU scale: 1.59 →
// 1.94 ms, and OpenMP's spinning workers then slow the frame's own kernels).
// When the crops do not divide evenly, the larger parts come last: the calling thread runs the first part (pool.h
// keeps part 0 for it), a worker the next, and a worker left idle for long falls asleep (pool.h: after 200 µs) — with
// 3 crops split 2 + 1 and the 2 first, the worker sat idle for half the run (CPU-scale net: 0.79 against 1.56 ms,
// ONEDNN_VERBOSE) and the frame's next kernel waited for it to wake. The caller waits until the job ends anyway, so it
// takes the short part. (3 crops on 2 threads now take run_split; this split serves other counts.)
// CPU-scale frame at 2 threads in bench:peer's pattern (`profile-track-frame.ts --threads 2 --gap-ms 200`, three
// interleaved pairs): 2.47–2.68 against 3.00–3.30 ms, p90 2.67–2.92 against 3.76–4.71; next to one busy process
// 4.16–4.36 against 4.37–4.45.
NATIVE_FN(NetRun) {
  auto a = get_args(env, info, 6);
  bool wide = false;
  check(env, napi_get_value_bool(env, a[5], &wide), "wide: expected a boolean");
  Net* net = net_of(env, a[0]);
  const int64_t k = int64_t(number(env, a[2])), S = int64_t(number(env, a[3]));
  if (k < 1 || S < 1) throw ArgError{"crop count and side must be positive"};
  const float* in = f32(env, a[1], k * S * S * net->inC, "crops");
  if (wide && g_threads > 1) {
    // one chain for the whole batch, oneDNN's OpenMP at the add-on's thread count (fixed in a primitive when it is made),
    // back at one thread on the way out — also when oneDNN throws (this thread's GEMMs must stay single-threaded)
    thread_stream();
    struct OmpWide {
      OmpWide() { omp_set_num_threads(g_threads); }
      ~OmpWide() { omp_set_num_threads(1); }
    } omp;
    Chain& c = net->chain(k, S, -g_threads);
    float* out = f32(env, a[4], k * c.outC * c.outS * c.outS, "out");
    runChain(c, in, out);
    return side_pair(env, c.outC, c.outS);
  }
  const int64_t parts = std::min<int64_t>(k, g_threads);
  if (k == 3 && parts == 2 && net->split > 0 && !split_off()) return run_split(env, net, in, S, a[4]);
  // part p: crops [first[p], first[p + 1]), the larger parts last (see above)
  std::vector<int64_t> first(size_t(parts) + 1, 0);
  for (int64_t p = 0; p < parts; p++) first[size_t(p) + 1] = first[size_t(p)] + k / parts + (p >= parts - k % parts);
  std::vector<Chain*> chain(size_t(parts), nullptr);
  for (int64_t p = 0; p < parts; p++) chain[size_t(p)] = &net->chain(first[size_t(p) + 1] - first[size_t(p)], S, p);
  const int64_t C = chain[0]->outC, s = chain[0]->outS;
  float* out = f32(env, a[4], k * C * s * s, "out");
  FirstError err;
  parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; p++) {
      const int64_t f = first[size_t(p)];
      err.guard([&] { runChain(*chain[size_t(p)], in + f * S * S * net->inC, out + f * C * s * s); });
    }
  });
  err.rethrow();
  return side_pair(env, C, s);
}
#endif

}  // namespace

void register_net(napi_env env, napi_value exports) {
#ifdef ROT_TRACK_DNNL
  napi_value fn;
  napi_create_function(env, "netCreate", NAPI_AUTO_LENGTH, NetCreate, nullptr, &fn);
  napi_set_named_property(env, exports, "netCreate", fn);
  napi_create_function(env, "netRun", NAPI_AUTO_LENGTH, NetRun, nullptr, &fn);
  napi_set_named_property(env, exports, "netRun", fn);
#else
  (void)env;
  (void)exports;
#endif
}

}  // namespace rtn
