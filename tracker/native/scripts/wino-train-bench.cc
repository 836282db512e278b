// One-thread oneDNN training convs (3×3, stride 1, batch 4 — one part of a batch-8 step on 2 threads): forward,
// input gradient and filter gradient on the direct kernels with NHWC activations (what src/dnnl_conv.h runs by
// default) against Winograd F(4×4, 3×3) on the blocked activations it picks, plus the four NHWC ↔ blocked reorders a
// Winograd step needs (x in, y out, dy in, dx out). p50 of 60 runs each; the sums per conv and their ratio. The
// measurement behind dnnl_conv.h's WINO_MIN_OUT (reports/engines/README.md, session 15). Build and run (Debian:
// libdnnl-dev):
//   g++ -O2 -std=c++17 -o /tmp/wino-train-bench tracker/native/scripts/wino-train-bench.cc -ldnnl -lgomp && /tmp/wino-train-bench
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>
extern "C" void omp_set_num_threads(int);
using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static engine eng(engine::kind::cpu, 0);

static double p50(const std::function<void()>& f, int n = 60) {
  std::vector<double> ts;
  for (int i = 0; i < n; i++) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ts.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ts.begin(), ts.end());
  return ts[size_t(n / 2)];
}

static memory filled(const memory::desc& d) {
  memory m(d, eng);
  float* p = static_cast<float*>(m.get_data_handle());
  for (size_t i = 0; i < d.get_size() / sizeof(float); i++) p[i] = 0.01f * float(i % 97);
  return m;
}

// forward + both gradients (+ the reorders on Winograd) of a 3×3 VALID conv B × C × H × H → B × OC, in ms
static double step(int B, int C, int H, int OC, bool wino) {
  stream st(eng);
  const int OH = H - 2;
  const memory::dims xd{B, C, H, H}, wd{OC, C, 3, 3}, yd{B, OC, OH, OH};
  const auto alg = wino ? algorithm::convolution_winograd : algorithm::convolution_direct;
  const auto act = wino ? tag::any : tag::nhwc;
  const memory::desc x(xd, dt::f32, act), y(yd, dt::f32, act), w(wd, dt::f32, tag::any);
  const convolution_forward::primitive_desc f({prop_kind::forward_training, alg, x, w, y, {1, 1}, {0, 0}, {0, 0}}, eng);
  const convolution_backward_data::primitive_desc d({alg, x, w, y, {1, 1}, {0, 0}, {0, 0}}, eng, f);
  const convolution_backward_weights::primitive_desc bw({alg, x, w, y, {1, 1}, {0, 0}, {0, 0}}, eng, f);
  memory X = filled(f.src_desc()), W = filled(f.weights_desc()), Y = filled(f.dst_desc());
  memory dY = filled(d.diff_dst_desc()), dX = filled(d.diff_src_desc()), dW = filled(bw.diff_weights_desc());
  convolution_forward fp(f);
  convolution_backward_data dp(d);
  convolution_backward_weights wp(bw);
  double t = p50([&] { fp.execute(st, {{DNNL_ARG_SRC, X}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_DST, Y}}); st.wait(); });
  t += p50([&] { dp.execute(st, {{DNNL_ARG_DIFF_DST, dY}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_DIFF_SRC, dX}}); st.wait(); });
  t += p50([&] { wp.execute(st, {{DNNL_ARG_SRC, X}, {DNNL_ARG_DIFF_DST, dY}, {DNNL_ARG_DIFF_WEIGHTS, dW}}); st.wait(); });
  if (wino) {
    memory xn = filled(memory::desc(xd, dt::f32, tag::nhwc)), yn = filled(memory::desc(yd, dt::f32, tag::nhwc));
    t += p50([&] { reorder(xn, X).execute(st, xn, X); st.wait(); });
    t += p50([&] { reorder(Y, yn).execute(st, Y, yn); st.wait(); });
    t += p50([&] { reorder(yn, dY).execute(st, yn, dY); st.wait(); });
    t += p50([&] { reorder(dX, xn).execute(st, dX, xn); st.wait(); });
  }
  return t;
}

int main() {
  omp_set_num_threads(1);
  // the CPU-scale SiamFC's conv3 / conv4 widths and AlexNet's conv3, over output sides 7–23
  const int widths[][2] = {{64, 96}, {96, 64}, {256, 384}};
  for (int H : {9, 11, 13, 15, 17, 19, 21, 25}) {
    for (const auto& cw : widths) {
      const double direct = step(4, cw[0], H, cw[1], false), wino = step(4, cw[0], H, cw[1], true);
      std::printf("B4 C%-3d → %-3d output %2d×%-2d: direct %7.3f ms, Winograd %7.3f ms, direct / Winograd %.2f\n", cw[0], cw[1],
                  H - 2, H - 2, direct, wino, direct / wino);
    }
  }
}
