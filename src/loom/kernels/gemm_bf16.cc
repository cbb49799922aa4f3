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
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "loom/base/check.h"
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

bool parse_matmul_precision(std::string_view name, MatmulPrecision* out) {
  if (name == "fp32") {
    *out = MatmulPrecision::kF32;
  } else if (name == "bf16") {
    *out = MatmulPrecision::kBF16;
  } else {
    return false;
  }
  return true;
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
                        int64_t ldc, const float* bias, float* b_col_sums) {
  if (b_col_sums) add_col_sums(trans_b, K, N, B, ldb, b_col_sums);
  const std::vector<float> a = rounded_op(trans_a, M, K, A, lda);
  const std::vector<float> b = rounded_op(trans_b, K, N, B, ldb);
  gemm(false, false, M, N, K, alpha, a.data(), K, b.data(), N, beta, C, ldc, bias);
}

}  // namespace detail

#ifdef LOOM_HAVE_BF16_CODE
namespace {

constexpr int64_t kMr = 12;    // rows per micro-tile
constexpr int64_t kNr = 32;    // columns per micro-tile (two zmm of floats)
constexpr int64_t kKc = 384;   // k per packed block (192 pairs): a B strip is 24 KiB (L1)
constexpr int64_t kMc = 144;   // rows of A per packed block (12 panels, 108 KiB: L2)
constexpr int64_t kNc = 1024;  // columns of B per packed block (768 KiB: L2)

// The first n of 16 lanes (n <= 0: none, n >= 16: all).
inline __mmask16 first_lanes(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff)
                 : n <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << n) - 1u);
}

// 16 floats from p (the first n of them; the rest zero) as 16 bf16.
LOOM_BF16_TARGET inline __m256i load_bf16x16(const float* p, int64_t n) {
  return reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(first_lanes(n), p)));
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
  const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(n), p);
  const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(n - 16), p + 16);
  return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
}

// The same from bf16 bit patterns: 32 consecutive (the first n) as 16 pair words, and 16
// consecutive (the first n) as 16 bf16.
inline __mmask32 first_lanes32(int64_t n) {
  return n >= 32 ? ~static_cast<__mmask32>(0) : n <= 0 ? static_cast<__mmask32>(0) : (static_cast<__mmask32>(1) << n) - 1u;
}
LOOM_BF16_TARGET inline __m512i pairs_along_row(const uint16_t* p, int64_t n) {
  return _mm512_maskz_loadu_epi16(first_lanes32(n), p);
}
LOOM_BF16_TARGET inline __m256i load_bf16x16(const uint16_t* p, int64_t n) {
  return _mm256_maskz_loadu_epi16(first_lanes(n), p);
}

// Transposes a 16 x 16 matrix of 32-bit words held one row per register: afterwards r[j]
// holds what was column j. Pairs of rows interleave (32-bit, then 64-bit), leaving 4 x 4
// blocks transposed inside each 128-bit lane; two rounds of lane shuffles place the blocks.
LOOM_BF16_TARGET inline void transpose_16x16(__m512i r[16]) {
  // The maskz forms (all lanes on) avoid GCC 12's false "uninitialized" on the plain ones.
  const __mmask16 w32 = 0xffff;
  const __mmask8 w64 = 0xff;
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_maskz_unpacklo_epi32(w32, r[i], r[i + 1]);
    t[i + 1] = _mm512_maskz_unpackhi_epi32(w32, r[i], r[i + 1]);
  }
  // u[4g + c], lane L: column 4L + c of rows 4g .. 4g+3.
  __m512i u[16];
  for (int g = 0; g < 16; g += 4) {
    u[g] = _mm512_maskz_unpacklo_epi64(w64, t[g], t[g + 2]);
    u[g + 1] = _mm512_maskz_unpackhi_epi64(w64, t[g], t[g + 2]);
    u[g + 2] = _mm512_maskz_unpacklo_epi64(w64, t[g + 1], t[g + 3]);
    u[g + 3] = _mm512_maskz_unpackhi_epi64(w64, t[g + 1], t[g + 3]);
  }
  for (int c = 0; c < 4; ++c) {  // column 4L + c = lane L of u[c], u[4 + c], u[8 + c], u[12 + c]
    const __m512i s0 = _mm512_maskz_shuffle_i32x4(w32, u[c], u[4 + c], 0x44), s1 = _mm512_maskz_shuffle_i32x4(w32, u[c], u[4 + c], 0xee);
    const __m512i s2 = _mm512_maskz_shuffle_i32x4(w32, u[8 + c], u[12 + c], 0x44),
                  s3 = _mm512_maskz_shuffle_i32x4(w32, u[8 + c], u[12 + c], 0xee);
    r[c] = _mm512_maskz_shuffle_i32x4(w32, s0, s2, 0x88);
    r[4 + c] = _mm512_maskz_shuffle_i32x4(w32, s0, s2, 0xdd);
    r[8 + c] = _mm512_maskz_shuffle_i32x4(w32, s1, s3, 0x88);
    r[12 + c] = _mm512_maskz_shuffle_i32x4(w32, s1, s3, 0xdd);
  }
}

// Lines [0, lines) of a matrix whose lines are contiguous along k (line i at src + i * ld;
// only the first `valid` exist, the rest read as zero) as pair words: line i's pair kp goes
// to dst[kp * stride + i], for kp < (kc + 1) / 2. 16 lines by 16 pairs at a time are
// converted and transposed in registers, then stored as 16 runs of up to 16 words.
LOOM_BF16_TARGET void scatter_lines_as_pairs(uint32_t* dst, int64_t stride, const float* src, int64_t ld,
                                             int64_t lines, int64_t valid, int64_t kc) {
  const int64_t kp_count = (kc + 1) / 2;
  for (int64_t i0 = 0; i0 < lines; i0 += 16) {
    const int64_t n = lines - i0 < 16 ? lines - i0 : 16;
    const __mmask16 store = first_lanes(n);
    for (int64_t kp0 = 0; kp0 < kp_count; kp0 += 16) {
      __m512i w[16];
      for (int64_t i = 0; i < 16; ++i)
        w[i] = i0 + i < valid ? pairs_along_row(src + (i0 + i) * ld + 2 * kp0, kc - 2 * kp0) : _mm512_setzero_si512();
      transpose_16x16(w);
      const int64_t pairs = kp_count - kp0 < 16 ? kp_count - kp0 : 16;
      for (int64_t j = 0; j < pairs; ++j) _mm512_mask_storeu_epi32(dst + (kp0 + j) * stride + i0, store, w[j]);
    }
  }
}

// Packs op(B)[p0 .. p0+kc) x [j0 .. j0+nc) into strips of `width` (16 or 32) columns: strip s
// holds kp_rows x width pair words, pair row kp at word kp * width. Strips cover nc rounded up
// to a multiple of 32 columns; columns past nc, the odd k past kc and the pair rows past
// (kc + 1) / 2 (kp_rows may be larger) are zero. If col_sums is not null, col_sums[j - j0] +=
// the sum of the packed fp32 values of column j, in order of k.
LOOM_BF16_TARGET void pack_b(uint32_t* dst, bool trans_b, const float* B, int64_t ldb, int64_t p0, int64_t kc,
                             int64_t j0, int64_t nc, int64_t kp_rows, int64_t width, float* col_sums) {
  const int64_t kp_count = (kc + 1) / 2, nc_pad = (nc + 31) / 32 * 32;
  for (int64_t s = 0; s * width < nc_pad; ++s) {
    uint32_t* strip = dst + s * kp_rows * width;
    if (kp_rows > kp_count)
      std::memset(strip + kp_count * width, 0, static_cast<size_t>((kp_rows - kp_count) * width) * sizeof(uint32_t));
    const int64_t js = j0 + s * width, cols = nc - s * width < width ? nc - s * width : width;
    if (!trans_b) {  // B[k * ldb + j]: two rows of k, 16 columns at a time
      __m512 sum[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
      for (int64_t kp = 0; kp < kp_count; ++kp) {
        const int64_t k = p0 + 2 * kp;
        const bool has_odd = 2 * kp + 1 < kc;
        for (int64_t h = 0; h < width / 16; ++h) {
          const int64_t n = cols - 16 * h;
          __m512i w = _mm512_setzero_si512();
          if (n > 0) {
            const __m512 x = _mm512_maskz_loadu_ps(first_lanes(n), B + k * ldb + js + 16 * h);
            const __m512 y = has_odd ? _mm512_maskz_loadu_ps(first_lanes(n), B + (k + 1) * ldb + js + 16 * h)
                                     : _mm512_setzero_ps();
            w = interleave_pairs(reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(x)),
                                 reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(y)));
            if (col_sums) sum[h] = _mm512_add_ps(_mm512_add_ps(sum[h], x), y);
          }
          _mm512_storeu_si512(strip + kp * width + 16 * h, w);
        }
      }
      if (col_sums)
        for (int64_t h = 0; h < width / 16; ++h) {
          const __mmask16 m = first_lanes(cols - 16 * h);
          float* out = col_sums + s * width + 16 * h;
          _mm512_mask_storeu_ps(out, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, out), sum[h]));
        }
    } else {  // B[j * ldb + k]: each column is contiguous along k
      scatter_lines_as_pairs(strip, width, B + js * ldb + p0, ldb, width, cols > 0 ? cols : 0, kc);
      if (col_sums)
        for (int64_t j = 0; j < cols; ++j) {
          const float* col = B + (js + j) * ldb + p0;
          float t = col_sums[s * width + j];
          for (int64_t k = 0; k < kc; ++k) t += col[k];
          col_sums[s * width + j] = t;
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
      scatter_lines_as_pairs(panel, kMr, A + is * lda + p0, lda, kMr, rows, kc);
    }
  }
}

// One row of a 32-column block of C: c = alpha * (o0, o1) + beta * c (+ bias), lanes m0 and m1.
LOOM_BF16_TARGET inline void store_row(float* c, __m512 o0, __m512 o1, __mmask16 m0, __mmask16 m1, __m512 va,
                                       float beta, __m512 vb, const float* bias) {
  o0 = _mm512_mul_ps(va, o0);
  o1 = _mm512_mul_ps(va, o1);
  if (bias) {
    o0 = _mm512_add_ps(o0, _mm512_maskz_loadu_ps(m0, bias));
    o1 = _mm512_add_ps(o1, _mm512_maskz_loadu_ps(m1, bias + 16));
  }
  if (beta != 0.0f) {
    o0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), o0);
    o1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), o1);
  }
  _mm512_mask_storeu_ps(c, m0, o0);
  _mm512_mask_storeu_ps(c + 16, m1, o1);
}

// C[0..rows) x [0..cols) = alpha * (A panel . B strip) + beta * C (+ bias[0..cols) on every row).
LOOM_BF16_TARGET void micro_kernel(int64_t kp_count, const uint32_t* a, const uint32_t* b, float* C, int64_t ldc,
                                   int64_t rows, int64_t cols, float alpha, float beta, const float* bias) {
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
  const __mmask16 m0 = first_lanes(cols), m1 = first_lanes(cols - 16);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
  for (int r = 0; r < kMr; ++r) {
    if (r >= rows) break;
    store_row(C + r * ldc, acc0[r], acc1[r], m0, m1, va, beta, vb, bias);
  }
}

LOOM_BF16_TARGET void to_bf16_avx512(uint16_t* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    _mm512_storeu_si512(dst + i, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16),
                                                                                _mm512_loadu_ps(src + i))));
  for (; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    _mm256_mask_storeu_epi16(dst + i, m, reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i))));
  }
}

// Packing buffers, one set per thread, grown on demand and kept.
struct PackBuffers {
  std::vector<uint32_t> a, b;
};
thread_local PackBuffers t_pack;

// ---- AMX (Advanced Matrix Extensions) path ----------------------------------------
// TDPBF16PS multiplies a 16 x 32 bf16 tile of A by a 32 x 16 bf16 tile of B (stored as 16
// rows of 16 pair words, the pair layout of pack_b's strips) into a 16 x 16 fp32 tile: 8,192
// multiply-adds per instruction. A 32 x 32 block of C uses four accumulator tiles, two A
// tiles and two B tiles (all eight). Both operands are packed so that every tile the loop
// loads is 1 KiB of contiguous memory: op(A) in 16-row by 16-pair tiles (pack_a_tiles), op(B)
// in strips 16 columns wide. Tile loads, not products, bound this loop here (4 products alone
// run at ~2,200 GFLOP/s per core, with their 4 loads at 600-800); strided tiles (rows kpp
// words apart) loaded ~25% slower than contiguous ones in a micro-benchmark.

#define LOOM_AMX_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))

constexpr int64_t kAmxKc = 1024;               // k per block (512 pairs)
constexpr int64_t kAmxMc = 256;                // rows of A per packed block
constexpr int64_t kAmxNc = 512;                // columns of B per packed block
constexpr int64_t kAmxNr = 16;                 // columns per packed B strip (one tile wide)

struct alignas(64) TileConfig {
  uint8_t palette_id = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// op(A) rows [i0, i0 + mc) x k [p0, p0 + kc) as tiles: rows are taken in groups of 16 (mc
// padded to a multiple of 32) and k in steps of 16 pairs; tile (group g, step t) is 16 rows of
// 16 pair words, contiguous (1 KiB) at word (g * kpp / 16 + t) * 256. Everything past the data
// is zero. Contiguous tiles load about a quarter faster than rows at a stride of kpp words.
template <typename TA>
LOOM_AMX_TARGET void pack_a_tiles(uint32_t* dst, bool trans_a, const TA* A, int64_t lda, int64_t i0, int64_t mc,
                                  int64_t p0, int64_t kc, int64_t kpp) {
  const int64_t mc_pad = (mc + 31) / 32 * 32, kp_count = (kc + 1) / 2, steps = kpp / 16;
  auto tile_row = [&](int64_t r, int64_t kp0) { return dst + ((r / 16) * steps + kp0 / 16) * 256 + (r % 16) * 16; };
  // Both branches write whole 16-word tile rows for the rows they cover (past kp_count they
  // store zeros); only the padding rows are left.
  const int64_t covered = trans_a ? (mc + 15) / 16 * 16 : mc;
  for (int64_t r = covered; r < mc_pad; ++r)
    for (int64_t kp0 = 0; kp0 < kpp; kp0 += 16) _mm512_storeu_si512(tile_row(r, kp0), _mm512_setzero_si512());
  if (!trans_a) {  // rows contiguous along k
    for (int64_t r = 0; r < mc; ++r) {
      const TA* row = A + (i0 + r) * lda + p0;
      for (int64_t kp0 = 0; kp0 < kpp; kp0 += 16)
        _mm512_storeu_si512(tile_row(r, kp0), pairs_along_row(row + 2 * kp0, kc - 2 * kp0));
    }
  } else {  // A[k * lda + i]: 16 rows by 16 pairs (one tile) converted, then transposed in registers
    for (int64_t r0 = 0; r0 < mc; r0 += 16) {
      const int64_t n = mc - r0 < 16 ? mc - r0 : 16;
      for (int64_t kp0 = 0; kp0 < kpp; kp0 += 16) {
        __m512i w[16];
        for (int64_t j = 0; j < 16; ++j) {
          const int64_t kp = kp0 + j, k = p0 + 2 * kp;
          if (kp >= kp_count) {
            w[j] = _mm512_setzero_si512();
            continue;
          }
          const __m256i x = load_bf16x16(A + k * lda + i0 + r0, n);
          const __m256i y = 2 * kp + 1 < kc ? load_bf16x16(A + (k + 1) * lda + i0 + r0, n) : _mm256_setzero_si256();
          w[j] = interleave_pairs(x, y);
        }
        transpose_16x16(w);
        uint32_t* tile = tile_row(r0, kp0);
        for (int64_t r = 0; r < 16; ++r) _mm512_storeu_si512(tile + r * 16, w[r]);
      }
    }
  }
}

// C block rows [0, rows) x cols [0, cols) (each <= 32) = alpha * (32 x 32 tile result) + beta * C
// (+ bias[0..cols) on every row).
LOOM_AMX_TARGET void store_block(const float* t, float* C, int64_t ldc, int64_t rows, int64_t cols, float alpha,
                                 float beta, const float* bias) {
  const __mmask16 m0 = first_lanes(cols), m1 = first_lanes(cols - 16);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int64_t r = 0; r < rows; ++r)
    store_row(C + r * ldc, _mm512_load_ps(t + r * 32), _mm512_load_ps(t + r * 32 + 16), m0, m1, va, beta, vb, bias);
}

// All 32 x 32 blocks of C[0, mc) x [0, nc) from a packed A block (pack_a_tiles) and packed B
// strips of 16 columns (pack_b with kpp rows), plus bias[0, nc) on every row if bias is not null.
LOOM_AMX_TARGET void amx_blocks(const uint32_t* a, const uint32_t* b, int64_t kpp, int64_t mc, int64_t nc, float* C,
                                int64_t ldc, float alpha, float beta, const float* bias) {
  alignas(64) float t[32 * 32];
  constexpr size_t kTileStride = 16 * sizeof(uint32_t);  // every packed tile is 16 rows of 64 bytes
  for (int64_t is = 0; is < mc; is += 32) {
    const uint32_t* a0 = a + is * kpp;  // row group is / 16: (is / 16) * (kpp / 16) tiles of 256 words
    const uint32_t* a1 = a0 + 16 * kpp;
    for (int64_t js = 0; js < nc; js += 32) {
      const uint32_t* b0 = b + js * kpp;  // strip js / 16 of kpp x 16 words
      const uint32_t* b1 = b0 + 16 * kpp;
      // A whole 32 x 32 block with alpha 1 and beta 0 or 1 accumulates in C itself: the
      // tiles start as C, as the bias (one row read 16 times: stride 0) or as zero, and are
      // stored straight back.
      float* c = C + is * ldc + js;
      const bool direct = alpha == 1.0f && (beta == 0.0f || (beta == 1.0f && !bias)) && mc - is >= 32 && nc - js >= 32;
      const size_t c_stride = static_cast<size_t>(ldc) * sizeof(float);
      if (direct && beta == 1.0f) {
        _tile_loadd(0, c, c_stride);
        _tile_loadd(1, c + 16, c_stride);
        _tile_loadd(2, c + 16 * ldc, c_stride);
        _tile_loadd(3, c + 16 * ldc + 16, c_stride);
      } else if (direct && bias) {
        _tile_loadd(0, bias + js, 0);
        _tile_loadd(1, bias + js + 16, 0);
        _tile_loadd(2, bias + js, 0);
        _tile_loadd(3, bias + js + 16, 0);
      } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
      }
      // Each load right before the first product that needs it: the tiles are not renamed,
      // so a load waits for the products still reading the tile it replaces; in this order
      // the loads of the next step overlap the products of this one (2-11% faster on the
      // shapes of docs/benchmarks.md, measured interleaved in one process).
      for (int64_t kp = 0; kp < kpp; kp += 16) {  // step kp / 16: tile words at kp * 16
        _tile_loadd(4, a0 + kp * 16, kTileStride);
        _tile_loadd(6, b0 + kp * 16, kTileStride);
        _tile_dpbf16ps(0, 4, 6);
        _tile_loadd(7, b1 + kp * 16, kTileStride);
        _tile_dpbf16ps(1, 4, 7);
        _tile_loadd(5, a1 + kp * 16, kTileStride);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      if (direct) {
        _tile_stored(0, c, c_stride);
        _tile_stored(1, c + 16, c_stride);
        _tile_stored(2, c + 16 * ldc, c_stride);
        _tile_stored(3, c + 16 * ldc + 16, c_stride);
        continue;
      }
      _tile_stored(0, t, 128);
      _tile_stored(1, t + 16, 128);
      _tile_stored(2, t + 16 * 32, 128);
      _tile_stored(3, t + 16 * 32 + 16, 128);
      store_block(t, c, ldc, mc - is < 32 ? mc - is : 32, nc - js < 32 ? nc - js : 32, alpha, beta,
                  bias ? bias + js : nullptr);
    }
  }
}

template <typename TA>
LOOM_AMX_TARGET void gemm_amx_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                                     const TA* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                                     int64_t ldc, const float* bias, int64_t whole, float* b_col_sums) {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  // Not _tile_loadconfig: GCC 12's version tells the compiler that it reads only the first 8
  // bytes of the struct, so the stores of rows and colsb above may be dropped as dead (they
  // were, once the load sat in a helper function), leaving every tile unconfigured (SIGILL at
  // the first tile instruction). Here the whole struct is the asm's input.
  __asm__ volatile("ldtilecfg %0" : : "m"(cfg));
  PackBuffers& buf = t_pack;
  auto grow = [](std::vector<uint32_t>& v, int64_t words) {
    if (v.size() < static_cast<size_t>(words)) v.resize(static_cast<size_t>(words));
  };
  const int64_t m_pad = (M + 31) / 32 * 32, n_pad = (N + kNr - 1) / kNr * kNr;
  for (int64_t p0 = 0; p0 < K; p0 += kAmxKc) {
    const int64_t kc = K - p0 < kAmxKc ? K - p0 : kAmxKc, kpp = (kc + 31) / 32 * 16;
    const float beta_here = p0 == 0 ? beta : 1.0f;
    const float* bias_here = p0 == 0 ? bias : nullptr;  // added once, with the first k block
    if (n_pad * kpp * 4 <= whole) {  // all of op(B) packed once; A in row blocks
      grow(buf.b, n_pad * kpp);
      pack_b(buf.b.data(), trans_b, B, ldb, p0, kc, 0, N, kpp, kAmxNr, b_col_sums);
      grow(buf.a, kAmxMc * kpp);
      for (int64_t i0 = 0; i0 < M; i0 += kAmxMc) {
        const int64_t mc = M - i0 < kAmxMc ? M - i0 : kAmxMc;
        pack_a_tiles(buf.a.data(), trans_a, A, lda, i0, mc, p0, kc, kpp);
        amx_blocks(buf.a.data(), buf.b.data(), kpp, mc, N, C + i0 * ldc, ldc, alpha, beta_here, bias_here);
      }
    } else if (m_pad * kpp * 4 <= whole) {  // all of op(A) packed once; B in column blocks
      grow(buf.a, m_pad * kpp);
      pack_a_tiles(buf.a.data(), trans_a, A, lda, 0, M, p0, kc, kpp);
      grow(buf.b, kAmxNc * kpp);
      for (int64_t j0 = 0; j0 < N; j0 += kAmxNc) {
        const int64_t nc = N - j0 < kAmxNc ? N - j0 : kAmxNc;
        pack_b(buf.b.data(), trans_b, B, ldb, p0, kc, j0, nc, kpp, kAmxNr, b_col_sums ? b_col_sums + j0 : nullptr);
        amx_blocks(buf.a.data(), buf.b.data(), kpp, M, nc, C + j0, ldc, alpha, beta_here,
                   bias_here ? bias_here + j0 : nullptr);
      }
    } else {
      grow(buf.a, kAmxMc * kpp);
      grow(buf.b, kAmxNc * kpp);
      for (int64_t j0 = 0; j0 < N; j0 += kAmxNc) {
        const int64_t nc = N - j0 < kAmxNc ? N - j0 : kAmxNc;
        pack_b(buf.b.data(), trans_b, B, ldb, p0, kc, j0, nc, kpp, kAmxNr, b_col_sums ? b_col_sums + j0 : nullptr);
        for (int64_t i0 = 0; i0 < M; i0 += kAmxMc) {
          const int64_t mc = M - i0 < kAmxMc ? M - i0 : kAmxMc;
          pack_a_tiles(buf.a.data(), trans_a, A, lda, i0, mc, p0, kc, kpp);
          amx_blocks(buf.a.data(), buf.b.data(), kpp, mc, nc, C + i0 * ldc + j0, ldc, alpha, beta_here,
                     bias_here ? bias_here + j0 : nullptr);
        }
      }
    }
  }
  _tile_release();
}

}  // namespace
#endif  // LOOM_HAVE_BF16_CODE

bool cpu_has_amx_bf16() {
#ifdef LOOM_HAVE_BF16_CODE
  static const bool has = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool amx_bf16 = (d >> 22) & 1u, amx_tile = (d >> 24) & 1u;
    if (!amx_bf16 || !amx_tile || !cpu_has_avx512_bf16()) return false;
    // Linux hands out the 8 KiB of tile state only to processes that ask for it.
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return has;
#else
  return false;
#endif
}

bool bf16_operands_native() { return !use_reference() && cpu_has_amx_bf16(); }

void to_bf16(uint16_t* dst, const float* src, int64_t n) {
#ifdef LOOM_HAVE_BF16_CODE
  if (!use_reference() && cpu_has_avx512_bf16()) {
    to_bf16_avx512(dst, src, n);
    return;
  }
#endif
  for (int64_t i = 0; i < n; ++i) {
    const float r = reference::round_to_bf16(src[i]);
    uint32_t u;
    std::memcpy(&u, &r, sizeof u);
    dst[i] = static_cast<uint16_t>(u >> 16);
  }
}

void from_bf16(float* dst, const uint16_t* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t u = static_cast<uint32_t>(src[i]) << 16;
    std::memcpy(dst + i, &u, sizeof u);
  }
}

void gemm_bf16_a16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias,
                   float* b_col_sums) {
  if (M == 0 || N == 0) return;
#ifdef LOOM_HAVE_BF16_CODE
  if (bf16_operands_native()) {
    if (K == 0) return detail::scale_c(M, N, beta, C, ldc, bias);
    auto serial = [](bool ta, bool tb, int64_t m, int64_t n, int64_t k, float al, const uint16_t* a, int64_t la,
                     const float* b, int64_t lb, float be, float* c, int64_t lc, const float* bi, float* sums) {
      gemm_amx_serial(ta, tb, m, n, k, al, a, la, b, lb, be, c, lc, bi, int64_t{8} << 20, sums);
    };
    detail::gemm_on_pool_of(serial, 32, 32, &detail::gemm_bf16_shares(), trans_a, trans_b, M, N, K, alpha, A, lda,
                            B, ldb, beta, C, ldc, bias, b_col_sums);
    return;
  }
#endif
  // Widened to fp32 (exact: every bf16 is a float) and through gemm_bf16, whose rounding then
  // leaves A as it is.
  const int64_t rows = trans_a ? K : M, cols = trans_a ? M : K;
  std::vector<float> a(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) from_bf16(a.data() + r * cols, A + r * lda, cols);
  gemm_bf16(trans_a, trans_b, M, N, K, alpha, a.data(), cols, B, ldb, beta, C, ldc, bias, b_col_sums);
}

namespace detail {

SpeedShares& gemm_bf16_shares() {
  static SpeedShares shares;
  return shares;
}

void gemm_bf16_amx(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias,
                   int64_t pack_whole_bytes, float* b_col_sums) {
  LOOM_CHECK(cpu_has_amx_bf16()) << "gemm_bf16_amx on a CPU (or kernel) without AMX-BF16";
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_c(M, N, beta, C, ldc, bias);
#ifdef LOOM_HAVE_BF16_CODE
  gemm_amx_serial(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, pack_whole_bytes,
                  b_col_sums);
#else
  (void)trans_a, (void)trans_b, (void)alpha, (void)A, (void)lda, (void)B, (void)ldb, (void)bias,
      (void)pack_whole_bytes, (void)b_col_sums;
#endif
}

void gemm_bf16_avx512(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                      const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                      int64_t ldc, const float* bias, float* b_col_sums) {
#ifdef LOOM_HAVE_BF16_CODE
  LOOM_CHECK(cpu_has_avx512_bf16()) << "gemm_bf16_avx512 on a CPU without AVX512-BF16";
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_c(M, N, beta, C, ldc, bias);
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
      pack_b(buf.b.data(), trans_b, B, ldb, p0, kc, j0, nc, kp_count, kNr,
             b_col_sums ? b_col_sums + j0 : nullptr);
      for (int64_t i0 = 0; i0 < M; i0 += kMc) {
        const int64_t mc = M - i0 < kMc ? M - i0 : kMc;
        pack_a(buf.a.data(), trans_a, A, lda, i0, mc, p0, kc);
        for (int64_t js = 0; js < nc; js += kNr) {
          const uint32_t* strip = buf.b.data() + (js / kNr) * kp_count * kNr;
          const int64_t cols = nc - js < kNr ? nc - js : kNr;
          for (int64_t is = 0; is < mc; is += kMr) {
            const uint32_t* panel = buf.a.data() + (is / kMr) * kp_count * kMr;
            const int64_t rows = mc - is < kMr ? mc - is : kMr;
            micro_kernel(kp_count, panel, strip, C + (i0 + is) * ldc + j0 + js, ldc, rows, cols, alpha, beta_here,
                         p0 == 0 && bias ? bias + j0 + js : nullptr);
          }
        }
      }
    }
  }
#else
  (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)B, (void)ldb,
      (void)beta, (void)C, (void)ldc, (void)bias, (void)b_col_sums;
  LOOM_CHECK(false) << "gemm_bf16_avx512 is not compiled into this build";
#endif
}

}  // namespace detail

namespace {
// detail::gemm_bf16_amx with its default packing threshold, as a plain SerialGemm.
void amx_with_default_packing(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                              const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                              int64_t ldc, const float* bias, float* b_col_sums) {
  detail::gemm_bf16_amx(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, int64_t{8} << 20,
                        b_col_sums);
}
}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias,
               float* b_col_sums) {
  if (M == 0 || N == 0) return;
  if (use_reference()) {
    reference::gemm_bf16(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (bias) detail::scale_c(M, N, 1.0f, C, ldc, bias);
    if (b_col_sums) detail::add_col_sums(trans_b, K, N, B, ldb, b_col_sums);
    return;
  }
  if (!cpu_has_avx512_bf16()) {
    detail::gemm_bf16_portable(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, b_col_sums);
    return;
  }
  // One block of C per pool thread, in whole micro-tiles: 32 columns, or 32 (AMX) / 12 rows.
  if (cpu_has_amx_bf16())
    detail::gemm_on_pool(amx_with_default_packing, 32, 32, &detail::gemm_bf16_shares(), trans_a, trans_b, M, N, K,
                         alpha, A, lda, B, ldb, beta, C, ldc, bias, b_col_sums);
  else
    detail::gemm_on_pool(detail::gemm_bf16_avx512, 32, 12, &detail::gemm_bf16_shares(), trans_a, trans_b, M, N, K,
                         alpha, A, lda, B, ldb, beta, C, ldc, bias, b_col_sums);
}

}  // namespace loom::kernels
