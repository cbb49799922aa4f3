// Optimized attention: one (batch, head) pair per task. Training attention is blocked: 64
// query rows at a time, scores and products by GEMM (kernels::gemm, run on the calling
// thread inside the pool), the (causal and/or key-masked) softmax vectorized; a 64 x T score block per thread,
// never a T x T matrix per head in memory. The backward recomputes the probabilities from
// the saved log-sum-exp and writes dq, dk, dv of its own head only, so tasks never race.
// Decoding (attention_cached_forward) handles one query row at a time with dot products.
#include "loom/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "loom/base/threads.h"
#include "loom/kernels/dispatch.h"
#include "loom/kernels/fast_math.h"
#include "loom/kernels/matmul.h"
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

// s[0..n) becomes softmax(s); returns the log-sum-exp of the raw values.
LOOM_MULTIVERSION float softmax_in_place(float* s, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  // Without the pragma GCC keeps a float max reduction scalar (it may not reorder it on its
  // own), and this loop took as long as the exp loop after it.
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < n; ++j) m = s[j] > m ? s[j] : m;
  float l = 0;
#pragma omp simd reduction(+ : l)
  for (int64_t j = 0; j < n; ++j) {
    s[j] = exp_approx(s[j] - m);
    l += s[j];
  }
  const float inv = 1.0f / l;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) s[j] *= inv;
  return m + std::log(l);
}

// Softmax-weighted sum of one query row over n_keys keys; returns lse. kv rows at stride.
LOOM_MULTIVERSION float attend_row(float* o, float* s, const float* q, const float* k, const float* v, int64_t stride,
                 int64_t n_keys, int64_t HS, float scale) {
  for (int64_t j = 0; j < n_keys; ++j) s[j] = dot(q, k + j * stride, HS) * scale;
  const float lse = softmax_in_place(s, n_keys);
  for (int64_t i = 0; i < HS; ++i) o[i] = 0;
  for (int64_t j = 0; j < n_keys; ++j) axpy(o, s[j], v + j * stride, HS);
  return lse;
}

// Rows of query positions per block: the score block is kRowBlock x (keys seen) floats, so
// causal blocks skip the keys after their last row.
constexpr int64_t kRowBlock = 64;

// Keys [0, kend) of batch b can be seen at all: past the last unmasked key every score is
// masked, so the products stop there (right padding costs nothing).
int64_t keys_end(const int32_t* key_mask_b, int64_t T) {
  if (!key_mask_b) return T;
  int64_t end = T;
  while (end > 0 && key_mask_b[end - 1] == 0) --end;
  return end;
}

// n rounded up to a multiple of 16 floats (one AVX-512 vector), but not past width: how far a
// row of n seen keys is processed so that no pass over it ends in a scalar tail.
int64_t whole_vectors_end(int64_t n, int64_t width) {
  const int64_t up = (n + 15) / 16 * 16;
  return up < width ? up : width;
}

// Row i of S (query t = r0 + i, `width` scores at stride ld) becomes the softmax over the keys
// it sees (j <= t if causal; key_mask[j] != 0 if there is a mask) and zero elsewhere;
// lse[i] = log-sum-exp of its seen raw scores (0 if it sees none: then the row is all zero).
LOOM_MULTIVERSION void softmax_rows(float* S, int64_t ld, int64_t rows, int64_t r0, int64_t width, bool causal,
                                    const int32_t* key_mask, float* lse) {
  for (int64_t i = 0; i < rows; ++i) {
    float* s = S + i * ld;
    const int64_t n = causal && r0 + i + 1 < width ? r0 + i + 1 : width;
    if (!key_mask) {
      // In whole vectors: the row runs on to the next multiple of 16 inside the block, its
      // extra entries (keys it must not see, zeroed below) set to -inf so that each weighs
      // e^-87.3 ~ 1e-38 in the sum, which the row's largest entry (weight 1) absorbs. A
      // causal row otherwise ends in a scalar loop of up to 15 elements in each pass.
      const int64_t nv = whole_vectors_end(n, width);
      for (int64_t j = n; j < nv; ++j) s[j] = -std::numeric_limits<float>::infinity();
      lse[i] = softmax_in_place(s, nv);
    } else {
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < n; ++j)
        if (key_mask[j] != 0 && s[j] > m) m = s[j];
      float l = 0;
      for (int64_t j = 0; j < n; ++j) {
        s[j] = key_mask[j] != 0 ? exp_approx(s[j] - m) : 0.0f;
        l += s[j];
      }
      if (l > 0.0f) {
        const float inv = 1.0f / l;
        for (int64_t j = 0; j < n; ++j) s[j] *= inv;
        lse[i] = m + std::log(l);
      } else {
        lse[i] = 0.0f;
      }
    }
    for (int64_t j = n; j < width; ++j) s[j] = 0.0f;
  }
}

// P = exp(S - lse) over the keys each row sees (zero elsewhere), then dS = P * (dP - D) in
// place of dP.
LOOM_MULTIVERSION void softmax_grad_rows(float* S, float* dP, int64_t ld, int64_t rows, int64_t r0, int64_t width,
                                         bool causal, const int32_t* key_mask, const float* lse, const float* D) {
  for (int64_t i = 0; i < rows; ++i) {
    float* s = S + i * ld;
    float* dp = dP + i * ld;
    const int64_t n = causal && r0 + i + 1 < width ? r0 + i + 1 : width;
    const float L = lse[i], Di = D[i];
    if (!key_mask) {
      // In whole vectors, as in softmax_rows: the entries past n hold finite scores of keys
      // the row must not see and are zeroed below.
      const int64_t nv = whole_vectors_end(n, width);
#pragma omp simd
      for (int64_t j = 0; j < nv; ++j) {
        s[j] = exp_approx(s[j] - L);
        dp[j] = s[j] * (dp[j] - Di);
      }
    } else {
      for (int64_t j = 0; j < n; ++j) {
        s[j] = key_mask[j] != 0 ? exp_approx(s[j] - L) : 0.0f;
        dp[j] = s[j] * (dp[j] - Di);
      }
    }
    for (int64_t j = n; j < width; ++j) {
      s[j] = 0.0f;
      dp[j] = 0.0f;
    }
  }
}

// The keys a block of query rows [r0, r0 + rb) sees at most.
int64_t block_width(bool causal, int64_t r0, int64_t rb, int64_t kend) {
  return causal && r0 + rb < kend ? r0 + rb : kend;
}

// One (batch, head), blocked: S = scale Q K^T and O = P V by GEMM, one block of query rows at
// a time. q, k, v rows at stride ld; out rows at stride C; lse and key_mask have T entries.
void attention_forward_head(float* out, float* lse, const float* q, const float* k, const float* v, int64_t ld,
                            int64_t T, int64_t C, int64_t HS, float scale, bool causal, const int32_t* key_mask,
                            float* S, MatmulPrecision precision) {
  const int64_t kend = keys_end(key_mask, T);
  for (int64_t r0 = 0; r0 < T; r0 += kRowBlock) {
    const int64_t rb = T - r0 < kRowBlock ? T - r0 : kRowBlock, w = block_width(causal, r0, rb, kend);
    if (w == 0) {  // these queries see no key
      for (int64_t i = 0; i < rb; ++i) {
        for (int64_t c = 0; c < HS; ++c) out[(r0 + i) * C + c] = 0.0f;
        lse[r0 + i] = 0.0f;
      }
      continue;
    }
    gemm_in(precision, false, true, rb, w, HS, scale, q + r0 * ld, ld, k, ld, 0.0f, S, w);
    softmax_rows(S, w, rb, r0, w, causal, key_mask, lse + r0);
    gemm_in(precision, false, false, rb, HS, w, 1.0f, S, w, v, ld, 0.0f, out + r0 * C, C);
  }
}

// Its backward: recomputes P from lse block by block; D_t = dO_t . O_t;
// dS = P (dP - D) with dP = dO V^T; dQ += scale dS K, dK += scale dS^T Q, dV += P^T dO.
void attention_backward_head(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                             const float* v, int64_t ld, const float* out, const float* lse, int64_t T, int64_t C,
                             int64_t HS, float scale, bool causal, const int32_t* key_mask, float* S, float* dP,
                             float* D, MatmulPrecision precision) {
  const int64_t kend = keys_end(key_mask, T);
  for (int64_t t = 0; t < T; ++t) D[t] = dot(dout + t * C, out + t * C, HS);
  for (int64_t r0 = 0; r0 < T; r0 += kRowBlock) {
    const int64_t rb = T - r0 < kRowBlock ? T - r0 : kRowBlock, w = block_width(causal, r0, rb, kend);
    if (w == 0) continue;
    gemm_in(precision, false, true, rb, w, HS, scale, q + r0 * ld, ld, k, ld, 0.0f, S, w);
    gemm_in(precision, false, true, rb, w, HS, 1.0f, dout + r0 * C, C, v, ld, 0.0f, dP, w);
    softmax_grad_rows(S, dP, w, rb, r0, w, causal, key_mask, lse + r0, D + r0);
    gemm_in(precision, false, false, rb, HS, w, scale, dP, w, k, ld, 1.0f, dq + r0 * ld, ld);
    gemm_in(precision, true, false, w, HS, rb, scale, dP, w, q + r0 * ld, ld, 1.0f, dk, ld);
    gemm_in(precision, true, false, w, HS, rb, 1.0f, S, w, dout + r0 * C, C, 1.0f, dv, ld);
  }
}

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int64_t ld, int64_t B,
                       int64_t T, int64_t C, int64_t NH, AttentionMask mask, MatmulPrecision precision) {
  if (use_reference()) return reference::attention_forward<float>(out, lse, q, k, v, ld, B, T, C, NH, mask);
  const int64_t HS = C / NH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  // Heads handed to whichever thread is free (a core slowed by another tenant takes fewer);
  // each head is computed by one thread, so the results do not depend on who takes what.
  parallel_dynamic_with(
      B * NH, [&](int) { return std::vector<float>(static_cast<size_t>(kRowBlock * T)); },
      [&](std::vector<float>& S, int64_t bh) {
        const int64_t b = bh / NH, h = bh % NH, at = b * T * ld + h * HS;
        attention_forward_head(out + b * T * C + h * HS, lse + bh * T, q + at, k + at, v + at, ld, T, C, HS, scale,
                               mask.causal, mask.key_mask ? mask.key_mask + b * T : nullptr, S.data(), precision);
      });
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, int64_t ld, const float* out, const float* lse, int64_t B, int64_t T,
                        int64_t C, int64_t NH, AttentionMask mask, MatmulPrecision precision, bool overwrite) {
  const int64_t HS = C / NH;
  // Zero-fills the (T, HS) block of one head in each of dq, dk, dv (which may coincide).
  auto zero_head = [&](int64_t at) {
    for (float* d : {dq, dk, dv})
      for (int64_t t = 0; t < T; ++t) std::fill(d + at + t * ld, d + at + t * ld + HS, 0.0f);
  };
  if (use_reference()) {
    if (overwrite)
      for (int64_t bh = 0; bh < B * NH; ++bh) zero_head(bh / NH * T * ld + bh % NH * HS);
    return reference::attention_backward<float>(dq, dk, dv, dout, q, k, v, ld, out, lse, B, T, C, NH, mask);
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  struct Scratch {
    std::vector<float> S, dP, D;
  };
  parallel_dynamic_with(
      B * NH,
      [&](int) {
        return Scratch{std::vector<float>(static_cast<size_t>(kRowBlock * T)),
                       std::vector<float>(static_cast<size_t>(kRowBlock * T)), std::vector<float>(static_cast<size_t>(T))};
      },
      [&](Scratch& s, int64_t bh) {
        const int64_t b = bh / NH, h = bh % NH, at = b * T * ld + h * HS;
        if (overwrite) zero_head(at);
        attention_backward_head(dq + at, dk + at, dv + at, dout + b * T * C + h * HS, q + at, k + at, v + at, ld,
                                out + b * T * C + h * HS, lse + bh * T, T, C, HS, scale, mask.causal,
                                mask.key_mask ? mask.key_mask + b * T : nullptr, s.S.data(), s.dP.data(), s.D.data(),
                                precision);
      });
}

void attention_forward(float* out, float* lse, const float* qkv, int64_t B, int64_t T, int64_t C, int64_t NH,
                       MatmulPrecision precision) {
  attention_forward(out, lse, qkv, qkv + C, qkv + 2 * C, 3 * C, B, T, C, NH, AttentionMask{}, precision);
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                        int64_t B, int64_t T, int64_t C, int64_t NH, MatmulPrecision precision, bool overwrite) {
  attention_backward(dqkv, dqkv + C, dqkv + 2 * C, dout, qkv, qkv + C, qkv + 2 * C, 3 * C, out, lse, B, T, C, NH,
                     AttentionMask{}, precision, overwrite);
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
