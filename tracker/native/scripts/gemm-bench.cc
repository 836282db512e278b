// One-thread sgemm throughput of the system BLAS (OpenBLAS) and oneDNN on the conv GEMMs of a training step (the
// CPU-scale SiamFC's forward, filter- and input-gradient shapes, AlexNet's conv1) and 1024³: best of 30, interleaved.
// Build and run (Debian: libopenblas-dev, libdnnl-dev):
//   g++ -O2 -o /tmp/gemm-bench tracker/native/scripts/gemm-bench.cc -lopenblas -ldnnl -lgomp && /tmp/gemm-bench
// OPENBLAS_CORETYPE (set on some machines here, see src/gemm.h) chooses OpenBLAS's kernels.
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <chrono>
#include <cstdio>
#include <vector>
#include <random>
#include <algorithm>
extern "C" void omp_set_num_threads(int);
int main() {
  omp_set_num_threads(1);
  openblas_set_num_threads(1);
  struct S { long M, N, K; char tA, tB; const char* what; };
  std::vector<S> shapes = {
    {25992, 24, 75, 'N','N', "cpu-scale conv1 fwd"}, {5832, 48, 216, 'N','N', "conv2 fwd"}, {5000, 96, 432, 'N','N', "conv3 fwd"},
    {75, 24, 25992, 'T','N', "conv1 dW (colT*dy)"}, {216, 48, 5832, 'T','N', "conv2 dW"}, {25992, 75, 24, 'N','T', "conv1 dX (dy*wT)"},
    {5832, 216, 48, 'N','T', "conv2 dX"}, {27848, 96, 363, 'N','N', "alexnet conv1 fwd"}, {1024,1024,1024,'N','N', "1024^3"}};
  std::mt19937 r(1); std::uniform_real_distribution<float> u(-1, 1);
  for (auto s : shapes) {
    std::vector<float> A(s.M * s.K), B(s.K * s.N), C(s.M * s.N);
    for (auto& v : A) v = u(r); for (auto& v : B) v = u(r);
    long lda = s.tA == 'N' ? s.K : s.M, ldb = s.tB == 'N' ? s.N : s.K;
    double best[2] = {1e9, 1e9};
    for (int rep = 0; rep < 30; rep++) for (int lib = 0; lib < 2; lib++) {
      auto t0 = std::chrono::steady_clock::now();
      if (lib == 0) cblas_sgemm(CblasRowMajor, s.tA == 'N' ? CblasNoTrans : CblasTrans, s.tB == 'N' ? CblasNoTrans : CblasTrans, s.M, s.N, s.K, 1.f, A.data(), lda, B.data(), ldb, 0.f, C.data(), s.N);
      else dnnl_sgemm(s.tA, s.tB, s.M, s.N, s.K, 1.f, A.data(), lda, B.data(), ldb, 0.f, C.data(), s.N);
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      best[lib] = std::min(best[lib], ms);
    }
    double gf = 2.0 * s.M * s.N * s.K / 1e6;
    printf("%-22s M%6ld N%5ld K%6ld  openblas %7.3f ms %6.1f GF/s   dnnl %7.3f ms %6.1f GF/s  ratio %.2f\n", s.what, s.M, s.N, s.K, best[0], gf / best[0], best[1], gf / best[1], best[0] / best[1]);
  }
}
