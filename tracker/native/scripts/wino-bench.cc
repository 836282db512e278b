// One-thread oneDNN conv forward (inference, bias + relu), its default (direct) kernels against Winograd, on the shipped
// CPU-scale SiamFC's four search-branch convs at batch 3 (the 3 scales of one frame): p50 of 300 runs, and GFLOP/s
// counted as the direct conv's multiply-adds. The measurement behind "Winograd" in reports/engines/README.md.
// Build and run (Debian: libdnnl-dev):
//   g++ -O2 -std=c++17 -o /tmp/wino-bench tracker/native/scripts/wino-bench.cc -ldnnl -lgomp && /tmp/wino-bench
//   /tmp/wino-bench alexnet 2        # AlexNet's convs at 2 threads (session 15)
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <vector>
#include <algorithm>
extern "C" void omp_set_num_threads(int);
using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;
struct G { int N, C, H, OC, K, S; };
double run(engine& eng, stream& st, G g, algorithm alg, const char* name, int batchDiv) {
  int N = g.N / batchDiv;
  int OH = (g.H - g.K) / g.S + 1;
  memory::dims src{N, g.C, g.H, g.H}, wei{g.OC, g.C, g.K, g.K}, bia{g.OC}, dst{N, g.OC, OH, OH};
  auto sd = memory::desc(src, dt::f32, tag::any), wd = memory::desc(wei, dt::f32, tag::any), bd = memory::desc(bia, dt::f32, tag::x), dd = memory::desc(dst, dt::f32, tag::any);
  post_ops po; po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
  primitive_attr attr; attr.set_post_ops(po);
  convolution_forward::primitive_desc pd;
  try {
    pd = convolution_forward::primitive_desc(convolution_forward::desc(prop_kind::forward_inference, alg, sd, wd, bd, dd, {g.S, g.S}, {0, 0}, {0, 0}), attr, eng);
  } catch (dnnl::error& e) { printf("%s: not available (%s)\n", name, e.what()); return -1; }
  memory s(pd.src_desc(), eng), w(pd.weights_desc(), eng), b(pd.bias_desc(), eng), d(pd.dst_desc(), eng);
  std::fill((float*)s.get_data_handle(), (float*)s.get_data_handle() + pd.src_desc().get_size() / 4, 0.5f);
  std::fill((float*)w.get_data_handle(), (float*)w.get_data_handle() + pd.weights_desc().get_size() / 4, 0.01f);
  auto c = convolution_forward(pd);
  std::vector<double> ts;
  for (int i = 0; i < 300; i++) {
    auto t0 = std::chrono::steady_clock::now();
    c.execute(st, {{DNNL_ARG_SRC, s}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, d}});
    st.wait();
    ts.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ts.begin(), ts.end());
  double macs = double(N) * g.OC * OH * OH * g.C * g.K * g.K;
  printf("%-34s impl %-28s p50 %.3f ms  %.1f GFLOP/s (direct-equivalent)\n", name, pd.impl_info_str(), ts[150], 2 * macs / ts[150] / 1e6);
  return ts[150];
}
int main(int argc, char** argv) {
  // `alexnet [threads]`: AlexNet's search convs at batch 3 (a frame's 3 scales) — the grouped 3×3 convs per group
  // (src/net.cc runs them as one Winograd conv per group), and conv2's 5×5 per group against its kernel cut into four
  // 3×3 kernels stacked as one conv of 4× the outputs (a 5×5 conv as a sum of shifted 3×3 convs: no faster on Winograd)
  const bool alex = argc > 1 && std::string(argv[1]) == "alexnet";
  omp_set_num_threads(alex && argc > 2 ? std::atoi(argv[2]) : 1);
  engine eng(engine::kind::cpu, 0);
  stream st(eng);
  if (alex) {
    G gs[] = {{3, 256, 28, 384, 3, 1}, {3, 192, 26, 192, 3, 1}, {3, 192, 24, 128, 3, 1}, {3, 48, 61, 128, 5, 1}, {3, 48, 61, 512, 3, 1}};
    const char* names[] = {"conv3 256->384 28", "conv4 per group 192->192 26", "conv5 per group 192->128 24",
                           "conv2 per group 48->128 k5 61", "conv2 per group as 4 stacked 3x3"};
    for (int i = 0; i < 5; i++) {
      run(eng, st, gs[i], algorithm::convolution_direct, (std::string(names[i]) + " direct").c_str(), 1);
      if (gs[i].K == 3) run(eng, st, gs[i], algorithm::convolution_winograd, (std::string(names[i]) + " wino").c_str(), 1);
    }
    return 0;
  }
  G gs[] = {{3, 3, 129, 24, 5, 2}, {3, 24, 31, 64, 5, 1}, {3, 64, 27, 96, 3, 1}, {3, 96, 25, 64, 3, 1}};
  const char* names[] = {"conv1 3->24 k5 s2 129", "conv2 24->64 k5 31", "conv3 64->96 k3 27", "conv4 96->64 k3 25"};
  for (int i = 0; i < 4; i++) {
    run(eng, st, gs[i], algorithm::convolution_direct, (std::string(names[i]) + " direct").c_str(), 1);
    if (gs[i].S == 1) run(eng, st, gs[i], algorithm::convolution_winograd, (std::string(names[i]) + " wino").c_str(), 1);
  }
}
