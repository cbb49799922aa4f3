// Optimized attention: one (batch, head) pair per task, a score row of at most T floats
// per thread, SIMD dot products. The backward writes dq, dk, dv of its own head only,
// so tasks never race.
#include "loom/kernels/attention.h"

#include <cmath>
#include <limits>
#include <vector>

#include "loom/base/threads.h"
#include "loom/kernels/dispatch.h"
#include "loom/kernels/fast_math.h"
#include "loom/kernels/multiversion.h"
#include "loom/kernels/reference/attention.h"

namespace loom::kernels {

namespace {
inline float dot(const float* a, const float* b, int64_t n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

inline void axpy(float* y, float a, const float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// Softmax-weighted sum of one query row over n_keys keys; returns lse. kv rows at stride.
LOOM_MULTIVERSION float attend_row(float* o, float* s, const float* q, const float* k, const float* v, int64_t stride,
                 int64_t n_keys, int64_t HS, float scale) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n_keys; ++j) {
    s[j] = dot(q, k + j * stride, HS) * scale;
    m = s[j] > m ? s[j] : m;
  }
  float l = 0;
#pragma omp simd reduction(+ : l)
  for (int64_t j = 0; j < n_keys; ++j) {
    s[j] = exp_approx(s[j] - m);
    l += s[j];
  }
  const float inv = 1.0f / l;
  for (int64_t i = 0; i < HS; ++i) o[i] = 0;
  for (int64_t j = 0; j < n_keys; ++j) axpy(o, s[j] * inv, v + j * stride, HS);
  return m + std::log(l);
}
// The backward of one (batch, head): rows of q/k/v at stride 3C, of out/dout at stride C.
LOOM_MULTIVERSION void attention_backward_head(float* dbase, const float* dout, const float* base, const float* out,
                                               const float* lse, int64_t T, int64_t C, int64_t HS, float scale) {
  for (int64_t t = 0; t < T; ++t) {
    const float* q = base + t * 3 * C;
    const float* dO = dout + t * C;
    const float* o = out + t * C;
    float* dq = dbase + t * 3 * C;
    const float D = dot(dO, o, HS);
    const float L = lse[t];
    for (int64_t j = 0; j <= t; ++j) {
      const float* k = base + j * 3 * C + C;
      const float* v = base + j * 3 * C + 2 * C;
      const float p = exp_approx(dot(q, k, HS) * scale - L);
      const float ds = p * (dot(dO, v, HS) - D);
      axpy(dq, scale * ds, k, HS);
      axpy(dbase + j * 3 * C + C, scale * ds, q, HS);
      axpy(dbase + j * 3 * C + 2 * C, p, dO, HS);
    }
  }
}

}  // namespace

void attention_forward(float* out, float* lse, const float* qkv, int64_t B, int64_t T, int64_t C,
                       int64_t NH) {
  if (use_reference()) return reference::attention_forward<float>(out, lse, qkv, B, T, C, NH);
  const int64_t HS = C / NH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  parallel_for(B * NH, [&](int64_t lo, int64_t hi) {
    std::vector<float> s(static_cast<size_t>(T));
    for (int64_t bh = lo; bh < hi; ++bh) {
      const int64_t b = bh / NH, h = bh % NH;
      const float* base = qkv + b * T * 3 * C + h * HS;
      for (int64_t t = 0; t < T; ++t)
        lse[(b * NH + h) * T + t] = attend_row(out + (b * T + t) * C + h * HS, s.data(),
                                               base + t * 3 * C, base + C, base + 2 * C, 3 * C,
                                               t + 1, HS, scale);
    }
  });
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out,
                        const float* lse, int64_t B, int64_t T, int64_t C, int64_t NH) {
  if (use_reference())
    return reference::attention_backward<float>(dqkv, dout, qkv, out, lse, B, T, C, NH);
  const int64_t HS = C / NH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  parallel_for(B * NH, [&](int64_t lo, int64_t hi) {
    for (int64_t bh = lo; bh < hi; ++bh) {
      const int64_t b = bh / NH, h = bh % NH;
      attention_backward_head(dqkv + b * T * 3 * C + h * HS, dout + b * T * C + h * HS,
                              qkv + b * T * 3 * C + h * HS, out + b * T * C + h * HS,
                              lse + (b * NH + h) * T, T, C, HS, scale);
    }
  });
}

void attention_cached_forward(float* out, const float* q, const float* kcache, const float* vcache,
                              int64_t B, int64_t Tq, int64_t past, int64_t S, int64_t C, int64_t NH) {
  if (use_reference())
    return reference::attention_cached_forward<float>(out, q, kcache, vcache, B, Tq, past, S, C, NH);
  const int64_t HS = C / NH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  parallel_for(B * NH * Tq, [&](int64_t lo, int64_t hi) {
    std::vector<float> s(static_cast<size_t>(past + Tq));
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t b = i / (NH * Tq), h = i / Tq % NH, t = i % Tq;
      attend_row(out + (b * Tq + t) * C + h * HS, s.data(), q + (b * Tq + t) * C + h * HS,
                 kcache + b * S * C + h * HS, vcache + b * S * C + h * HS, C, past + t + 1, HS,
                 scale);
    }
  });
}

}  // namespace loom::kernels
