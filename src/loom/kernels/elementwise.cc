// Optimized elementwise kernels: fixed chunks over threads. The embedding backward splits
// the channel dimension across threads, so every dwte element is summed by one thread in
// token order (deterministic, no atomics).
#include "loom/kernels/elementwise.h"

#include <cmath>
#include <cstring>

#include "loom/base/rng.h"
#include "loom/base/threads.h"
#include "loom/kernels/dispatch.h"
#include "loom/kernels/multiversion.h"
#include "loom/kernels/reference/elementwise.h"

namespace loom::kernels {

namespace {
constexpr int64_t kChunk = 8192;
}  // namespace

void embedding_forward(float* out, const int32_t* ids, const float* wte, const float* wpe, int64_t B,
                       int64_t T, int64_t C) {
  if (use_reference()) return reference::embedding_forward<float>(out, ids, wte, wpe, B, T, C);
  parallel_for(B * T, [&](int64_t lo, int64_t hi) {
    for (int64_t bt = lo; bt < hi; ++bt) {
      const int64_t t = bt % T;
      float* o = out + bt * C;
      const float* e = wte + static_cast<int64_t>(ids[bt]) * C;
      if (wpe) {
#pragma omp simd
        for (int64_t i = 0; i < C; ++i) o[i] = e[i] + wpe[t * C + i];
      } else {
        for (int64_t i = 0; i < C; ++i) o[i] = e[i];
      }
    }
  }, 8);
}

void embedding_backward(float* dwte, float* dwpe, const float* dout, const int32_t* ids, int64_t B,
                        int64_t T, int64_t C) {
  if (use_reference()) return reference::embedding_backward<float>(dwte, dwpe, dout, ids, B, T, C);
  constexpr int64_t kCols = 32;
  const int64_t n_blocks = (C + kCols - 1) / kCols;
  parallel_for(n_blocks, [&](int64_t blk_lo, int64_t blk_hi) {
    const int64_t c0 = blk_lo * kCols, c1 = blk_hi * kCols < C ? blk_hi * kCols : C;
    for (int64_t bt = 0; bt < B * T; ++bt) {
      const float* d = dout + bt * C;
      if (dwte) {
        float* e = dwte + static_cast<int64_t>(ids[bt]) * C;
        for (int64_t i = c0; i < c1; ++i) e[i] += d[i];
      }
      if (dwpe) {
        float* p = dwpe + (bt % T) * C;
        for (int64_t i = c0; i < c1; ++i) p[i] += d[i];
      }
    }
  });
}

namespace {

// Element i is kept iff counter_uniform(seed, i) >= p, tested in integers as
// counter_bits24(seed, i) >= ceil(p * 2^24) (base/rng.h): the same mask as the reference, in
// a loop the compiler vectorizes (64-bit lanes).
uint64_t keep_threshold(float p) { return static_cast<uint64_t>(std::ceil(static_cast<double>(p) * 16777216.0)); }

LOOM_MULTIVERSION void dropout_forward_span(float* out, const float* inp, int64_t lo, int64_t hi, uint64_t threshold,
                                            float scale, uint64_t seed) {
  for (int64_t i = lo; i < hi; ++i)
    out[i] = counter_bits24(seed, static_cast<uint64_t>(i)) >= threshold ? inp[i] * scale : 0.0f;
}

LOOM_MULTIVERSION void dropout_backward_span(float* dinp, const float* dout, int64_t lo, int64_t hi,
                                             uint64_t threshold, float scale, uint64_t seed) {
  for (int64_t i = lo; i < hi; ++i)
    dinp[i] += counter_bits24(seed, static_cast<uint64_t>(i)) >= threshold ? dout[i] * scale : 0.0f;
}

}  // namespace

void dropout_forward(float* out, const float* inp, int64_t n, float p, uint64_t seed) {
  if (use_reference()) return reference::dropout_forward<float>(out, inp, n, p, seed);
  const float scale = 1.0f / (1.0f - p);
  const uint64_t threshold = keep_threshold(p);
  parallel_for(n, [&](int64_t lo, int64_t hi) { dropout_forward_span(out, inp, lo, hi, threshold, scale, seed); },
               kChunk);
}

void dropout_backward(float* dinp, const float* dout, int64_t n, float p, uint64_t seed) {
  if (use_reference()) return reference::dropout_backward<float>(dinp, dout, n, p, seed);
  const float scale = 1.0f / (1.0f - p);
  const uint64_t threshold = keep_threshold(p);
  parallel_for(n, [&](int64_t lo, int64_t hi) { dropout_backward_span(dinp, dout, lo, hi, threshold, scale, seed); },
               kChunk);
}

void add_forward(float* out, const float* a, const float* b, int64_t n) {
  if (use_reference()) return reference::add_forward<float>(out, a, b, n);
  parallel_for(n, [&](int64_t lo, int64_t hi) {
    reference::add_forward<float>(out + lo, a + lo, b + lo, hi - lo);
  }, kChunk);
}

void copy(float* dst, const float* src, int64_t n) {
  parallel_for(n, [&](int64_t lo, int64_t hi) {
    std::memcpy(dst + lo, src + lo, static_cast<size_t>(hi - lo) * sizeof(float));
  }, kChunk);
}

void accumulate(float* dst, const float* src, int64_t n) {
  if (use_reference()) return reference::accumulate<float>(dst, src, n);
  parallel_for(n, [&](int64_t lo, int64_t hi) {
    reference::accumulate<float>(dst + lo, src + lo, hi - lo);
  }, kChunk);
}

}  // namespace loom::kernels
