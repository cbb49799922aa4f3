// Optimized matmul: oneDNN sgemm with the bias folded in as the initial value of C.
#include "loom/kernels/matmul.h"

#include <oneapi/dnnl/dnnl.h>

#include "loom/base/check.h"
#include "loom/kernels/dispatch.h"

namespace loom::kernels {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (use_reference()) {
    reference::gemm<float>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  if (K == 0) {  // oneDNN requires K > 0; the product is empty.
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B,
                                ldb, beta, C, ldc);
  LOOM_CHECK(st == dnnl_success) << "dnnl_sgemm failed with status " << static_cast<int>(st);
}

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                    int64_t C, int64_t OC, WeightLayout layout) {
  if (use_reference()) {
    reference::matmul_forward<float>(out, inp, weight, bias, N, C, OC, layout);
    return;
  }
  const bool tb = layout == WeightLayout::kOutIn;
  float beta = 0.0f;
  if (bias) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < OC; ++o) out[n * OC + o] = bias[o];
    beta = 1.0f;
  }
  gemm(false, tb, N, OC, C, 1.0f, inp, C, weight, tb ? C : OC, beta, out, OC);
}

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t N, int64_t C, int64_t OC, WeightLayout layout) {
  if (use_reference()) {
    reference::matmul_backward<float>(dinp, dweight, dbias, dout, inp, weight, N, C, OC, layout);
    return;
  }
  const bool outin = layout == WeightLayout::kOutIn;
  if (dinp) gemm(false, !outin, N, C, OC, 1.0f, dout, OC, weight, outin ? C : OC, 1.0f, dinp, C);
  if (dweight) {
    if (outin)
      gemm(true, false, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
    else
      gemm(true, false, C, OC, N, 1.0f, inp, C, dout, OC, 1.0f, dweight, OC);
  }
  if (dbias) {
    // Each thread owns a block of columns and sums rows in order: deterministic.
    constexpr int64_t kBlock = 64;
    const int64_t n_blocks = (OC + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
      const int64_t o0 = blk * kBlock, o1 = o0 + kBlock < OC ? o0 + kBlock : OC;
      for (int64_t n = 0; n < N; ++n) {
        const float* d = dout + n * OC;
#pragma omp simd
        for (int64_t o = o0; o < o1; ++o) dbias[o] += d[o];
      }
    }
  }
}

}  // namespace loom::kernels
