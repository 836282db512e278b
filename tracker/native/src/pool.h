// The add-on's worker threads: persistent, spinning briefly between jobs, then sleeping.
//
// Why: a std::thread per parallel loop (the first design) costs a clone, a wake-up of the other vCPU and a join per
// loop. On these VMs an idle vCPU takes ~0.1–0.2 ms to start running a new thread, so a BatchNorm pass over a
// [27848, 24] map (0.43 ms on one thread) took 0.55 ms on two, and 0.67 ms when the JS thread had worked 1 ms before
// the call (scripts/native-wake.cjs). A CPU-scale training step makes ~100 such calls. OpenMP runtimes (PyTorch's)
// keep their threads spinning for a while after a parallel region for the same reason.
//
// A job is `parts` calls task(ctx, part): the caller runs part 0, then claims parts like the workers, and returns once
// all are done.
// Parts are claimed from one 64-bit word — job id (32 bits) | parts (16) | next part (16) — so a worker that wakes
// late can only claim a part of the job that is running, never run a part twice or a finished job's part. Workers spin
// on that word for `spin_us` (ROT_TRACK_SPIN_US, default 200; 0: sleep at once) after their last job, then sleep on a
// condition variable; the caller only takes the mutex when a worker sleeps (Dekker order on `sleepers_` and `state_`).
// One job at a time: a second caller (another JS thread, or a parallel loop nested inside a part) gets `false` and
// runs the loop on its own thread. The pool is never destroyed (workers are detached and may still be asleep at exit).
//
// Pinning (ROT_TRACK_PIN): when the process may run on 2 CPUs or more, worker k is pinned to the k-th allowed CPU after
// the one its first job's caller ran on (by its creator, as it is made), and a calling thread is held on that first
// caller's CPU while it runs a job, its own mask restored after (CallerPin) — the default, `all`; `workers` pins only
// the workers, `none` nothing. Why: in bench:peer's pattern (blocks of 10 CPU-scale frames after 200 ms pauses, 2
// threads) our frames ran in spells at about twice their median that PyTorch's did not: the scheduler put the woken
// worker on the caller's CPU, or moved them about. `ROT_TRACK_PIN=… npm run bench:peer -- --variants siamfc
// --train-steps 0 --rounds 20` (200 frames per engine; session 15, two interleaved rounds of the three settings):
// mean 2.25 / 2.13 ms with `all` (1 / 3 frames beyond twice the median), 2.70 / 2.43 with `workers` (13 / 12), 2.89 /
// 3.22 with `none` (58 / 7); PyTorch's in the same runs 5.6–6.9 ms. Pinning the caller for good (an earlier version)
// measured the same, but every thread or process it started later (onnxruntime's pool, worker_threads, ffmpeg)
// would have inherited its one CPU.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sched.h>

namespace rtn {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class WorkerPool {
 public:
  using Task = void (*)(void* ctx, int64_t part);

  static WorkerPool& instance() {
    static WorkerPool* pool = new WorkerPool();
    return *pool;
  }

  // At most this many parts, so that the claims beyond the last part (one per participant) never carry into the
  // parts field of the word.
  static constexpr int64_t kMaxParts = 4096;

  // Runs task(ctx, p) for every p in [0, parts) (parts ≤ kMaxParts) on the caller and parts − 1 workers. Returns false,
  // having run nothing, when the pool is already running a job.
  bool run(int64_t parts, Task task, void* ctx) {
    if (parts <= 1 || parts > kMaxParts) return false;
    bool idle = false;
    if (!busy_.compare_exchange_strong(idle, true, std::memory_order_acquire)) return false;
    if (pin_) place_workers();
    CallerPin held(pin_caller_ ? cpus_[size_t(base_)] : -1);
    try {
      ensure_workers(parts - 1);
    } catch (...) {  // a thread could not be created: leave the pool usable (serial) and report
      busy_.store(false, std::memory_order_release);
      throw;
    }
    task_ = task;
    ctx_ = ctx;
    done_.store(0, std::memory_order_relaxed);
    job_ = (job_ + 1) & 0xffffffffu;
    // Part 0 is the caller's: the word is published with part 1 next, so a worker spinning on it can never take part 0
    // (NetRun gives the caller the lighter part, or, in its split schedule, the part the worker's part waits for).
    state_.store((job_ << 32) | (uint64_t(parts) << 16) | 1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard<std::mutex> lock(m_); }
      cv_.notify_all();
    }
    task(ctx, 0);
    done_.fetch_add(1, std::memory_order_acq_rel);
    claim_parts();
    wait_parts(parts);
    busy_.store(false, std::memory_order_release);
    return true;
  }

 private:
  WorkerPool() {
    const char* s = std::getenv("ROT_TRACK_SPIN_US");
    spin_us_ = s && *s ? std::max(0L, std::strtol(s, nullptr, 10)) : 200;
    const char* p = std::getenv("ROT_TRACK_PIN");
    cpu_set_t set;
    pin_caller_ = !(p && (std::strcmp(p, "workers") == 0 || std::strcmp(p, "none") == 0));
    if (!(p && std::strcmp(p, "none") == 0) && sched_getaffinity(0, sizeof set, &set) == 0) {
      for (int c = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, &set)) cpus_.push_back(c);
      }
      pin_ = cpus_.size() > 1;
    }
    if (!pin_) pin_caller_ = false;
  }

  static void pin_to(pthread_t thread, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(thread, sizeof set, &set);  // best effort: left to the scheduler if refused
  }

  // At the first job: the workers go on the CPUs after the one its caller runs on.
  void place_workers() {
    if (base_ >= 0) return;
    const int cpu = sched_getcpu();
    base_ = 0;
    for (size_t i = 0; i < cpus_.size(); i++) {
      if (cpus_[i] == cpu) base_ = int(i);
    }
  }

  // ROT_TRACK_PIN=all: the calling thread held on the first caller's CPU while it runs a job (off the workers' CPUs),
  // its own mask back after — so that threads and processes it starts outside a job (onnxruntime's, worker_threads,
  // ffmpeg) do not inherit one CPU. About 4 µs a job (scripts/affinity-cost.c: 3.75–4.1 µs a pin and restore).
  class CallerPin {
   public:
    explicit CallerPin(int cpu) {
      if (cpu < 0 || pthread_getaffinity_np(pthread_self(), sizeof own_, &own_) != 0) return;
      pin_to(pthread_self(), cpu);
      held_ = true;
    }
    ~CallerPin() {
      if (held_) pthread_setaffinity_np(pthread_self(), sizeof own_, &own_);
    }
    CallerPin(const CallerPin&) = delete;
    CallerPin& operator=(const CallerPin&) = delete;

   private:
    cpu_set_t own_;
    bool held_ = false;
  };

  // The CPU of worker k (0-based) under ROT_TRACK_PIN: the allowed CPUs after the first caller's, in turn.
  int worker_cpu(int64_t k) const { return cpus_[size_t((base_ + 1 + k) % int64_t(cpus_.size()))]; }

  static uint64_t job_of(uint64_t s) { return s >> 32; }

  // The caller waits for the workers' parts: spinning for 50 µs, then yielding the CPU at every check. A worker that
  // shares the caller's CPU (the other cores busy, or more threads than cores) runs only once the caller stops; a
  // caller spinning until the scheduler preempted it held such a worker back for a time slice per job.
  void wait_parts(int64_t parts) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
    bool spin = true;
    for (int k = 0; done_.load(std::memory_order_acquire) < parts; k++) {
      if (!spin) {
        std::this_thread::yield();
      } else {
        cpu_relax();
        if ((k & 63) == 63 && std::chrono::steady_clock::now() >= until) spin = false;
      }
    }
  }

  // Claims and runs parts until none is left. A part claimed from the word belongs to the job the word names, whose
  // task_ / ctx_ the acquire makes visible, and that job cannot finish (and be replaced) before this part is done.
  void claim_parts() {
    for (;;) {
      const uint64_t s = state_.fetch_add(1, std::memory_order_acq_rel);
      const int64_t parts = int64_t((s >> 16) & 0xffff), part = int64_t(s & 0xffff);
      if (part >= parts) return;
      task_(ctx_, part);
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  void ensure_workers(int64_t n) {
    while (workers_ < n) {
      const uint64_t seen = job_;  // the job about to be published is new to this worker
      std::thread worker([this, seen] { loop(seen); });
      // pinned by its creator, at once: a thread starts with its creator's mask, which may be the caller's one CPU
      if (pin_) pin_to(worker.native_handle(), worker_cpu(workers_));
      worker.detach();
      workers_++;
    }
  }

  void loop(uint64_t seen) {
    for (;;) {
      uint64_t s = state_.load(std::memory_order_acquire);
      if (job_of(s) == seen) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
        int k = 0;
        while (job_of(s = state_.load(std::memory_order_acquire)) == seen) {
          cpu_relax();
          if ((++k & 255) == 0 && std::chrono::steady_clock::now() >= until) break;
        }
        if (job_of(s) == seen) {
          std::unique_lock<std::mutex> lock(m_);
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          cv_.wait(lock, [&] { return job_of(state_.load(std::memory_order_seq_cst)) != seen; });
          sleepers_.fetch_sub(1, std::memory_order_seq_cst);
          s = state_.load(std::memory_order_acquire);
        }
      }
      seen = job_of(s);
      // Only increments the word when its part count is not used up: a worker that missed a whole job does nothing.
      if ((s & 0xffff) < ((s >> 16) & 0xffff)) claim_parts();
    }
  }

  std::atomic<uint64_t> state_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> busy_{false};
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  uint64_t job_ = 0;  // written by the caller holding busy_
  int64_t workers_ = 0;
  long spin_us_ = 200;
  bool pin_ = false;          // the workers pinned (ROT_TRACK_PIN unset, workers or all; 2 CPUs or more allowed)
  bool pin_caller_ = false;   // and each caller while it runs a job (ROT_TRACK_PIN unset or all)
  std::vector<int> cpus_;     // the process's allowed CPUs (when pinning)
  int base_ = -1;             // index in cpus_ of the first caller's CPU
  std::mutex m_;
  std::condition_variable cv_;
};

// Runs fn(part) for part in [0, parts) on the pool, or on this thread when the pool is busy.
template <typename F>
void run_parts(int64_t parts, F& fn) {
  if (parts <= 1 || !WorkerPool::instance().run(parts, [](void* c, int64_t p) { (*static_cast<F*>(c))(p); }, &fn)) {
    for (int64_t p = 0; p < parts; p++) fn(p);
  }
}

}  // namespace rtn
