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
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>

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
  }

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
      std::thread([this, seen] { loop(seen); }).detach();
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
