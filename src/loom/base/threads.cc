// The thread pool: one job at a time, published through an epoch counter that workers spin
// on, then sleep on a condition variable when no job has come for a while. The caller, once
// its own share is done, waits for the workers by pausing for a short while and then yielding
// the CPU on each turn: when other programs keep the cores busy, the worker it waits for may
// be descheduled, and pure spinning would burn the time slice that worker needs. (Yielding in
// the workers' idle spin as well cost ~10% on C2 training on a quiet machine, so they pause.)
#include "loom/base/threads.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "loom/base/check.h"

namespace loom {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// How long an idle worker spins before it sleeps.
constexpr auto kSpin = std::chrono::microseconds(1000);
// The caller's wait: turns with a pause (each ~50-150 cycles) before every further turn yields.
constexpr int kPauseTurns = 1024;

inline void backoff(int turn) {
  if (turn < kPauseTurns)
    cpu_relax();
  else
    std::this_thread::yield();
}

thread_local bool t_in_region = false;

class Pool {
 public:
  explicit Pool(int n) : size_(n) {
    for (int tid = 1; tid < n; ++tid) workers_.emplace_back([this, tid] { work(tid); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(sleep_mu_);
      stop_ = true;
      epoch_.fetch_add(1);
    }
    sleep_cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int size() const { return size_; }

  // Runs a region if the pool is free; returns false (and runs nothing) if another
  // application thread holds it.
  bool try_run(detail::RegionFn fn, void* ctx, int want) {
    std::unique_lock<std::mutex> busy(run_mu_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    const int nt = want < size_ ? want : size_;
    fn_ = fn;
    ctx_ = ctx;
    nthreads_ = nt;
    remaining_.store(size_ - 1, std::memory_order_relaxed);
    epoch_.fetch_add(1);  // seq_cst: ordered against the sleepers_ load below
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lk(sleep_mu_);
      sleep_cv_.notify_all();
    }
    t_in_region = true;
    fn(ctx, 0, nt);
    t_in_region = false;
    for (int turn = 0; remaining_.load(std::memory_order_acquire) != 0; ++turn) backoff(turn);
    return true;
  }

 private:
  void work(int tid) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t e = epoch_.load(std::memory_order_acquire);
      if (e == seen) {
        const auto until = std::chrono::steady_clock::now() + kSpin;
        for (int i = 0; (e = epoch_.load(std::memory_order_acquire)) == seen; ++i) {
          cpu_relax();
          if ((i & 255) == 255 && std::chrono::steady_clock::now() > until) {
            std::unique_lock<std::mutex> lk(sleep_mu_);
            sleepers_.fetch_add(1);  // seq_cst: ordered against the epoch_ load in wait()
            sleep_cv_.wait(lk, [&] { return epoch_.load() != seen; });
            sleepers_.fetch_sub(1);
          }
        }
      }
      seen = e;
      if (stop_) return;
      if (tid < nthreads_) {
        t_in_region = true;
        fn_(ctx_, tid, nthreads_);
        t_in_region = false;
      }
      remaining_.fetch_sub(1, std::memory_order_release);
    }
  }

  const int size_;
  std::vector<std::thread> workers_;
  std::mutex run_mu_;  // one region at a time
  // Job fields: written by the caller before the epoch increment, read by workers after.
  detail::RegionFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int nthreads_ = 1;
  bool stop_ = false;
  alignas(64) std::atomic<uint64_t> epoch_{0};
  alignas(64) std::atomic<int> remaining_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
};

int default_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// The pool is created on first use and replaced by set_num_threads; the holder joins its
// workers at exit.
struct PoolHolder {
  std::atomic<Pool*> pool{nullptr};
  std::mutex mu;  // serializes creation and replacement
  ~PoolHolder() { delete pool.load(); }
};
PoolHolder g_holder;

Pool& pool() {
  Pool* p = g_holder.pool.load(std::memory_order_acquire);
  if (p) return *p;
  std::lock_guard<std::mutex> lk(g_holder.mu);
  p = g_holder.pool.load(std::memory_order_acquire);
  if (!p) {
    p = new Pool(default_threads());
    g_holder.pool.store(p, std::memory_order_release);
  }
  return *p;
}

}  // namespace

void set_num_threads(int n) {
  LOOM_CHECK_GE(n, 1);
  LOOM_CHECK(!t_in_region) << "set_num_threads called from inside a parallel region";
  std::lock_guard<std::mutex> lk(g_holder.mu);
  Pool* old = g_holder.pool.load(std::memory_order_acquire);
  if (old && old->size() == n) return;
  g_holder.pool.store(new Pool(n), std::memory_order_release);
  delete old;  // joins its workers; the caller must not be running parallel work meanwhile
}

int num_threads() { return pool().size(); }

namespace detail {

void run_region(RegionFn fn, void* ctx, int want) {
  LOOM_CHECK_GE(want, 1);
  if (t_in_region || want == 1 || !pool().try_run(fn, ctx, want)) {
    const bool outer = t_in_region;
    t_in_region = true;
    fn(ctx, 0, 1);
    t_in_region = outer;
  }
}

}  // namespace detail

float SpeedShares::share(int nt, int t) const {
  LOOM_CHECK(nt > 0 && t >= 0 && t < nt) << "thread " << t << " of " << nt;
  if (nt > kMaxThreads || nt_.load(std::memory_order_acquire) != nt) return 1.0f / static_cast<float>(nt);
  return share_[t].load(std::memory_order_relaxed);
}

void SpeedShares::split(int64_t n, int nt, int64_t* bounds) const {
  LOOM_CHECK(nt > 0 && nt <= kMaxThreads) << "SpeedShares::split for " << nt << " threads";
  // One snapshot, normalized by its own sum: the bounds are consistent even if another
  // thread updates the shares meanwhile.
  float s[kMaxThreads];
  double total = 0.0;
  for (int t = 0; t < nt; ++t) total += s[t] = share(nt, t);
  double cum = 0.0;
  bounds[0] = 0;
  for (int t = 1; t < nt; ++t) {
    cum += s[t - 1];
    int64_t b = std::llround(static_cast<double>(n) * cum / total);
    b = b < bounds[t - 1] ? bounds[t - 1] : b > n ? n : b;
    bounds[t] = b;
  }
  bounds[nt] = n;
}

void SpeedShares::update(int nt, const int64_t* bounds, const double* seconds) {
  if (nt < 2 || nt > kMaxThreads) return;
  const int64_t n = bounds[nt] - bounds[0];
  double longest = 0.0;
  for (int t = 0; t < nt; ++t) {
    // A thread without work, or a region too short to time, says nothing about speed.
    if (bounds[t + 1] <= bounds[t] || !(seconds[t] > 0.0)) return;
    longest = seconds[t] > longest ? seconds[t] : longest;
  }
  constexpr double kShortest = 50e-6, kStep = 0.25;
  if (longest < kShortest) return;
  double target[kMaxThreads], total = 0.0;
  for (int t = 0; t < nt; ++t)
    total += target[t] = static_cast<double>(bounds[t + 1] - bounds[t]) / static_cast<double>(n) / seconds[t];
  // Part of the way from the split that ran towards the one that would have balanced it; no
  // thread below a fifth of an even share, so a thread slowed once (an interrupt, a page
  // fault) keeps enough work to be timed again.
  const double floor = 0.2 / nt;
  double next[kMaxThreads];
  for (int t = 0; t < nt; ++t) {
    const double ran = static_cast<double>(bounds[t + 1] - bounds[t]) / static_cast<double>(n);
    const double v = (1.0 - kStep) * ran + kStep * target[t] / total;
    next[t] = v < floor ? floor : v;
  }
  store(nt, next);
}

void SpeedShares::set(int nt, const float* shares) {
  LOOM_CHECK(nt > 0 && nt <= kMaxThreads) << "SpeedShares::set for " << nt << " threads";
  double values[kMaxThreads];
  for (int t = 0; t < nt; ++t) {
    LOOM_CHECK(shares[t] > 0.0f) << "share " << t << " is " << shares[t];
    values[t] = shares[t];
  }
  store(nt, values);
}

void SpeedShares::store(int nt, const double* values) {
  double sum = 0.0;
  for (int t = 0; t < nt; ++t) sum += values[t];
  for (int t = 0; t < nt; ++t) share_[t].store(static_cast<float>(values[t] / sum), std::memory_order_relaxed);
  nt_.store(nt, std::memory_order_release);
}

OmpSerialScope::OmpSerialScope() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
OmpSerialScope::~OmpSerialScope() { omp_set_num_threads(saved_); }

}  // namespace loom
