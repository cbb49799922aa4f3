// Optimized matmul: oneDNN sgemm with the bias folded in as the initial value of each thread's
// block of C (the bf16 GEMM adds it inside its own kernels). The
// product is split into one block of rows or columns per pool thread, and each thread runs
// oneDNN's sgemm on its block single-threaded, so the GEMM runs on loom's own pool (whatever
// OpenMP's wait policy) and never on a second one.
#include "loom/kernels/matmul.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <vector>

#include "loom/base/check.h"
#include "loom/base/threads.h"
#include "loom/kernels/dispatch.h"

namespace loom::kernels {

namespace {

void sgemm_here(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias,
                float* b_col_sums) {
  if (b_col_sums) detail::add_col_sums(trans_b, K, N, B, ldb, b_col_sums);
  if (bias) {  // this thread's block of C starts as beta * C + bias
    detail::scale_c(M, N, beta, C, ldc, bias);
    beta = 1.0f;
  }
  OmpSerialScope serial;
  dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B,
                                ldb, beta, C, ldc);
  LOOM_CHECK(st == dnnl_success) << "dnnl_sgemm failed with status " << static_cast<int>(st);
}


}  // namespace

namespace detail {

void add_col_sums(bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb, float* b_col_sums) {
  if (trans_b) {
    for (int64_t j = 0; j < N; ++j) {
      float s = b_col_sums[j];
      for (int64_t k = 0; k < K; ++k) s += B[j * ldb + k];
      b_col_sums[j] = s;
    }
  } else {
    for (int64_t k = 0; k < K; ++k) {
      const float* b = B + k * ldb;
#pragma omp simd
      for (int64_t j = 0; j < N; ++j) b_col_sums[j] += b[j];
    }
  }
}

void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc, const float* bias) {
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < N; ++j) c[j] = bias ? bias[j] : 0.0f;
    } else {
      for (int64_t j = 0; j < N; ++j) c[j] = beta * c[j] + (bias ? bias[j] : 0.0f);
    }
  }
}

void gemm_on_pool(SerialGemm serial, int64_t col_unit, int64_t row_unit, SpeedShares* shares, bool trans_a,
                  bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias,
                  float* b_col_sums) {
  gemm_on_pool_of(serial, col_unit, row_unit, shares, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                  bias, b_col_sums);
}

}  // namespace detail

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias,
          float* b_col_sums) {
  if (M == 0 || N == 0) return;
  if (use_reference()) {
    reference::gemm<float>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (bias) detail::scale_c(M, N, 1.0f, C, ldc, bias);
    if (b_col_sums) detail::add_col_sums(trans_b, K, N, B, ldb, b_col_sums);
    return;
  }
  if (K == 0) {  // oneDNN requires K > 0; the product is empty.
    detail::scale_c(M, N, beta, C, ldc, bias);
    return;
  }
  // Blocks of whole cache lines (16 floats) of columns, or of 8 rows, split evenly: oneDNN may
  // block a product differently by its shape, so C's values could depend on where a split falls.
  detail::gemm_on_pool(sgemm_here, 16, 8, nullptr, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias,
                       b_col_sums);
}

void gemm_in(MatmulPrecision precision, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
             const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
             const float* bias, float* b_col_sums) {
  if (precision == MatmulPrecision::kBF16)
    gemm_bf16(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, b_col_sums);
  else
    gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, b_col_sums);
}

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                    int64_t C, int64_t OC, WeightLayout layout, MatmulPrecision precision) {
  if (use_reference() && precision == MatmulPrecision::kF32) {
    reference::matmul_forward<float>(out, inp, weight, bias, N, C, OC, layout);
    return;
  }
  const bool tb = layout == WeightLayout::kOutIn;
  gemm_in(precision, false, tb, N, OC, C, 1.0f, inp, C, weight, tb ? C : OC, 0.0f, out, OC, bias);
}

namespace {

// matmul_backward with the input in fp32 (inp) or, with bf16 products, as bf16 bit patterns (inp16).
void matmul_backward_impl(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const uint16_t* inp16, const float* weight, int64_t N, int64_t C, int64_t OC,
                          WeightLayout layout, MatmulPrecision precision, bool overwrite_dinp, bool overwrite_dweight,
                          bool overwrite_dbias) {
  LOOM_CHECK(!inp16 || precision == MatmulPrecision::kBF16) << "a bf16 matmul input needs bf16 products";
  if (use_reference() && precision == MatmulPrecision::kF32) {
    if (dinp && overwrite_dinp) std::fill(dinp, dinp + N * C, 0.0f);
    if (dweight && overwrite_dweight) std::fill(dweight, dweight + C * OC, 0.0f);
    if (dbias && overwrite_dbias) std::fill(dbias, dbias + OC, 0.0f);
    reference::matmul_backward<float>(dinp, dweight, dbias, dout, inp, weight, N, C, OC, layout);
    return;
  }
  const bool outin = layout == WeightLayout::kOutIn;
  if (dinp)
    gemm_in(precision, false, !outin, N, C, OC, 1.0f, dout, OC, weight, outin ? C : OC, overwrite_dinp ? 0.0f : 1.0f,
            dinp, C);
  // With W (C, OC), dW = inp^T dout reads dout as op(B): the bf16 GEMM sums dout's columns
  // (the bias gradient) while packing it. (oneDNN's sgemm packs internally; there the sums
  // would be a second pass, which the parallel loop below does as well.)
  const bool fuse_dbias = dbias && dweight && !outin && precision == MatmulPrecision::kBF16;
  if (fuse_dbias && overwrite_dbias) std::fill(dbias, dbias + OC, 0.0f);
  if (dweight) {
    const float beta = overwrite_dweight ? 0.0f : 1.0f;
    if (outin) {  // dW = dout^T inp: inp is op(B), which gemm_bf16 takes in fp32 only
      std::vector<float> widened;
      if (inp16) {
        widened.resize(static_cast<size_t>(N * C));
        from_bf16(widened.data(), inp16, N * C);
        inp = widened.data();
      }
      gemm_in(precision, true, false, OC, C, N, 1.0f, dout, OC, inp, C, beta, dweight, C);
    } else if (inp16) {
      gemm_bf16_a16(true, false, C, OC, N, 1.0f, inp16, C, dout, OC, beta, dweight, OC, nullptr,
                    fuse_dbias ? dbias : nullptr);
    } else {
      gemm_in(precision, true, false, C, OC, N, 1.0f, inp, C, dout, OC, beta, dweight, OC, nullptr,
              fuse_dbias ? dbias : nullptr);
    }
  }
  if (dbias && !fuse_dbias) {
    // Each thread owns a block of columns and sums rows in order: deterministic.
    constexpr int64_t kBlock = 64;
    const int64_t n_blocks = (OC + kBlock - 1) / kBlock;
    parallel_for(n_blocks, [&](int64_t lo, int64_t hi) {
      const int64_t o0 = lo * kBlock, o1 = hi * kBlock < OC ? hi * kBlock : OC;
      if (overwrite_dbias) std::fill(dbias + o0, dbias + o1, 0.0f);
      for (int64_t n = 0; n < N; ++n) {
        const float* d = dout + n * OC;
#pragma omp simd
        for (int64_t o = o0; o < o1; ++o) dbias[o] += d[o];
      }
    });
  }
}

}  // namespace

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t N, int64_t C, int64_t OC, WeightLayout layout,
                     MatmulPrecision precision, bool overwrite_dinp, bool overwrite_dweight,
                     bool overwrite_dbias) {
  matmul_backward_impl(dinp, dweight, dbias, dout, inp, nullptr, weight, N, C, OC, layout, precision, overwrite_dinp,
                       overwrite_dweight, overwrite_dbias);
}

void matmul_forward_bf16in(float* out, const uint16_t* inp, const float* weight, const float* bias, int64_t N,
                           int64_t C, int64_t OC, WeightLayout layout) {
  const bool tb = layout == WeightLayout::kOutIn;
  gemm_bf16_a16(false, tb, N, OC, C, 1.0f, inp, C, weight, tb ? C : OC, 0.0f, out, OC, bias);
}

void matmul_backward_bf16in(float* dinp, float* dweight, float* dbias, const float* dout, const uint16_t* inp,
                            const float* weight, int64_t N, int64_t C, int64_t OC, WeightLayout layout,
                            bool overwrite_dinp, bool overwrite_dweight, bool overwrite_dbias) {
  matmul_backward_impl(dinp, dweight, dbias, dout, nullptr, inp, weight, N, C, OC, layout, MatmulPrecision::kBF16,
                       overwrite_dinp, overwrite_dweight, overwrite_dbias);
}

}  // namespace loom::kernels
