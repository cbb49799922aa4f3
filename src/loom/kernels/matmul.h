// Matrix multiplication kernels (float). The optimized path calls oneDNN's sgemm, which
// JIT-compiles code for the CPU it finds (AVX-512, AVX2 or SSE4.1), one block of the product per
// thread of loom's pool (base/threads.h); we chose it over OpenBLAS after measuring on our shapes (docs/kernels.md): OpenBLAS
// is pinned to its Haswell kernels by OPENBLAS_CORETYPE on this class of machine.
#pragma once

#include <cstdint>
#include <string_view>

#include "loom/base/threads.h"
#include "loom/kernels/reference/matmul.h"

namespace loom::kernels {

// C (M, N) = alpha * op(A) op(B) + beta * C (+ bias[j] on every row j of C if bias is not
// null), row-major. If b_col_sums is not null, b_col_sums[j] += the sum over k of op(B)[k][j]
// (the fp32 values; deterministic, in an order each path fixes): a linear layer's bias gradient is the column sum of the
// output gradient, which its weight gradient's GEMM reads (and packs) anyway.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
          const float* bias = nullptr, float* b_col_sums = nullptr);

// The precision of a matmul's products. kBF16 rounds both operands to bfloat16 and sums the
// (exact) products in float: fp32 inputs, outputs and master weights, half the memory
// traffic inside the GEMM and twice the multiply rate on CPUs with AVX512-BF16.
enum class MatmulPrecision { kF32, kBF16 };
const char* matmul_precision_name(MatmulPrecision p);  // "fp32" | "bf16"
// "fp32" | "bf16"; false if the name is unknown.
bool parse_matmul_precision(std::string_view name, MatmulPrecision* out);

// gemm with MatmulPrecision::kBF16 numerics (reference::gemm_bf16 defines them). Runs
// AVX512-BF16 dot products (VDPBF16PS) on packed bf16 panels where the CPU has them, else
// rounds the operands into fp32 buffers and runs the fp32 GEMM (same numbers, fp32 speed).
void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
               const float* bias = nullptr, float* b_col_sums = nullptr);
// gemm_bf16 with op(A) already in bf16 (the bit patterns, A[i * lda + k] or A[k * lda + i] as
// for gemm): the numbers of gemm_bf16 on the same values in fp32. On AMX tiles (see
// bf16_operands_native) packing A is then a copy, half the bytes of an fp32 A; elsewhere A
// is widened to fp32 first.
void gemm_bf16_a16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                   const float* bias = nullptr, float* b_col_sums = nullptr);
// True where gemm_bf16_a16 reads bf16 operands natively (AMX tiles, not the reference path):
// where producing a matmul's input in bf16 saves memory traffic instead of adding a pass.
bool bf16_operands_native();
// dst[i] = the float of bf16 bit pattern src[i] (exact).
void from_bf16(float* dst, const uint16_t* src, int64_t n);
// dst[i] = src[i] rounded to bf16 (round to nearest even, as gemm_bf16 rounds its operands on
// this machine's path), as bit patterns.
void to_bf16(uint16_t* dst, const float* src, int64_t n);
// gemm or gemm_bf16 by `precision` (the linear layers' and attention's products).
void gemm_in(MatmulPrecision precision, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
             const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
             const float* bias = nullptr, float* b_col_sums = nullptr);
// True if this CPU has AVX512-BF16 (and AVX512-BW/VL), so gemm_bf16 takes its fast path.
bool cpu_has_avx512_bf16();
// True if this CPU has AMX-BF16 tiles and the OS granted their use; gemm_bf16 then runs on
// the tiles (TDPBF16PS), its fastest path.
bool cpu_has_amx_bf16();

namespace detail {
// gemm_bf16's paths, single-threaded, callable directly so tests cover both on any
// machine (the AVX-512 one only where cpu_has_avx512_bf16(), the AMX one where cpu_has_amx_bf16()).
// pack_whole_bytes: an operand block up to this size is packed once whole (the other is
// then packed in blocks); tests lower it to reach every blocking branch.
// The AMX path starts whole tiles of C from the bias row (read with stride 0), so a biased
// product writes C once. The fast paths sum op(B)'s columns while packing it (b_col_sums).
void gemm_bf16_amx(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                   const float* bias = nullptr, int64_t pack_whole_bytes = int64_t{8} << 20,
                   float* b_col_sums = nullptr);
void gemm_bf16_avx512(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                      const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                      int64_t ldc, const float* bias = nullptr, float* b_col_sums = nullptr);
void gemm_bf16_portable(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                        const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                        int64_t ldc, const float* bias = nullptr, float* b_col_sums = nullptr);

// Below this many multiply-adds a GEMM runs on the calling thread alone.
inline constexpr int64_t kSerialGemmMacs = int64_t{1} << 17;

// A single-threaded GEMM with gemm()'s arguments.
using SerialGemm = void (*)(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                            const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                            int64_t ldc, const float* bias, float* b_col_sums);
// Runs `serial` on one block of C per pool thread: the longer side of C is split in units
// of `col_unit` columns or `row_unit` rows; small products run on the caller alone. Both
// the fp32 and the bf16 GEMM split this way. Column sums of op(B) are taken by the block that
// owns the columns (or, when rows are split, by the block holding row 0). With `shares` the
// blocks follow the threads' recent speeds (parallel_for_balanced), for serial GEMMs whose
// every element of C comes out the same wherever a unit boundary splits C; without, the
// blocks are even.
void gemm_on_pool(SerialGemm serial, int64_t col_unit, int64_t row_unit, SpeedShares* shares, bool trans_a,
                  bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias = nullptr,
                  float* b_col_sums = nullptr);
// The same split for an A of any element type: serial(trans_a, ..., A block, ...) as SerialGemm.
template <typename TA, typename Serial>
void gemm_on_pool_of(Serial serial, int64_t col_unit, int64_t row_unit, SpeedShares* shares, bool trans_a,
                     bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const TA* A, int64_t lda,
                     const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias,
                     float* b_col_sums) {
  auto split = [&](int64_t units, auto&& body) {
    if (shares)
      parallel_for_balanced(units, *shares, body);
    else
      parallel_for(units, body);
  };
  if (M * N * K < kSerialGemmMacs || num_threads() == 1) {
    serial(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, b_col_sums);
  } else if (N >= M) {
    split((N + col_unit - 1) / col_unit, [&](int64_t lo, int64_t hi) {
      const int64_t n0 = lo * col_unit, n1 = hi * col_unit < N ? hi * col_unit : N;
      serial(trans_a, trans_b, M, n1 - n0, K, alpha, A, lda, trans_b ? B + n0 * ldb : B + n0, ldb, beta, C + n0,
             ldc, bias ? bias + n0 : nullptr, b_col_sums ? b_col_sums + n0 : nullptr);
    });
  } else {
    split((M + row_unit - 1) / row_unit, [&](int64_t lo, int64_t hi) {
      const int64_t m0 = lo * row_unit, m1 = hi * row_unit < M ? hi * row_unit : M;
      serial(trans_a, trans_b, m1 - m0, N, K, alpha, trans_a ? A + m0 : A + m0 * lda, lda, B, ldb, beta,
             C + m0 * ldc, ldc, bias, m0 == 0 ? b_col_sums : nullptr);
    });
  }
}
// The shares by which the bf16 GEMMs (AMX and AVX512-BF16 paths, whose results do not depend
// on the split) divide their work among the pool's threads: one for all of them, since the
// threads' speeds do not depend on the product.
SpeedShares& gemm_bf16_shares();
// b_col_sums[j] += sum over k of op(B)[k][j], j < N, in order of k (paths that do not sum while packing).
void add_col_sums(bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb, float* b_col_sums);
// C = beta * C (+ bias on every row): the product of an empty inner dimension. Never reads C
// when beta is 0.
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc, const float* bias = nullptr);
}  // namespace detail

// out (N, OC) = inp (N, C) @ W + bias (OC, may be null); W (C, OC) or (OC, C) by layout.
void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                    int64_t C, int64_t OC, WeightLayout layout,
                    MatmulPrecision precision = MatmulPrecision::kF32);

// Accumulates into dinp (N, C), dweight, dbias (OC); any may be null. overwrite_*: that
// buffer holds garbage and is written, not added to.
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t N, int64_t C, int64_t OC, WeightLayout layout,
                     MatmulPrecision precision = MatmulPrecision::kF32, bool overwrite_dinp = false,
                     bool overwrite_dweight = false, bool overwrite_dbias = false);

// matmul_forward/backward with bf16 products and the input in bf16 (bit patterns; a layer
// whose input feeds only matmuls keeps it so: half the bytes, and packing it for the tiles is
// a copy). The same numbers as with the input in fp32 rounded to bf16.
void matmul_forward_bf16in(float* out, const uint16_t* inp, const float* weight, const float* bias, int64_t N,
                           int64_t C, int64_t OC, WeightLayout layout);
void matmul_backward_bf16in(float* dinp, float* dweight, float* dbias, const float* dout, const uint16_t* inp,
                            const float* weight, int64_t N, int64_t C, int64_t OC, WeightLayout layout,
                            bool overwrite_dinp = false, bool overwrite_dweight = false, bool overwrite_dbias = false);

}  // namespace loom::kernels
