// Optimized cross-entropy: rows in parallel, the probabilities computed on the fly in
// the backward from the saved log-sum-exp (never stored).
#include "loom/kernels/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "loom/base/threads.h"
#include "loom/kernels/dispatch.h"
#include "loom/kernels/fast_math.h"
#include "loom/kernels/multiversion.h"
#include "loom/kernels/reference/cross_entropy.h"

namespace loom::kernels {

namespace {
// log-sum-exp of one row.
LOOM_MULTIVERSION float row_lse(const float* x, int64_t V) {
  float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < V; ++i) m = x[i] > m ? x[i] : m;
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < V; ++i) s += exp_approx(x[i] - m);
  return m + std::log(s);
}

// d += g * softmax(x), softmax from the saved lse.
LOOM_MULTIVERSION void row_softmax_axpy(float* d, const float* x, float L, float g, int64_t V) {
#pragma omp simd
  for (int64_t i = 0; i < V; ++i) d[i] += g * exp_approx(x[i] - L);
}

// d = g * softmax(x): d is not read.
LOOM_MULTIVERSION void row_softmax_scaled(float* d, const float* x, float L, float g, int64_t V) {
#pragma omp simd
  for (int64_t i = 0; i < V; ++i) d[i] = g * exp_approx(x[i] - L);
}
}  // namespace

void cross_entropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                           int64_t N, int64_t V) {
  if (use_reference())
    return reference::cross_entropy_forward<float>(losses, lse, logits, targets, N, V);
  parallel_for(N, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      const float* x = logits + n * V;
      lse[n] = row_lse(x, V);
      losses[n] = targets[n] < 0 ? 0.0f : lse[n] - x[targets[n]];
    }
  });
}

void cross_entropy_backward(float* dlogits, const float* logits, const float* lse,
                            const int32_t* targets, const float* dlosses, int64_t N, int64_t V,
                            bool overwrite) {
  if (use_reference())
    return reference::cross_entropy_backward<float>(dlogits, logits, lse, targets, dlosses, N, V, overwrite);
  parallel_for(N, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      float* d = dlogits + n * V;
      if (targets[n] < 0) {
        if (overwrite) std::fill(d, d + V, 0.0f);
        continue;
      }
      const float* x = logits + n * V;
      if (overwrite)
        row_softmax_scaled(d, x, lse[n], dlosses[n], V);
      else
        row_softmax_axpy(d, x, lse[n], dlosses[n], V);
      d[targets[n]] -= dlosses[n];
    }
  });
}

}  // namespace loom::kernels
