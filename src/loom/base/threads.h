// The one thread pool. All of loom's parallel work (its kernels, oneDNN's GEMM called one
// partition per thread, tokenization, data preparation) runs on this pool, so there is never
// a second pool spinning against the first.
//
// Workers spin for about a millisecond after each job before they sleep: a training step is
// a few hundred short parallel regions, and waking a sleeping thread costs tens of
// microseconds each time. The pool does not depend on OpenMP's wait policy; code that uses OpenMP
// (oneDNN's GEMM) runs under OmpSerialScope (below), which holds it to the calling thread.
//
// Calls from inside a running job, from a second application thread while the pool is busy,
// or with one thread configured run inline on the caller: never a deadlock, never nested
// oversubscription.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "loom/base/clock.h"

namespace loom {

// Sets the number of threads (the caller plus n - 1 workers) for all later parallel work.
// n >= 1. The default is the hardware's count (the CLI applies --threads or OMP_NUM_THREADS).
void set_num_threads(int n);
int num_threads();

namespace detail {
using RegionFn = void (*)(void* ctx, int tid, int nthreads);
// Runs fn(ctx, tid, nthreads) once on each of `want` threads (1 <= want; clamped to the pool
// size); the caller is tid 0. Returns when all have finished.
void run_region(RegionFn fn, void* ctx, int want);
}  // namespace detail

// Calls body(tid, nthreads) once on every pool thread; tid 0 is the caller.
template <class F>
void parallel_region(F&& body, int want = 1 << 30) {
  using Fn = std::remove_reference_t<F>;
  detail::run_region([](void* c, int tid, int nt) { (*static_cast<Fn*>(c))(tid, nt); },
                     const_cast<void*>(static_cast<const void*>(&body)), want);
}

// Splits [0, n) into one contiguous chunk per thread and calls body(begin, end) for each
// non-empty chunk. The split depends only on n and the thread count (deterministic). With
// fewer than 2 * min_per_thread items the work runs inline on the caller.
template <class F>
void parallel_for(int64_t n, F&& body, int64_t min_per_thread = 1) {
  if (n <= 0) return;
  const int64_t by_size = min_per_thread > 0 ? n / min_per_thread : n;
  if (by_size < 2 || num_threads() == 1) {
    body(int64_t{0}, n);
    return;
  }
  const int want = by_size < (1 << 30) ? static_cast<int>(by_size) : (1 << 30);
  parallel_region(
      [&](int tid, int nt) {
        const int64_t lo = n * tid / nt, hi = n * (tid + 1) / nt;
        if (lo < hi) body(lo, hi);
      },
      want);
}

// Each pool thread's share of one kind of parallel work, following how fast each thread has
// lately run its part. On a shared or virtual machine one core can run at half speed for
// seconds at a time (another tenant on its sibling hyperthread, say), and an even split then
// makes every region wait for the slow core. After each region the shares move part of the
// way towards those that would have made all threads finish together (a thread's new share
// is proportional to its old share over its time), so they follow such changes within a few
// regions and settle back to even on a quiet machine. Only for work whose results do not
// depend on where the split falls. Safe to use from several threads at once.
class SpeedShares {
 public:
  static constexpr int kMaxThreads = 64;
  // bounds[0..nt]: thread t takes units [bounds[t], bounds[t + 1]) of n (0 < nt <= kMaxThreads).
  void split(int64_t n, int nt, int64_t* bounds) const;
  // After a region that split by `bounds`: thread t took seconds[t].
  void update(int nt, const int64_t* bounds, const double* seconds);
  // Sets the shares for nt threads (normalized here); for tests.
  void set(int nt, const float* shares);
  // The share of thread t (0..1) if the shares are for nt threads, else 1 / nt.
  float share(int nt, int t) const;

 private:
  // Stores values[0..nt) divided by their sum as the shares for nt threads.
  void store(int nt, const double* values);
  std::atomic<int> nt_{0};  // the thread count the shares are for (0: none yet, i.e. even)
  std::atomic<float> share_[kMaxThreads] = {};
};

// parallel_for over units split by `shares` (one contiguous block per thread), timing each
// thread's block to update the shares. The body must give the same results wherever the
// split falls (e.g. every output element computed by one thread, in one order).
template <class F>
void parallel_for_balanced(int64_t n, SpeedShares& shares, F&& body) {
  if (n <= 0) return;
  const int pool_threads = num_threads();
  const int nt = n < pool_threads ? static_cast<int>(n) : pool_threads;
  if (nt < 2 || nt > SpeedShares::kMaxThreads) {
    parallel_for(n, body);
    return;
  }
  int64_t bounds[SpeedShares::kMaxThreads + 1];
  double seconds[SpeedShares::kMaxThreads];
  shares.split(n, nt, bounds);
  bool split_ran = false;  // written by thread 0 only
  parallel_region(
      [&](int tid, int got) {
        if (got != nt) {  // ran inline on fewer threads: an even split of the work
          const int64_t lo = n * tid / got, hi = n * (tid + 1) / got;
          if (lo < hi) body(lo, hi);
          return;
        }
        const double t0 = monotonic_seconds();
        if (bounds[tid] < bounds[tid + 1]) body(bounds[tid], bounds[tid + 1]);
        seconds[tid] = monotonic_seconds() - t0;
        if (tid == 0) split_ran = true;
      },
      nt);
  if (split_ran) shares.update(nt, bounds, seconds);
}

// Calls body(state, i) for every i in [0, n), handing out indices one at a time to whichever
// thread is free (for items of very different cost, e.g. text chunks, or when one core may be
// slower than the other). Each thread first makes its own state, e.g. scratch space, with
// make_state(tid).
template <class MakeState, class F>
void parallel_dynamic_with(int64_t n, MakeState&& make_state, F&& body) {
  if (n <= 0) return;
  std::atomic<int64_t> next{0};
  parallel_region(
      [&](int tid, int) {
        auto state = make_state(tid);
        for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < n;
             i = next.fetch_add(1, std::memory_order_relaxed))
          body(state, i);
      },
      n < (1 << 30) ? static_cast<int>(n) : (1 << 30));
}

// parallel_dynamic_with whose state is the thread's id: body(tid, i).
template <class F>
void parallel_dynamic(int64_t n, F&& body) {
  parallel_dynamic_with(n, [](int tid) { return tid; }, body);
}

// While alive, OpenMP regions started by this thread (e.g. inside a oneDNN call) run on
// this thread alone; the previous setting is restored on exit.
class OmpSerialScope {
 public:
  OmpSerialScope();
  ~OmpSerialScope();
  OmpSerialScope(const OmpSerialScope&) = delete;
  OmpSerialScope& operator=(const OmpSerialScope&) = delete;

 private:
  int saved_;
};

}  // namespace loom
