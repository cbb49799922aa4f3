// bf16 GEMM: C = alpha * op(A) op(B) + beta * C with both operands rounded to bfloat16 and
// the products summed in float (reference::gemm_bf16 is the definition).
//
// Fast path (AVX512-BF16): the classic blocked GEMM. op(B) is packed, kKc rows by kNc
// columns at a time, into strips of 32 columns in which each 32-bit word holds the bf16
// pair (B[k][j], B[k+1][j]); op(A) is packed, kMc rows at a time, into panels of kMr rows
// with the same pairs along k. A 12 x 32 micro-kernel keeps 24 zmm accumulators and per
// pair of k does 2 loads of B, 12 broadcasts of A and 24 VDPBF16PS (each 32 multiply-adds).
// Tails in M, N and K are zero-padded in the packed panels. Rounding is VCVTNE(2)PS2BF16:
// round to nearest even, like reference::round_to_bf16.
//
// Portable path: the operands rounded into fp32 buffers, then the fp32 GEMM.
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "loom/base/check.h"
#include "loom/base/threads.h"
#include "loom/kernels/dispatch.h"
#include "loom/kernels/matmul.h"

// The AVX512-BF16 code is compiled (with a target attribute, whatever -march says) by GCC
// on x86-64; elsewhere only the portable path exists.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LOOM_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define LOOM_HAVE_BF16_CODE 1
#endif

namespace loom::kernels {

const char* matmul_precision_name(MatmulPrecision p) {
  return p == MatmulPrecision::kBF16 ? "bf16" : "fp32";
}

bool cpu_has_avx512_bf16() {
#ifdef LOOM_HAVE_BF16_CODE
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return has;
#else
  return false;
#endif
}

namespace {

// Copies op(X) (rows x cols of the op) into a dense row-major buffer, rounded to bf16.
std::vector<float> rounded_op(bool trans, int64_t rows, int64_t cols, const float* X, int64_t ld) {
  std::vector<float> out(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[static_cast<size_t>(r * cols + c)] = reference::round_to_bf16(trans ? X[c * ld + r] : X[r * ld + c]);
  return out;
}

}  // namespace

namespace detail {

void gemm_bf16_portable(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                        const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                        int64_t ldc) {
  const std::vector<float> a = rounded_op(trans_a, M, K, A, lda);
  const std::vector<float> b = rounded_op(trans_b, K, N, B, ldb);
  gemm(false, false, M, N, K, alpha, a.data(), K, b.data(), N, beta, C, ldc);
}

}  // namespace detail

#ifdef LOOM_HAVE_BF16_CODE
namespace {

constexpr int64_t kMr = 12;    // rows per micro-tile
constexpr int64_t kNr = 32;    // columns per micro-tile (two zmm of floats)
constexpr int64_t kKc = 384;   // k per packed block (192 pairs): a B strip is 24 KiB (L1)
constexpr int64_t kMc = 144;   // rows of A per packed block (12 panels, 108 KiB: L2)
constexpr int64_t kNc = 1024;  // columns of B per packed block (768 KiB: L2)

// 16 floats from p (the first n of them; the rest zero) as 16 bf16.
LOOM_BF16_TARGET inline __m256i load_bf16x16(const float* p, int64_t n) {
  const __mmask16 m = n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << n) - 1u);
  return reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, p)));
}

// Words (x[i] | y[i] << 16) from two rows of 16 bf16.
LOOM_BF16_TARGET inline __m512i interleave_pairs(__m256i x, __m256i y) {
  // The maskz forms (all lanes on) avoid GCC 12's false "uninitialized" on the plain ones.
  const __mmask16 all = 0xffff;
  return _mm512_or_si512(_mm512_maskz_cvtepu16_epi32(all, x),
                         _mm512_maskz_slli_epi32(all, _mm512_maskz_cvtepu16_epi32(all, y), 16));
}

// 32 consecutive floats of one row along k (the first n; the rest zero) as 16 pair words.
LOOM_BF16_TARGET inline __m512i pairs_along_row(const float* p, int64_t n) {
  const auto mask = [](int64_t c) {
    return c >= 16 ? static_cast<__mmask16>(0xffff) : c <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << c) - 1u);
  };
  const __m512 lo = _mm512_maskz_loadu_ps(mask(n), p);
  const __m512 hi = _mm512_maskz_loadu_ps(mask(n - 16), p + 16);
  return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
}

// Packs op(B)[p0 .. p0+kc) x [j0 .. j0+nc) into strips of kNr columns: strip s holds
// kp_count x kNr pair words. Columns past nc and the odd k past kc are zero.
LOOM_BF16_TARGET void pack_b(uint32_t* dst, bool trans_b, const float* B, int64_t ldb, int64_t p0, int64_t kc,
                             int64_t j0, int64_t nc) {
  const int64_t kp_count = (kc + 1) / 2;
  for (int64_t s = 0; s * kNr < nc; ++s) {
    uint32_t* strip = dst + s * kp_count * kNr;
    const int64_t js = j0 + s * kNr, cols = nc - s * kNr < kNr ? nc - s * kNr : kNr;
    if (!trans_b) {  // B[k * ldb + j]: two rows of k, 16 columns at a time
      for (int64_t kp = 0; kp < kp_count; ++kp) {
        const int64_t k = p0 + 2 * kp;
        const bool has_odd = 2 * kp + 1 < kc;
        for (int64_t h = 0; h < 2; ++h) {
          const int64_t n = cols - 16 * h;
          __m512i w = _mm512_setzero_si512();
          if (n > 0) {
            const __m256i x = load_bf16x16(B + k * ldb + js + 16 * h, n);
            const __m256i y = has_odd ? load_bf16x16(B + (k + 1) * ldb + js + 16 * h, n) : _mm256_setzero_si256();
            w = interleave_pairs(x, y);
          }
          _mm512_storeu_si512(strip + kp * kNr + 16 * h, w);
        }
      }
    } else {  // B[j * ldb + k]: each column is contiguous along k
      const __m512i stride = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                                _mm512_set1_epi32(static_cast<int>(kNr)));
      for (int64_t c = 0; c < kNr; ++c) {
        for (int64_t kp0 = 0; kp0 < kp_count; kp0 += 16) {
          const int64_t npairs = kp_count - kp0 < 16 ? kp_count - kp0 : 16;
          const __mmask16 m = npairs >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << npairs) - 1u);
          const __m512i w = c < cols ? pairs_along_row(B + (js + c) * ldb + p0 + 2 * kp0, kc - 2 * kp0)
                                     : _mm512_setzero_si512();
          _mm512_mask_i32scatter_epi32(strip + kp0 * kNr + c, m, stride, w, 4);
        }
      }
    }
  }
}

// Packs op(A)[i0 .. i0+mc) x [p0 .. p0+kc) into panels of kMr rows: panel q holds
// kp_count x kMr pair words. Rows past mc and the odd k past kc are zero.
LOOM_BF16_TARGET void pack_a(uint32_t* dst, bool trans_a, const float* A, int64_t lda, int64_t i0, int64_t mc,
                             int64_t p0, int64_t kc) {
  const int64_t kp_count = (kc + 1) / 2;
  for (int64_t q = 0; q * kMr < mc; ++q) {
    uint32_t* panel = dst + q * kp_count * kMr;
    const int64_t is = i0 + q * kMr, rows = mc - q * kMr < kMr ? mc - q * kMr : kMr;
    if (trans_a) {  // A[k * lda + i]: two rows of k, kMr consecutive i
      const __mmask16 store = static_cast<__mmask16>((1u << kMr) - 1u);
      for (int64_t kp = 0; kp < kp_count; ++kp) {
        const int64_t k = p0 + 2 * kp;
        const __m256i x = load_bf16x16(A + k * lda + is, rows);
        const __m256i y = 2 * kp + 1 < kc ? load_bf16x16(A + (k + 1) * lda + is, rows) : _mm256_setzero_si256();
        _mm512_mask_storeu_epi32(panel + kp * kMr, store, interleave_pairs(x, y));
      }
    } else {  // A[i * lda + k]: each row is contiguous along k
      const __m512i stride = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                                _mm512_set1_epi32(static_cast<int>(kMr)));
      for (int64_t r = 0; r < kMr; ++r) {
        for (int64_t kp0 = 0; kp0 < kp_count; kp0 += 16) {
          const int64_t npairs = kp_count - kp0 < 16 ? kp_count - kp0 : 16;
          const __mmask16 m = npairs >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << npairs) - 1u);
          const __m512i w = r < rows ? pairs_along_row(A + (is + r) * lda + p0 + 2 * kp0, kc - 2 * kp0)
                                     : _mm512_setzero_si512();
          _mm512_mask_i32scatter_epi32(panel + kp0 * kMr + r, m, stride, w, 4);
        }
      }
    }
  }
}

// C[0..rows) x [0..cols) = alpha * (A panel . B strip) + beta * C.
LOOM_BF16_TARGET void micro_kernel(int64_t kp_count, const uint32_t* a, const uint32_t* b, float* C, int64_t ldc,
                                   int64_t rows, int64_t cols, float alpha, float beta) {
  __m512 acc0[kMr], acc1[kMr];
#pragma GCC unroll 12
  for (int r = 0; r < kMr; ++r) {
    acc0[r] = _mm512_setzero_ps();
    acc1[r] = _mm512_setzero_ps();
  }
  for (int64_t kp = 0; kp < kp_count; ++kp) {
    const __m512bh b0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(b));
    const __m512bh b1 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(b + 16));
    b += kNr;
#pragma GCC unroll 12
    for (int r = 0; r < kMr; ++r) {
      const __m512bh av = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(a[r])));
      acc0[r] = _mm512_dpbf16_ps(acc0[r], av, b0);
      acc1[r] = _mm512_dpbf16_ps(acc1[r], av, b1);
    }
    a += kMr;
  }
  const auto mask = [](int64_t c) {
    return c >= 16 ? static_cast<__mmask16>(0xffff) : c <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << c) - 1u);
  };
  const __mmask16 m0 = mask(cols), m1 = mask(cols - 16);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
  for (int r = 0; r < kMr; ++r) {
    if (r >= rows) break;
    float* c = C + r * ldc;
    __m512 o0 = _mm512_mul_ps(va, acc0[r]), o1 = _mm512_mul_ps(va, acc1[r]);
    if (beta != 0.0f) {
      o0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), o0);
      o1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), o1);
    }
    _mm512_mask_storeu_ps(c, m0, o0);
    _mm512_mask_storeu_ps(c + 16, m1, o1);
  }
}

// Packing buffers, one set per thread, grown on demand and kept.
struct PackBuffers {
  std::vector<uint32_t, std::allocator<uint32_t>> a, b;
};
thread_local PackBuffers t_pack;

}  // namespace
#endif  // LOOM_HAVE_BF16_CODE

namespace detail {

void gemm_bf16_avx512(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                      const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                      int64_t ldc) {
#ifdef LOOM_HAVE_BF16_CODE
  LOOM_CHECK(cpu_has_avx512_bf16()) << "gemm_bf16_avx512 on a CPU without AVX512-BF16";
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  PackBuffers& buf = t_pack;
  const size_t b_words = static_cast<size_t>((kKc / 2) * ((kNc + kNr - 1) / kNr) * kNr);
  const size_t a_words = static_cast<size_t>((kKc / 2) * ((kMc + kMr - 1) / kMr) * kMr);
  if (buf.b.size() < b_words) buf.b.resize(b_words);
  if (buf.a.size() < a_words) buf.a.resize(a_words);
  for (int64_t j0 = 0; j0 < N; j0 += kNc) {
    const int64_t nc = N - j0 < kNc ? N - j0 : kNc;
    for (int64_t p0 = 0; p0 < K; p0 += kKc) {
      const int64_t kc = K - p0 < kKc ? K - p0 : kKc, kp_count = (kc + 1) / 2;
      const float beta_here = p0 == 0 ? beta : 1.0f;
      pack_b(buf.b.data(), trans_b, B, ldb, p0, kc, j0, nc);
      for (int64_t i0 = 0; i0 < M; i0 += kMc) {
        const int64_t mc = M - i0 < kMc ? M - i0 : kMc;
        pack_a(buf.a.data(), trans_a, A, lda, i0, mc, p0, kc);
        for (int64_t js = 0; js < nc; js += kNr) {
          const uint32_t* strip = buf.b.data() + (js / kNr) * kp_count * kNr;
          const int64_t cols = nc - js < kNr ? nc - js : kNr;
          for (int64_t is = 0; is < mc; is += kMr) {
            const uint32_t* panel = buf.a.data() + (is / kMr) * kp_count * kMr;
            const int64_t rows = mc - is < kMr ? mc - is : kMr;
            micro_kernel(kp_count, panel, strip, C + (i0 + is) * ldc + j0 + js, ldc, rows, cols, alpha, beta_here);
          }
        }
      }
    }
  }
#else
  (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)B, (void)ldb,
      (void)beta, (void)C, (void)ldc;
  LOOM_CHECK(false) << "gemm_bf16_avx512 is not compiled into this build";
#endif
}

}  // namespace detail

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (use_reference()) {
    reference::gemm_bf16(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  if (!cpu_has_avx512_bf16()) {
    detail::gemm_bf16_portable(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // One block of rows or columns of C per pool thread, as in the fp32 gemm.
  if (M * N * K < (int64_t{1} << 17) || num_threads() == 1) {
    detail::gemm_bf16_avx512(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  } else if (N >= M) {
    constexpr int64_t kCols = 32;
    parallel_for((N + kCols - 1) / kCols, [&](int64_t lo, int64_t hi) {
      const int64_t n0 = lo * kCols, n1 = hi * kCols < N ? hi * kCols : N;
      detail::gemm_bf16_avx512(trans_a, trans_b, M, n1 - n0, K, alpha, A, lda, trans_b ? B + n0 * ldb : B + n0, ldb,
                               beta, C + n0, ldc);
    });
  } else {
    constexpr int64_t kRows = 12;
    parallel_for((M + kRows - 1) / kRows, [&](int64_t lo, int64_t hi) {
      const int64_t m0 = lo * kRows, m1 = hi * kRows < M ? hi * kRows : M;
      detail::gemm_bf16_avx512(trans_a, trans_b, m1 - m0, N, K, alpha, trans_a ? A + m0 : A + m0 * lda, lda, B, ldb,
                               beta, C + m0 * ldc, ldc);
    });
  }
}

}  // namespace loom::kernels
