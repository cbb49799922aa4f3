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
#include "loom/kernels/multiversion.h"

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


// y[j] += sum over k of x[k] * B[k][j] for j in [n0, n1), B (K, N) row-major: four rows of
// B at a time stream through once, y's block stays in L1.
LOOM_MULTIVERSION
void gemv_rows_of_b(int64_t n0, int64_t n1, int64_t K, const float* x, const float* B, int64_t ldb, float* y) {
  int64_t k = 0;
  for (; k + 4 <= K; k += 4) {
    const float *b0 = B + k * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
    const float x0 = x[k], x1 = x[k + 1], x2 = x[k + 2], x3 = x[k + 3];
#pragma omp simd
    for (int64_t j = n0; j < n1; ++j) y[j] += (x0 * b0[j] + x1 * b1[j]) + (x2 * b2[j] + x3 * b3[j]);
  }
  for (; k < K; ++k) {
    const float* b = B + k * ldb;
    const float xk = x[k];
#pragma omp simd
    for (int64_t j = n0; j < n1; ++j) y[j] += xk * b[j];
  }
}

// y[j] += dot(B[j][0..K), x) for j in [n0, n1), B (N, K) row-major (op(B) = B^T): four rows
// at a time, x stays in L1.
LOOM_MULTIVERSION
void gemv_cols_of_bt(int64_t n0, int64_t n1, int64_t K, const float* x, const float* B, int64_t ldb, float* y) {
  int64_t j = n0;
  for (; j + 4 <= n1; j += 4) {
    const float *b0 = B + j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
    for (int64_t k = 0; k < K; ++k) {
      s0 += x[k] * b0[k];
      s1 += x[k] * b1[k];
      s2 += x[k] * b2[k];
      s3 += x[k] * b3[k];
    }
    y[j] += s0;
    y[j + 1] += s1;
    y[j + 2] += s2;
    y[j + 3] += s3;
  }
  for (; j < n1; ++j) {
    const float* b = B + j * ldb;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t k = 0; k < K; ++k) s += x[k] * b[k];
    y[j] += s;
  }
}

// C (1, N) = beta * C + bias + a op(B): batch-1 decoding, where every weight is read once
// per token and the product is bound by memory bandwidth. A GEMM library's general kernel
// packs or blocks for reuse that a single row of A does not have; these loops only stream B.
// Columns split evenly over the pool in whole cache lines; each C[j] is computed by one
// thread in a fixed order, so the result does not depend on the split.
void gemv(bool trans_b, int64_t N, int64_t K, const float* a, const float* B, int64_t ldb, float beta, float* c,
          const float* bias) {
  auto block = [&](int64_t lo, int64_t hi) {
    const int64_t n0 = lo * 16, n1 = std::min(N, hi * 16);
    detail::scale_c(1, n1 - n0, beta, c + n0, 0, bias ? bias + n0 : nullptr);
    if (trans_b)
      gemv_cols_of_bt(n0, n1, K, a, B, ldb, c);
    else
      gemv_rows_of_b(n0, n1, K, a, B, ldb, c);
  };
  const int64_t units = (N + 15) / 16;
  if (N * K < detail::kSerialGemmMacs || num_threads() == 1)
    block(0, units);
  else
    parallel_for(units, block);
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
  if (M == 1 && !trans_a && alpha == 1.0f && !b_col_sums) {
    gemv(trans_b, N, K, A, B, ldb, beta, C, bias);
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
