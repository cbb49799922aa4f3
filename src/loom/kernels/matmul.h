// Matrix multiplication kernels (float). The optimized path calls oneDNN's sgemm, which
// JIT-compiles code for the CPU it finds (AVX-512, AVX2 or SSE4.1), one block of the product per
// thread of loom's pool (base/threads.h); we chose it over OpenBLAS after measuring on our shapes (docs/kernels.md): OpenBLAS
// is pinned to its Haswell kernels by OPENBLAS_CORETYPE on this class of machine.
#pragma once

#include <cstdint>

#include "loom/kernels/reference/matmul.h"

namespace loom::kernels {

// C (M, N) = alpha * op(A) op(B) + beta * C, row-major.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// out (N, OC) = inp (N, C) @ W + bias (OC, may be null); W (C, OC) or (OC, C) by layout.
void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                    int64_t C, int64_t OC, WeightLayout layout);

// Accumulates into dinp (N, C), dweight, dbias (OC); any may be null.
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t N, int64_t C, int64_t OC, WeightLayout layout);

}  // namespace loom::kernels
