// The one GEMM every conv and matmul of the add-on calls: oneDNN's sgemm when the add-on was built with it
// (ROT_TRACK_DNNL: Debian's libdnnl-dev present at build time, scripts/dnnl-flags.cjs), else the system BLAS.
//
// Why oneDNN: the same C loop (scripts/gemm-bench.cc, build command inside) on the CPU-scale and AlexNet conv shapes, one thread, ran
// dnnl_sgemm at 140–220 GFLOP/s and OpenBLAS 0.3.21 at 63–102 (1.9–2.6× slower) on this AVX-512 machine, where the
// environment pins OpenBLAS to its Haswell (AVX2) kernels because older OpenBLAS builds compute wrong results on some
// processors (OPENBLAS_CORETYPE). oneDNN is what PyTorch (Debian's libtorch) runs its convolutions on.
// ROT_TRACK_GEMM=openblas picks the system BLAS at run time in a oneDNN build (A/B benchmarks, or a suspect result).
//
// Threads: oneDNN's Debian build parallelises inside a call with OpenMP; the add-on splits the work over its own pool
// instead (pool.h), so every calling thread holds OpenMP at one thread (its ICVs are per thread).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#ifdef ROT_TRACK_ACCELERATE
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

#ifdef ROT_TRACK_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <signal.h>
extern "C" void omp_set_num_threads(int);
#endif

namespace rtn {

struct GemmError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

#ifdef ROT_TRACK_DNNL
inline bool use_dnnl() {
  static const bool on = [] {
    const char* s = std::getenv("ROT_TRACK_GEMM");
    return !(s && std::strcmp(s, "openblas") == 0);
  }();
  return on;
}
#endif

#ifdef ROT_TRACK_DNNL
// Async signals are held back for the duration of a oneDNN GEMM and delivered when it returns. oneDNN 2.6's sgemm
// corrupted the heap when a signal handler ran during the call: `node --cpu-prof` (SIGPROF every ~1 ms) made a
// training step abort in glibc ("corrupted size vs. prev_size"), and a plain C++ loop of dnnl_sgemm under a 100 µs
// SIGPROF timer did the same, but not with the signals blocked around each call (test/native/signals.test.ts).
// Two pthread_sigmask system calls per GEMM: no measurable cost on a CPU-scale training step (25.0–26.6 ms at 2
// threads against 26.2–26.5 without).
struct SignalsHeld {
  sigset_t old;
  SignalsHeld() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
  }
  ~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;
};
#endif

// C (M × N, row-major, leading dimension ldc) = alpha · op(A) · op(B) + beta · C.
inline void sgemm(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#ifdef ROT_TRACK_DNNL
  if (use_dnnl()) {
    thread_local const bool single = (omp_set_num_threads(1), true);
    (void)single;
    const SignalsHeld held;
    const dnnl_status_t s = dnnl_sgemm(tA ? 'T' : 'N', tB ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (s != dnnl_success) throw GemmError("dnnl_sgemm failed with status " + std::to_string(int(s)));
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, int(M), int(N), int(K),
              alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
}

// Which GEMM runs, for blasInfo().
inline std::string gemm_name() {
#ifdef ROT_TRACK_DNNL
  if (use_dnnl()) {
    const dnnl_version_t* v = dnnl_version();
    return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
           " sgemm (" + (v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP held at 1 thread" : "its own threads") + ")";
  }
#endif
  return "system BLAS sgemm";
}

}  // namespace rtn
