// Reference GEMM and matmul (+bias), forward and backward. Templated on the element type
// so the finite-difference checks can run them in double precision.
//
// Weight layouts: GPT-2 (Hugging Face Conv1D) stores W as (C, OC) and computes x @ W;
// nn.Linear-style models (BERT, Llama) store W as (OC, C) and compute x @ W^T.
#pragma once

#include <cstdint>
#include <cstring>

namespace loom::kernels {

enum class WeightLayout { kInOut, kOutIn };

namespace reference {

// C (M, N) = alpha * op(A) op(B) + beta * C, row-major; op(X) = X or X^T.
// A is (M, K) if !trans_a else (K, M); B is (K, N) if !trans_b else (N, K).
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      T acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        T a = trans_a ? A[k * lda + i] : A[i * lda + k];
        T b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
      }
      C[i * ldc + j] = alpha * acc + (beta == T(0) ? T(0) : beta * C[i * ldc + j]);
    }
  }
}

// bfloat16 rounding of a float: round to nearest, ties to even (what AVX512-BF16's
// VCVTNEPS2BF16 and PyTorch do); NaN stays NaN, infinities stay infinite.
inline float round_to_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    u |= 0x00400000u;  // quiet NaN; its payload's top bits survive the truncation
  } else {
    u += 0x7fffu + ((u >> 16) & 1u);
  }
  u &= 0xffff0000u;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// The bf16 GEMM's definition: every element of op(A) and op(B) is rounded to bfloat16; the
// products of two bf16 values are exact in float, and they are summed in float.
inline void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                      const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                      int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      float acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        const float a = round_to_bf16(trans_a ? A[k * lda + i] : A[i * lda + k]);
        const float b = round_to_bf16(trans_b ? B[j * ldb + k] : B[k * ldb + j]);
        acc += a * b;
      }
      C[i * ldc + j] = alpha * acc + (beta == 0.0f ? 0.0f : beta * C[i * ldc + j]);
    }
  }
}

// out (N, OC) = inp (N, C) @ W + bias (OC), W (C, OC) for kInOut or (OC, C) for kOutIn.
template <typename T>
void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C,
                    int64_t OC, WeightLayout layout) {
  const bool tb = layout == WeightLayout::kOutIn;
  gemm<T>(false, tb, N, OC, C, T(1), inp, C, weight, tb ? C : OC, T(0), out, OC);
  if (bias)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < OC; ++o) out[n * OC + o] += bias[o];
}

// Accumulates (+=) into dinp (N, C), dweight (shape of W), dbias (OC); any may be null.
template <typename T>
void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                     int64_t N, int64_t C, int64_t OC, WeightLayout layout) {
  const bool outin = layout == WeightLayout::kOutIn;
  if (dinp)  // dinp = dout (N, OC) @ W^T  (kInOut)  or dout @ W (kOutIn)
    gemm<T>(false, !outin, N, C, OC, T(1), dout, OC, weight, outin ? C : OC, T(1), dinp, C);
  if (dweight) {
    if (outin)  // dW (OC, C) = dout^T @ inp
      gemm<T>(true, false, OC, C, N, T(1), dout, OC, inp, C, T(1), dweight, C);
    else  // dW (C, OC) = inp^T @ dout
      gemm<T>(true, false, C, OC, N, T(1), inp, C, dout, OC, T(1), dweight, OC);
  }
  if (dbias)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < OC; ++o) dbias[o] += dout[n * OC + o];
}

}  // namespace reference
}  // namespace loom::kernels
