// Optimized optimizer kernels: the reference update applied to fixed chunks in parallel.
#include "loom/kernels/optimizer.h"

#include <vector>

#include <cmath>

#include "loom/base/threads.h"
#include "loom/kernels/dispatch.h"
#include "loom/kernels/multiversion.h"
#include "loom/kernels/reference/optimizer.h"

namespace loom::kernels {

namespace {
constexpr int64_t kChunk = 16384;
inline int64_t len(int64_t c, int64_t n) { return c + kChunk < n ? kChunk : n - c; }
// The AdamW/Adam update in float with the bias corrections precomputed per call.
LOOM_MULTIVERSION void adam_chunk(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1,
                                  float beta2, float eps, float wd, float inv_bc1, float inv_sqrt_bc2, bool decoupled,
                                  float grad_scale) {
  const float decay = decoupled ? 1.0f - lr * wd : 1.0f;
  const float l2 = decoupled ? 0.0f : wd;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] * grad_scale + l2 * param[i];
    m[i] = beta1 * m[i] + (1.0f - beta1) * g;
    v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
    const float denom = std::sqrt(v[i]) * inv_sqrt_bc2 + eps;
    param[i] = param[i] * decay - lr * (m[i] * inv_bc1) / denom;
  }
}
// Sum of squares of one chunk in double: 16 independent partial sums (so the loop
// vectorizes without reassociating anything), added in a fixed order at the end.
LOOM_MULTIVERSION double sum_squares_chunk(const float* x, int64_t n) {
  constexpr int kLanes = 16;
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(x[i + j]) * static_cast<double>(x[i + j]);
  double s = 0;
  for (; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  return s;
}
}  // namespace

void adamw_update(float* param, const float* grad, float* m, float* v, int64_t n, float lr,
                  float beta1, float beta2, float eps, float weight_decay, int64_t step, bool decoupled,
                  float grad_scale) {
  if (use_reference())
    return reference::adamw_update<float>(param, grad, m, v, n, lr, beta1, beta2, eps, weight_decay,
                                          step, decoupled, grad_scale);
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  const float inv_bc1 = static_cast<float>(1.0 / bc1), inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  // Chunks handed to whichever thread is free: a core slowed by another tenant takes fewer.
  parallel_dynamic((n + kChunk - 1) / kChunk, [&](int, int64_t c) {
    const int64_t lo = c * kChunk;
    adam_chunk(param + lo, grad + lo, m + lo, v + lo, len(lo, n), lr, beta1, beta2, eps, weight_decay, inv_bc1,
               inv_sqrt_bc2, decoupled, grad_scale);
  });
}

void sgd_update(float* param, const float* grad, float* momentum_buf, int64_t n, float lr,
                float momentum, float weight_decay, bool first_step, float grad_scale) {
  if (use_reference())
    return reference::sgd_update<float>(param, grad, momentum_buf, n, lr, momentum, weight_decay,
                                        first_step, grad_scale);
  parallel_for(n, [&](int64_t lo, int64_t hi) {
    reference::sgd_update<float>(param + lo, grad + lo, momentum_buf ? momentum_buf + lo : nullptr,
                                 hi - lo, lr, momentum, weight_decay, first_step, grad_scale);
  }, kChunk);
}

double sum_squares(const float* x, int64_t n) {
  if (use_reference()) return reference::sum_squares<float>(x, n);
  const int64_t n_chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<size_t>(n_chunks));
  parallel_for(n_chunks, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c)
      part[static_cast<size_t>(c)] = sum_squares_chunk(x + c * kChunk, len(c * kChunk, n));
  });
  double s = 0;
  for (double p : part) s += p;
  return s;
}

void scale_inplace(float* x, int64_t n, float s) {
  parallel_for(n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) x[i] *= s;
  }, kChunk);
}

}  // namespace loom::kernels
