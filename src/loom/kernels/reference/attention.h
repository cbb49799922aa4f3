// Reference multi-head self-attention, fused: scores, mask, softmax and the weighted sum in
// one kernel. Only the log-sum-exp of each score row is saved (B, NH, T); the backward
// recomputes the probabilities from it, so no (T, T) matrix per head is stored.
//
// Per head, with s_j = scale * q_t . k_j over the keys j that query t may see and
// p_j = exp(s_j - lse_t):
//   o_t   = sum_j p_j v_j
//   D_t   = do_t . o_t
//   ds_j  = p_j (do_t . v_j - D_t)
//   dq_t += scale * sum_j ds_j k_j,   dk_j += scale * ds_j q_t,   dv_j += p_j do_t
// Query t sees key j when j <= t (causal, GPT) or always (bidirectional, BERT), and in both
// cases only if key_mask (B, T) is null or key_mask[b, j] != 0 (padding). A query that sees
// no key at all gets o_t = 0, lse_t = 0 and no gradient.
// Layout: query row t of batch b, head h is q + (b*T + t)*ld + h*HS, likewise k and v (so
// a fused qkv (B, T, 3C) is q = qkv, k = qkv + C, v = qkv + 2C with ld = 3C, and separate
// (B, T, C) tensors have ld = C); out (B, T, C) has the heads side by side.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace loom::kernels::reference {

// Which keys each query sees (see the file comment).
struct AttentionMask {
  bool causal = true;
  const int32_t* key_mask = nullptr;  // (B, T) or null
  bool sees(int64_t b, int64_t Tn, int64_t t, int64_t j) const {
    return (!causal || j <= t) && (key_mask == nullptr || key_mask[b * Tn + j] != 0);
  }
};

template <typename T>
void attention_forward(T* out, T* lse, const T* q, const T* k, const T* v, int64_t ld, int64_t B, int64_t Tn,
                       int64_t C, int64_t NH, AttentionMask mask) {
  const int64_t HS = C / NH;
  const T scale = T(1) / std::sqrt(static_cast<T>(HS));
  std::vector<T> s(static_cast<size_t>(Tn));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < NH; ++h)
      for (int64_t t = 0; t < Tn; ++t) {
        const T* qt = q + (b * Tn + t) * ld + h * HS;
        T* o = out + (b * Tn + t) * C + h * HS;
        for (int64_t i = 0; i < HS; ++i) o[i] = 0;
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < Tn; ++j) {
          if (!mask.sees(b, Tn, t, j)) continue;
          const T* kj = k + (b * Tn + j) * ld + h * HS;
          T d = 0;
          for (int64_t i = 0; i < HS; ++i) d += qt[i] * kj[i];
          s[j] = d * scale;
          if (s[j] > m) m = s[j];
        }
        T& L = lse[(b * NH + h) * Tn + t];
        if (m == -std::numeric_limits<T>::infinity()) {  // sees no key
          L = 0;
          continue;
        }
        T l = 0;
        for (int64_t j = 0; j < Tn; ++j) {
          if (!mask.sees(b, Tn, t, j)) continue;
          s[j] = std::exp(s[j] - m);
          l += s[j];
        }
        for (int64_t j = 0; j < Tn; ++j) {
          if (!mask.sees(b, Tn, t, j)) continue;
          const T* vj = v + (b * Tn + j) * ld + h * HS;
          for (int64_t i = 0; i < HS; ++i) o[i] += s[j] / l * vj[i];
        }
        L = m + std::log(l);
      }
}

// Accumulates into dq, dk, dv (same layout and stride ld as q, k, v).
template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v, int64_t ld,
                        const T* out, const T* lse, int64_t B, int64_t Tn, int64_t C, int64_t NH,
                        AttentionMask mask) {
  const int64_t HS = C / NH;
  const T scale = T(1) / std::sqrt(static_cast<T>(HS));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < NH; ++h)
      for (int64_t t = 0; t < Tn; ++t) {
        const T* qt = q + (b * Tn + t) * ld + h * HS;
        const T* dO = dout + (b * Tn + t) * C + h * HS;
        const T* o = out + (b * Tn + t) * C + h * HS;
        T* dqt = dq + (b * Tn + t) * ld + h * HS;
        T D = 0;
        for (int64_t i = 0; i < HS; ++i) D += dO[i] * o[i];
        const T L = lse[(b * NH + h) * Tn + t];
        for (int64_t j = 0; j < Tn; ++j) {
          if (!mask.sees(b, Tn, t, j)) continue;
          const T* kj = k + (b * Tn + j) * ld + h * HS;
          const T* vj = v + (b * Tn + j) * ld + h * HS;
          T* dkj = dk + (b * Tn + j) * ld + h * HS;
          T* dvj = dv + (b * Tn + j) * ld + h * HS;
          T sc = 0, dp = 0;
          for (int64_t i = 0; i < HS; ++i) {
            sc += qt[i] * kj[i];
            dp += dO[i] * vj[i];
          }
          T p = std::exp(sc * scale - L);
          T ds = p * (dp - D);
          for (int64_t i = 0; i < HS; ++i) {
            dqt[i] += scale * ds * kj[i];
            dkj[i] += scale * ds * qt[i];
            dvj[i] += p * dO[i];
          }
        }
      }
}

// Causal attention on a fused qkv (B, T, 3C) (GPT).
template <typename T>
void attention_forward(T* out, T* lse, const T* qkv, int64_t B, int64_t Tn, int64_t C, int64_t NH) {
  attention_forward<T>(out, lse, qkv, qkv + C, qkv + 2 * C, 3 * C, B, Tn, C, NH, AttentionMask{});
}

// Its backward; accumulates into dqkv (B, T, 3C).
template <typename T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const T* lse, int64_t B,
                        int64_t Tn, int64_t C, int64_t NH) {
  attention_backward<T>(dqkv, dqkv + C, dqkv + 2 * C, dout, qkv, qkv + C, qkv + 2 * C, 3 * C, out, lse, B, Tn, C,
                        NH, AttentionMask{});
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
