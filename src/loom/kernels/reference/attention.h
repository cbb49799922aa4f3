// Reference causal multi-head self-attention, fused: scores, mask, softmax and the weighted
// sum in one kernel. Only the log-sum-exp of each score row is saved (B, NH, T); the
// backward recomputes the probabilities from it, so no (T, T) matrix per head is stored.
//
// Per head, with s_j = scale * q_t . k_j for j <= t and p_j = exp(s_j - lse_t):
//   o_t   = sum_j p_j v_j
//   D_t   = do_t . o_t
//   ds_j  = p_j (do_t . v_j - D_t)
//   dq_t += scale * sum_j ds_j k_j,   dk_j += scale * ds_j q_t,   dv_j += p_j do_t
// Layout: qkv (B, T, 3C) holds q | k | v along the last axis; head h uses columns
// [h*HS, (h+1)*HS) of each; out (B, T, C) has the heads side by side.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace loom::kernels::reference {

template <typename T>
void attention_forward(T* out, T* lse, const T* qkv, int64_t B, int64_t Tn, int64_t C, int64_t NH) {
  const int64_t HS = C / NH;
  const T scale = T(1) / std::sqrt(static_cast<T>(HS));
  std::vector<T> s(static_cast<size_t>(Tn));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < NH; ++h)
      for (int64_t t = 0; t < Tn; ++t) {
        const T* q = qkv + (b * Tn + t) * 3 * C + h * HS;
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j <= t; ++j) {
          const T* k = qkv + (b * Tn + j) * 3 * C + C + h * HS;
          T d = 0;
          for (int64_t i = 0; i < HS; ++i) d += q[i] * k[i];
          s[j] = d * scale;
          if (s[j] > m) m = s[j];
        }
        T l = 0;
        for (int64_t j = 0; j <= t; ++j) {
          s[j] = std::exp(s[j] - m);
          l += s[j];
        }
        T* o = out + (b * Tn + t) * C + h * HS;
        for (int64_t i = 0; i < HS; ++i) o[i] = 0;
        for (int64_t j = 0; j <= t; ++j) {
          const T* v = qkv + (b * Tn + j) * 3 * C + 2 * C + h * HS;
          for (int64_t i = 0; i < HS; ++i) o[i] += s[j] / l * v[i];
        }
        lse[(b * NH + h) * Tn + t] = m + std::log(l);
      }
}

// Accumulates into dqkv (B, T, 3C).
template <typename T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const T* lse, int64_t B,
                        int64_t Tn, int64_t C, int64_t NH) {
  const int64_t HS = C / NH;
  const T scale = T(1) / std::sqrt(static_cast<T>(HS));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < NH; ++h)
      for (int64_t t = 0; t < Tn; ++t) {
        const T* q = qkv + (b * Tn + t) * 3 * C + h * HS;
        const T* dO = dout + (b * Tn + t) * C + h * HS;
        const T* o = out + (b * Tn + t) * C + h * HS;
        T* dq = dqkv + (b * Tn + t) * 3 * C + h * HS;
        T D = 0;
        for (int64_t i = 0; i < HS; ++i) D += dO[i] * o[i];
        const T L = lse[(b * NH + h) * Tn + t];
        for (int64_t j = 0; j <= t; ++j) {
          const T* k = qkv + (b * Tn + j) * 3 * C + C + h * HS;
          const T* v = qkv + (b * Tn + j) * 3 * C + 2 * C + h * HS;
          T* dk = dqkv + (b * Tn + j) * 3 * C + C + h * HS;
          T* dv = dqkv + (b * Tn + j) * 3 * C + 2 * C + h * HS;
          T sc = 0, dp = 0;
          for (int64_t i = 0; i < HS; ++i) {
            sc += q[i] * k[i];
            dp += dO[i] * v[i];
          }
          T p = std::exp(sc * scale - L);
          T ds = p * (dp - D);
          for (int64_t i = 0; i < HS; ++i) {
            dq[i] += scale * ds * k[i];
            dk[i] += scale * ds * q[i];
            dv[i] += p * dO[i];
          }
        }
      }
}

// Inference attention against a KV cache. q (B, Tq, C) are the queries for positions
// past .. past+Tq-1; kcache, vcache (B, S, C) hold keys/values for positions 0..past+Tq-1
// (S >= past + Tq is the cache capacity). out (B, Tq, C).
template <typename T>
void attention_cached_forward(T* out, const T* q, const T* kcache, const T* vcache, int64_t B,
                              int64_t Tq, int64_t past, int64_t S, int64_t C, int64_t NH) {
  const int64_t HS = C / NH;
  const T scale = T(1) / std::sqrt(static_cast<T>(HS));
  std::vector<T> s(static_cast<size_t>(past + Tq));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < NH; ++h)
      for (int64_t t = 0; t < Tq; ++t) {
        const T* qt = q + (b * Tq + t) * C + h * HS;
        const int64_t n_keys = past + t + 1;
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < n_keys; ++j) {
          const T* k = kcache + (b * S + j) * C + h * HS;
          T d = 0;
          for (int64_t i = 0; i < HS; ++i) d += qt[i] * k[i];
          s[j] = d * scale;
          if (s[j] > m) m = s[j];
        }
        T l = 0;
        for (int64_t j = 0; j < n_keys; ++j) {
          s[j] = std::exp(s[j] - m);
          l += s[j];
        }
        T* o = out + (b * Tq + t) * C + h * HS;
        for (int64_t i = 0; i < HS; ++i) o[i] = 0;
        for (int64_t j = 0; j < n_keys; ++j) {
          const T* v = vcache + (b * S + j) * C + h * HS;
          for (int64_t i = 0; i < HS; ++i) o[i] += s[j] / l * v[i];
        }
      }
}

}  // namespace loom::kernels::reference
