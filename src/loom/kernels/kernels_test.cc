// Every optimized kernel against its reference version, on odd sizes and size 1, with the
// path switched through set_kernel_path (what LOOM_KERNELS selects in programs).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "loom/kernels/attention.h"
#include "loom/kernels/cross_entropy.h"
#include "loom/kernels/dispatch.h"
#include "loom/kernels/elementwise.h"
#include "loom/kernels/fast_math.h"
#include "loom/kernels/gelu.h"
#include "loom/kernels/layernorm.h"
#include "loom/kernels/matmul.h"
#include "loom/kernels/optimizer.h"

namespace loom::kernels {
namespace {

using Vec = std::vector<float>;

Vec rnd(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  Vec v(static_cast<size_t>(n));
  for (auto& x : v) x = d(g);
  return v;
}

// Runs `body` once on each path and returns the two sets of outputs.
template <typename F>
std::pair<std::vector<Vec>, std::vector<Vec>> both_paths(F body) {
  KernelPath saved = kernel_path();
  set_kernel_path(KernelPath::kReference);
  auto ref = body();
  set_kernel_path(KernelPath::kOptimized);
  auto opt = body();
  set_kernel_path(saved);
  return {ref, opt};
}

void expect_close(const std::vector<Vec>& a, const std::vector<Vec>& b, float tol, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].size(), b[k].size());
    for (size_t i = 0; i < a[k].size(); ++i)
      ASSERT_NEAR(a[k][i], b[k][i], tol * (1.0f + std::abs(a[k][i])))
          << what << ": output " << k << " element " << i;
  }
}

// Both precisions: fp32, and bf16 products (whose reference is reference::gemm_bf16). The
// last two shapes split the weight gradient's GEMM by columns and by rows over the pool.
TEST(Kernels, MatmulMatchesReference) {
  for (MatmulPrecision p : {MatmulPrecision::kF32, MatmulPrecision::kBF16})
    for (auto [N, C, OC] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {7, 13, 5}, {33, 64, 97}, {40, 150, 24}}) {
      for (WeightLayout layout : {WeightLayout::kInOut, WeightLayout::kOutIn}) {
        Vec x = rnd(N * C, 1), w = rnd(C * OC, 2), b = rnd(OC, 3), dout = rnd(N * OC, 4);
        auto [r, o] = both_paths([&] {
          Vec out(N * OC), dx(N * C, 0.5f), dw(C * OC, 0.25f), db(OC, 1.0f);
          matmul_forward(out.data(), x.data(), w.data(), b.data(), N, C, OC, layout, p);
          matmul_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), N, C, OC, layout, p);
          Vec nobias(N * OC);
          matmul_forward(nobias.data(), x.data(), w.data(), nullptr, N, C, OC, layout, p);
          return std::vector<Vec>{out, dx, dw, db, nobias};
        });
        expect_close(r, o, 1e-4f, p == MatmulPrecision::kBF16 ? "matmul bf16" : "matmul");
      }
    }
}

// A single row of A (batch-1 decoding) takes its own streaming loops: against the
// definition for both layouts of B, tails in N (not whole cache lines or groups of four) and K
// (not a multiple of four), padded B and C, beta and bias; shapes above the serial size split
// over the pool, and give the same numbers on one thread and two. alpha != 1 goes the general way.
TEST(Kernels, SingleRowGemmMatchesReference) {
  for (auto [N, K] : std::vector<std::array<int64_t, 2>>{{1, 1}, {3, 5}, {37, 11}, {1000, 301}, {2309, 768}})
    for (bool tb : {false, true})
      for (auto [alpha, beta] : std::vector<std::pair<float, float>>{{1.0f, 0.0f}, {1.0f, -0.75f}, {0.5f, 1.0f}})
        for (bool with_bias : {false, true}) {
          const int64_t ldb = (tb ? K : N) + 3, ldc = N + 2;
          const Vec A = rnd(K, 81), B = rnd((tb ? N : K) * ldb, 82), C0 = rnd(ldc, 83), bias = rnd(N, 84);
          Vec want = C0;
          reference::gemm<float>(false, tb, 1, N, K, alpha, A.data(), K, B.data(), ldb, beta, want.data(), ldc);
          if (with_bias)
            for (int64_t j = 0; j < N; ++j) want[static_cast<size_t>(j)] += bias[static_cast<size_t>(j)];
          std::vector<Vec> got;
          for (int threads : {1, 2}) {
            set_num_threads(threads);
            Vec c = C0;
            gemm(false, tb, 1, N, K, alpha, A.data(), K, B.data(), ldb, beta, c.data(), ldc,
                 with_bias ? bias.data() : nullptr);
            got.push_back(c);
          }
          set_num_threads(2);
          EXPECT_EQ(got[0], got[1]) << "N" << N << " K" << K << " tb" << tb;
          for (int64_t j = 0; j < ldc; ++j) {
            const size_t at = static_cast<size_t>(j);
            if (j >= N) {
              ASSERT_EQ(got[1][at], C0[at]) << "padding column " << j;
              continue;
            }
            const float tol = 1e-6f * static_cast<float>(K) + 1e-5f;
            ASSERT_NEAR(got[1][at], want[at], tol * (1.0f + std::abs(want[at])))
                << "N" << N << " K" << K << " tb" << tb << " alpha " << alpha << " beta " << beta
                << (with_bias ? " bias" : "") << " at " << j;
          }
        }
}

TEST(Kernels, RoundToBf16IsNearestEven) {
  auto bits = [](float x) {
    uint32_t u;
    std::memcpy(&u, &x, sizeof u);
    return u;
  };
  auto from = [](uint32_t u) {
    float x;
    std::memcpy(&x, &u, sizeof x);
    return x;
  };
  EXPECT_EQ(reference::round_to_bf16(1.0f), 1.0f);
  EXPECT_EQ(bits(reference::round_to_bf16(from(0x3f808000u))), 0x3f800000u);  // tie, even below
  EXPECT_EQ(bits(reference::round_to_bf16(from(0x3f818000u))), 0x3f820000u);  // tie, even above
  EXPECT_EQ(bits(reference::round_to_bf16(from(0x3f808001u))), 0x3f810000u);  // above half
  EXPECT_EQ(reference::round_to_bf16(INFINITY), INFINITY);
  EXPECT_TRUE(std::isnan(reference::round_to_bf16(NAN)));
  EXPECT_EQ(bits(reference::round_to_bf16(from(0x7f7fffffu))), 0x7f800000u);  // max float rounds to inf
}

// Both bf16 GEMM paths against the definition, every transpose, tails in M, N and K
// (including K odd and past one packed block), alpha and beta; and the column sums of op(B)
// some paths take while packing it, added to what the output held.
TEST(Kernels, GemmBf16MatchesReferenceOnEveryPath) {
  struct Path {
    const char* name;
    void (*fn)(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float,
               float*, int64_t, const float*, float*);
  };
  std::vector<Path> paths = {{"portable", detail::gemm_bf16_portable}};
  if (cpu_has_avx512_bf16()) paths.push_back({"avx512_bf16", detail::gemm_bf16_avx512});
  if (cpu_has_amx_bf16()) {
    paths.push_back({"amx_bf16", [](bool ta, bool tb, int64_t m, int64_t n, int64_t k, float al, const float* a,
                                    int64_t la, const float* b, int64_t lb, float be, float* c, int64_t lc,
                                    const float* bias, float* sums) {
                       detail::gemm_bf16_amx(ta, tb, m, n, k, al, a, la, b, lb, be, c, lc, bias, int64_t{8} << 20, sums);
                     }});
    // Small enough that op(A) is packed whole but op(B) is not, then neither: every branch.
    paths.push_back({"amx_bf16_a_whole", [](bool ta, bool tb, int64_t m, int64_t n, int64_t k, float al, const float* a,
                                            int64_t la, const float* b, int64_t lb, float be, float* c, int64_t lc,
                                            const float* bias, float* sums) {
                       const int64_t kpp = ((k < 1024 ? k : 1024) + 31) / 32 * 16;
                       detail::gemm_bf16_amx(ta, tb, m, n, k, al, a, la, b, lb, be, c, lc, bias,
                                             (m + 31) / 32 * 32 * kpp * 4, sums);
                     }});
    paths.push_back({"amx_bf16_blocked", [](bool ta, bool tb, int64_t m, int64_t n, int64_t k, float al, const float* a,
                                            int64_t la, const float* b, int64_t lb, float be, float* c, int64_t lc,
                                            const float* bias, float* sums) {
                       detail::gemm_bf16_amx(ta, tb, m, n, k, al, a, la, b, lb, be, c, lc, bias, 0, sums);
                     }});
  }
  paths.push_back({"dispatched", gemm_bf16});
  for (auto [M, N, K] : std::vector<std::array<int64_t, 3>>{
           {1, 1, 1}, {1, 37, 5}, {13, 1, 2}, {12, 32, 16}, {25, 70, 31}, {150, 40, 400}, {7, 1100, 9}, {300, 200, 97}, {33, 600, 1100}, {40, 33, 2100}}) {
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
        const Vec A = rnd((ta ? K : M) * lda, 11), B = rnd((tb ? N : K) * ldb, 12), C0 = rnd(M * ldc, 13);
        const Vec bias_values = rnd(N, 14);
        for (auto [alpha, beta] : std::vector<std::pair<float, float>>{{1.0f, 0.0f}, {1.0f, 1.0f}, {0.5f, 1.0f}, {2.0f, -0.75f}})
         for (const float* bias : {static_cast<const float*>(nullptr), bias_values.data()}) {
          Vec want = C0;
          reference::gemm_bf16(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, want.data(), ldc);
          if (bias)
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < N; ++j) want[static_cast<size_t>(i * ldc + j)] += bias[j];
          for (const Path& p : paths) {
            Vec got = C0;
            // Sums on the biased calls only (half of them run without, as the GEMMs that do not ask).
            Vec sums(static_cast<size_t>(N), 0.5f);
            p.fn(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, got.data(), ldc, bias,
                 bias ? sums.data() : nullptr);
            for (int64_t j = 0; bias && j < N; ++j) {
              double want_sum = 0.5;
              for (int64_t k = 0; k < K; ++k) want_sum += B[static_cast<size_t>(tb ? j * ldb + k : k * ldb + j)];
              ASSERT_NEAR(sums[static_cast<size_t>(j)], want_sum, 1e-5 * static_cast<double>(K) + 1e-5)
                  << p.name << " column sum " << j << " M" << M << " N" << N << " K" << K << " tb" << tb;
            }
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < ldc; ++j) {
                const size_t at = static_cast<size_t>(i * ldc + j);
                if (j >= N) {  // padding columns of C are never touched
                  ASSERT_EQ(got[at], C0[at]) << p.name;
                  continue;
                }
                // Same exact products, summed in another order: float rounding only.
                const float tol = 2e-6f * static_cast<float>(K) * std::abs(alpha) * 4.0f + 1e-5f;
                ASSERT_NEAR(got[at], want[at], tol * (1.0f + std::abs(want[at])))
                    << p.name << " M" << M << " N" << N << " K" << K << " ta" << ta << " tb" << tb << " alpha "
                    << alpha << " beta " << beta << (bias ? " bias" : "") << " at (" << i << "," << j << ")";
              }
          }
        }
      }
  }
}

std::vector<uint16_t> as_bf16(const Vec& x) {
  std::vector<uint16_t> out(x.size());
  to_bf16(out.data(), x.data(), static_cast<int64_t>(x.size()));
  return out;
}

// to_bf16 rounds as reference::round_to_bf16 does (nearest even) on every path.
TEST(Kernels, ToBf16IsReferenceRounding) {
  Vec x = rnd(1000, 31, 10.0f);
  for (float v : {0.0f, -0.0f, 1.0f, 1.00390625f, 1.005859375f, 3.0e38f, -1.0e-30f, 65504.0f}) x.push_back(v);
  for (KernelPath path : {KernelPath::kReference, KernelPath::kOptimized}) {
    set_kernel_path(path);
    const std::vector<uint16_t> got = as_bf16(x);
    Vec back(x.size());
    from_bf16(back.data(), got.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_EQ(back[i], reference::round_to_bf16(x[i])) << x[i] << " on " << kernel_path_name(path);
  }
  set_kernel_path(KernelPath::kOptimized);
}

// A GEMM whose A arrives in bf16 gives, bit for bit, gemm_bf16's result on the fp32 values
// (which it rounds to the same bf16): on the native path and on the widening fallback.
TEST(Kernels, GemmBf16WithBf16AEqualsFp32A) {
  for (KernelPath path : {KernelPath::kOptimized, KernelPath::kReference}) {
    set_kernel_path(path);
    for (auto [M, N, K] : std::vector<std::array<int64_t, 3>>{
             {1, 1, 1}, {13, 37, 5}, {150, 40, 400}, {70, 300, 1100}, {300, 70, 2100}, {2048, 96, 64}}) {
      if (path == KernelPath::kReference && M * N * K > 2000000) continue;  // the scalar reference is slow
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
          const Vec A = rnd((ta ? K : M) * lda, 41), B = rnd((tb ? N : K) * ldb, 42), C0 = rnd(M * ldc, 43);
          const Vec bias = rnd(N, 44);
          const std::vector<uint16_t> A16 = as_bf16(A);
          for (auto [alpha, beta] : std::vector<std::pair<float, float>>{{1.0f, 0.0f}, {0.5f, 1.0f}}) {
            Vec want = C0, got = C0, want_sums(static_cast<size_t>(N), 0.5f), got_sums = want_sums;
            gemm_bf16(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, want.data(), ldc, bias.data(),
                      want_sums.data());
            gemm_bf16_a16(ta, tb, M, N, K, alpha, A16.data(), lda, B.data(), ldb, beta, got.data(), ldc, bias.data(),
                          got_sums.data());
            for (size_t i = 0; i < want.size(); ++i)
              ASSERT_EQ(got[i], want[i]) << kernel_path_name(path) << " M" << M << " N" << N << " K" << K << " ta"
                                         << ta << " tb" << tb << " at " << i;
            for (size_t j = 0; j < want_sums.size(); ++j) ASSERT_EQ(got_sums[j], want_sums[j]) << "column sum " << j;
          }
        }
    }
  }
  set_kernel_path(KernelPath::kOptimized);
}

// The bf16 GEMMs split C among threads by their recent speeds (gemm_bf16_shares): wherever
// the split falls, every element of C (and every column sum) comes out the same, bit for bit.
TEST(Kernels, GemmBf16ResultsDoNotDependOnHowTheWorkIsSplit) {
  set_num_threads(2);
  SpeedShares& shares = detail::gemm_bf16_shares();
  const float even[2] = {1.0f, 1.0f}, left[2] = {0.13f, 0.87f}, right[2] = {0.9f, 0.1f};
  // Columns split (N >= M) and rows split, with edge blocks of every size.
  for (auto [M, N, K] :
       std::vector<std::array<int64_t, 3>>{{70, 300, 1100}, {300, 70, 2100}, {45, 1000, 77}, {1000, 45, 300}}) {
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
        const Vec A = rnd((ta ? K : M) * lda, 61), B = rnd((tb ? N : K) * ldb, 62), C0 = rnd(M * ldc, 63);
        const Vec bias = rnd(N, 64);
        const std::vector<uint16_t> A16 = as_bf16(A);
        Vec first, first16, first512, first_sums;
        for (const float* s : {even, left, right}) {
          shares.set(2, s);
          Vec got = C0, got16 = C0, got512 = C0, sums(static_cast<size_t>(N), 0.5f), sums16 = sums;
          gemm_bf16(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 1.0f, got.data(), ldc, bias.data(),
                    sums.data());
          gemm_bf16_a16(ta, tb, M, N, K, 0.5f, A16.data(), lda, B.data(), ldb, 0.0f, got16.data(), ldc, nullptr,
                        sums16.data());
          if (cpu_has_avx512_bf16())  // the non-AMX path, split as gemm_bf16 splits it there
            detail::gemm_on_pool(detail::gemm_bf16_avx512, 32, 12, &shares, ta, tb, M, N, K, 1.0f, A.data(), lda,
                                 B.data(), ldb, 1.0f, got512.data(), ldc, bias.data());
          if (s == even) {
            first = got, first16 = got16, first512 = got512, first_sums = sums;
            continue;
          }
          for (size_t i = 0; i < got.size(); ++i) {
            ASSERT_EQ(got[i], first[i]) << "M" << M << " N" << N << " K" << K << " ta" << ta << " tb" << tb
                                        << " at " << i;
            ASSERT_EQ(got16[i], first16[i]) << "bf16 A, M" << M << " N" << N << " at " << i;
            ASSERT_EQ(got512[i], first512[i]) << "AVX512-BF16, M" << M << " N" << N << " at " << i;
          }
          for (size_t j = 0; j < sums.size(); ++j) ASSERT_EQ(sums[j], first_sums[j]) << "column sum " << j;
        }
      }
  }
  shares.set(2, even);
}

// Attention hands heads and AdamW hands chunks to whichever thread is free: the same numbers
// on one thread as on two.
TEST(Kernels, DynamicallySharedKernelsGiveTheSameNumbersOnOneThreadAndTwo) {
  const int64_t B = 2, T = 33, C = 48, NH = 3, n = 100003;
  const Vec qkv = rnd(B * T * 3 * C, 71), dout = rnd(B * T * C, 72);
  const Vec g = rnd(n, 74), p0 = rnd(n, 75);
  struct Out {
    Vec out, lse, dqkv, p, m, v;
  };
  auto run = [&](int threads) {
    set_num_threads(threads);
    Out o{Vec(static_cast<size_t>(B * T * C)), Vec(static_cast<size_t>(B * NH * T)), Vec(qkv.size()), p0,
          Vec(static_cast<size_t>(n), 0.0f), Vec(static_cast<size_t>(n), 0.0f)};
    attention_forward(o.out.data(), o.lse.data(), qkv.data(), B, T, C, NH);
    attention_backward(o.dqkv.data(), dout.data(), qkv.data(), o.out.data(), o.lse.data(), B, T, C, NH,
                       MatmulPrecision::kF32, true);
    for (int64_t step = 1; step <= 2; ++step)
      adamw_update(o.p.data(), g.data(), o.m.data(), o.v.data(), n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f, step, true, 0.5f);
    return o;
  };
  const Out one = run(1), two = run(2);
  EXPECT_EQ(one.out, two.out);
  EXPECT_EQ(one.lse, two.lse);
  EXPECT_EQ(one.dqkv, two.dqkv);
  EXPECT_EQ(one.p, two.p);
  EXPECT_EQ(one.m, two.m);
  EXPECT_EQ(one.v, two.v);
  set_num_threads(2);
}

// LayerNorm and GELU writing bf16 write the fp32 kernels' outputs rounded (to_bf16).
TEST(Kernels, LayerNormAndGeluWithBf16OutputRoundTheFp32Output) {
  for (KernelPath path : {KernelPath::kReference, KernelPath::kOptimized}) {
    set_kernel_path(path);
    const int64_t N = 37, C = 96;
    const Vec x = rnd(N * C, 51, 3.0f), w = rnd(C, 52), b = rnd(C, 53);
    Vec y(static_cast<size_t>(N * C)), mean(N), rstd(N), mean16(N), rstd16(N);
    layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 1e-5f);
    std::vector<uint16_t> y16(y.size());
    layernorm_forward_bf16(y16.data(), mean16.data(), rstd16.data(), x.data(), w.data(), b.data(), N, C, 1e-5f);
    EXPECT_EQ(y16, as_bf16(y)) << kernel_path_name(path);
    EXPECT_EQ(mean16, mean);
    EXPECT_EQ(rstd16, rstd);
    const Vec h = rnd(10000, 54, 4.0f);
    Vec g(h.size());
    gelu_forward(g.data(), h.data(), static_cast<int64_t>(h.size()));
    std::vector<uint16_t> g16(h.size());
    gelu_forward_bf16(g16.data(), h.data(), static_cast<int64_t>(h.size()));
    EXPECT_EQ(g16, as_bf16(g)) << kernel_path_name(path);
  }
  set_kernel_path(KernelPath::kOptimized);
}

TEST(Kernels, GemmBf16RoundsItsOperands) {
  // 1 + 2^-10 is not a bf16 value (8 bits of mantissa): it rounds to 1, so the bf16 product
  // of ones-like matrices differs from the fp32 one by exactly what rounding predicts.
  const int64_t M = 3, N = 40, K = 64;
  const Vec A(M * K, 1.0f + 1.0f / 1024.0f), B(K * N, 1.0f);
  Vec c32(M * N), c16(M * N);
  gemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, c32.data(), N);
  gemm_bf16(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, c16.data(), N);
  for (int64_t i = 0; i < M * N; ++i) {
    EXPECT_FLOAT_EQ(c32[static_cast<size_t>(i)], 64.0f * (1.0f + 1.0f / 1024.0f));
    EXPECT_EQ(c16[static_cast<size_t>(i)], 64.0f);
  }
}

TEST(Kernels, LayerNormMatchesReference) {
  for (auto [N, C] : std::vector<std::array<int64_t, 2>>{{1, 1}, {5, 7}, {40, 128}}) {
    Vec x = rnd(N * C, 5), w = rnd(C, 6), b = rnd(C, 7), dout = rnd(N * C, 8);
    auto [r, o] = both_paths([&] {
      Vec out(N * C), mean(N), rstd(N), dx(N * C, 0.1f), dw(C), db(C);
      layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 1e-5f);
      layernorm_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), mean.data(),
                         rstd.data(), N, C);
      return std::vector<Vec>{out, mean, rstd, dx, dw, db};
    });
    expect_close(r, o, 1e-4f, "layernorm");
  }
}

TEST(Kernels, GeluMatchesReference) {
  for (int64_t n : {1, 17, 10000}) {
    Vec x = rnd(n, 9, 3.0f), dout = rnd(n, 10);
    auto [r, o] = both_paths([&] {
      Vec out(n), dx(n, 1.0f), wx(n, std::nanf(""));
      gelu_forward(out.data(), x.data(), n);
      gelu_backward(dx.data(), x.data(), dout.data(), n);
      gelu_backward(wx.data(), x.data(), dout.data(), n, /*overwrite=*/true);
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(wx[i], dx[i] - 1.0f, 1e-5f) << i;
      return std::vector<Vec>{out, dx, wx};
    });
    expect_close(r, o, 2e-6f, "gelu");
    auto [re, oe] = both_paths([&] {
      Vec out(n), dx(n, 1.0f), t(n), dt(n, -1.0f), wx(n, std::nanf(""));
      gelu_erf_forward(out.data(), x.data(), n);
      gelu_erf_backward(dx.data(), x.data(), dout.data(), n);
      gelu_erf_backward(wx.data(), x.data(), dout.data(), n, /*overwrite=*/true);
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(wx[i], dx[i] - 1.0f, 1e-5f) << i;
      tanh_forward(t.data(), x.data(), n);
      tanh_backward(dt.data(), t.data(), dout.data(), n);
      return std::vector<Vec>{out, dx, t, dt, wx};
    });
    expect_close(re, oe, 2e-6f, "gelu (erf) and tanh");
  }
}

TEST(Kernels, FastExpAndTanhAreAccurate) {
  double worst_exp = 0, worst_tanh = 0;
  for (float x = -87.0f; x < 88.0f; x += 0.01337f) {
    const double e = std::exp(static_cast<double>(x));
    worst_exp = std::max(worst_exp, std::abs(exp_approx(x) - e) / e);
  }
  for (float x = -30.0f; x < 30.0f; x += 0.00137f)
    worst_tanh = std::max(worst_tanh, std::abs(tanh_approx(x) - std::tanh(static_cast<double>(x))));
  EXPECT_LT(worst_exp, 3e-7);
  EXPECT_LT(worst_tanh, 3e-7);
  double worst_erf = 0;
  for (float x = -8.0f; x < 8.0f; x += 0.00137f)
    worst_erf = std::max(worst_erf, std::abs(erf_approx(x) - std::erf(static_cast<double>(x))));
  EXPECT_LT(worst_erf, 5e-7);
  EXPECT_EQ(tanh_approx(0.0f), 0.0f);
  EXPECT_EQ(tanh_approx(100.0f), 1.0f);
  EXPECT_EQ(tanh_approx(-100.0f), -1.0f);
}

TEST(Kernels, AttentionMatchesReference) {
  for (auto [B, T, C, NH] : std::vector<std::array<int64_t, 4>>{{1, 1, 4, 1}, {2, 7, 12, 3}, {3, 33, 64, 4}, {1, 150, 32, 2}}) {
    Vec qkv = rnd(B * T * 3 * C, 11), dout = rnd(B * T * C, 12);
    auto [r, o] = both_paths([&] {
      Vec out(B * T * C), lse(B * NH * T), dqkv(B * T * 3 * C, 0.5f);
      attention_forward(out.data(), lse.data(), qkv.data(), B, T, C, NH);
      attention_backward(dqkv.data(), dout.data(), qkv.data(), out.data(), lse.data(), B, T, C, NH);
      return std::vector<Vec>{out, lse, dqkv};
    });
    expect_close(r, o, 1e-4f, "attention");
  }
}

// With overwrite the backward writes dqkv (whatever it held) as if it had started from zero.
TEST(Kernels, AttentionBackwardOverwriteEqualsZeroStart) {
  const int64_t B = 2, T = 70, C = 32, NH = 2;
  Vec qkv = rnd(B * T * 3 * C, 21), dout = rnd(B * T * C, 22);
  for (MatmulPrecision p : {MatmulPrecision::kF32, MatmulPrecision::kBF16}) {
    auto [r, o] = both_paths([&] {
      Vec out(B * T * C), lse(B * NH * T), from_zero(B * T * 3 * C, 0.0f), written(B * T * 3 * C, NAN);
      attention_forward(out.data(), lse.data(), qkv.data(), B, T, C, NH, p);
      attention_backward(from_zero.data(), dout.data(), qkv.data(), out.data(), lse.data(), B, T, C, NH, p);
      attention_backward(written.data(), dout.data(), qkv.data(), out.data(), lse.data(), B, T, C, NH, p, true);
      for (size_t i = 0; i < written.size(); ++i) EXPECT_EQ(written[i], from_zero[i]) << "element " << i;
      return std::vector<Vec>{written};
    });
    (void)r, (void)o;
  }
}

// bf16 products: the optimized path against the fp32 reference within bf16's rounding, and
// visibly not the fp32 computation (the precision reaches the GEMMs).
TEST(Kernels, Bf16AttentionIsCloseToFp32) {
  for (auto [B, T, C, NH] : std::vector<std::array<int64_t, 4>>{{2, 7, 12, 3}, {1, 150, 32, 2}}) {
    Vec qkv = rnd(B * T * 3 * C, 31), dout = rnd(B * T * C, 32);
    auto run = [&](MatmulPrecision p) {
      Vec out(B * T * C), lse(B * NH * T), dqkv(B * T * 3 * C, 0.5f);
      attention_forward(out.data(), lse.data(), qkv.data(), B, T, C, NH, p);
      attention_backward(dqkv.data(), dout.data(), qkv.data(), out.data(), lse.data(), B, T, C, NH, p);
      return std::vector<Vec>{out, lse, dqkv};
    };
    auto [r, o] = both_paths([&] { return run(MatmulPrecision::kBF16); });  // the reference is fp32
    expect_close(r, o, 2e-2f, "bf16 attention");
    auto [unused, f] = both_paths([&] { return run(MatmulPrecision::kF32); });
    double differ = 0;
    for (size_t i = 0; i < f[0].size(); ++i) differ = std::max(differ, static_cast<double>(std::abs(f[0][i] - o[0][i])));
    EXPECT_GT(differ, 1e-5) << "bf16 attention computed exactly the fp32 result";
  }
}

// Bidirectional and causal attention with a key padding mask on separate q, k, v tensors
// (row stride C): right padding, a hole in the middle, and a batch whose keys are all masked.
TEST(Kernels, MaskedAttentionMatchesReference) {
  for (bool causal : {false, true})
    for (auto [B, T, C, NH] : std::vector<std::array<int64_t, 4>>{{1, 1, 4, 1}, {3, 7, 12, 3}, {4, 70, 32, 2}}) {
      Vec q = rnd(B * T * C, 21), k = rnd(B * T * C, 22), v = rnd(B * T * C, 23), dout = rnd(B * T * C, 24);
      std::vector<int32_t> mask(static_cast<size_t>(B * T), 1);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T; ++t) {
          int32_t& m = mask[static_cast<size_t>(b * T + t)];
          if (b == 1) m = t < T / 2 + 1 ? 1 : 0;     // right padding
          if (b == 2) m = t == 1 || t == T - 1 ? 0 : 1;  // holes
          if (b == 3) m = 0;                            // nothing to see
        }
      const AttentionMask am{causal, mask.data()};
      auto [r, o] = both_paths([&] {
        Vec out(B * T * C), lse(B * NH * T), dq(B * T * C, 0.5f), dk(B * T * C, 0.25f), dv(B * T * C, -0.5f);
        attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), C, B, T, C, NH, am);
        attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(), C, out.data(),
                           lse.data(), B, T, C, NH, am);
        return std::vector<Vec>{out, lse, dq, dk, dv};
      });
      expect_close(r, o, 1e-4f, causal ? "masked causal attention" : "masked attention");
      // A batch that sees no key gets zero output and no gradient.
      if (B == 4) {
        for (int64_t i = 3 * T * C; i < 4 * T * C; ++i) {
          EXPECT_EQ(o[0][static_cast<size_t>(i)], 0.0f);
          EXPECT_EQ(o[3][static_cast<size_t>(i)], 0.25f);
        }
      }
    }
}

TEST(Kernels, CachedAttentionEqualsFullAttention) {
  // Decoding position by position against a cache must give the full causal attention.
  const int64_t B = 2, T = 9, C = 12, NH = 3, S = 16;
  Vec qkv = rnd(B * T * 3 * C, 13);
  Vec full(B * T * C), lse(B * NH * T);
  attention_forward(full.data(), lse.data(), qkv.data(), B, T, C, NH);
  for (KernelPath path : {KernelPath::kReference, KernelPath::kOptimized}) {
    KernelPath saved = kernel_path();
    set_kernel_path(path);
    Vec kc(B * S * C), vc(B * S * C);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t i = 0; i < C; ++i) {
          kc[(b * S + t) * C + i] = qkv[(b * T + t) * 3 * C + C + i];
          vc[(b * S + t) * C + i] = qkv[(b * T + t) * 3 * C + 2 * C + i];
        }
    // First 4 positions as a prompt, then one at a time.
    int64_t past = 0;
    for (int64_t chunk : {4, 1, 1, 1, 1, 1}) {
      Vec q(B * chunk * C), out(B * chunk * C);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < chunk; ++t)
          for (int64_t i = 0; i < C; ++i) q[(b * chunk + t) * C + i] = qkv[(b * T + past + t) * 3 * C + i];
      attention_cached_forward(out.data(), q.data(), kc.data(), vc.data(), B, chunk, past, S, C, NH);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < chunk; ++t)
          for (int64_t i = 0; i < C; ++i)
            ASSERT_NEAR(out[(b * chunk + t) * C + i], full[(b * T + past + t) * C + i], 1e-5f);
      past += chunk;
    }
    set_kernel_path(saved);
  }
}

TEST(Kernels, CrossEntropyMatchesReference) {
  for (auto [N, V] : std::vector<std::array<int64_t, 2>>{{1, 1}, {6, 17}, {50, 1000}}) {
    Vec logits = rnd(N * V, 14, 3.0f), dl = rnd(N, 15);
    std::vector<int32_t> targets(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) targets[n] = static_cast<int32_t>((n * 7) % V);
    if (N > 2) targets[1] = -1;
    auto [r, o] = both_paths([&] {
      Vec losses(N), lse(N), dlogits(N * V, 0.25f), written(N * V, std::nanf(""));
      cross_entropy_forward(losses.data(), lse.data(), logits.data(), targets.data(), N, V);
      cross_entropy_backward(dlogits.data(), logits.data(), lse.data(), targets.data(), dl.data(), N, V);
      cross_entropy_backward(written.data(), logits.data(), lse.data(), targets.data(), dl.data(), N, V,
                             /*overwrite=*/true);
      return std::vector<Vec>{losses, lse, dlogits, written};
    });
    expect_close(r, o, 1e-5f, "cross_entropy");
    // Overwriting equals accumulating onto 0.25 minus 0.25, and never reads the NaNs.
    for (size_t i = 0; i < o[2].size(); ++i) ASSERT_NEAR(o[3][i], o[2][i] - 0.25f, 1e-5f) << i;
    if (N > 2) {
      EXPECT_EQ(r[0][1], 0.0f);
    }
  }
}

TEST(Kernels, ElementwiseMatchesReference) {
  const int64_t B = 3, T = 5, C = 37, V = 11, n = B * T * C;
  Vec wte = rnd(V * C, 16), wpe = rnd(T * C, 17), x = rnd(n, 18), y = rnd(n, 19);
  std::vector<int32_t> ids(B * T);
  for (int64_t i = 0; i < B * T; ++i) ids[i] = static_cast<int32_t>((i * 3) % V);
  auto [r, o] = both_paths([&] {
    Vec emb(n), dwte(V * C), dwpe(T * C), drop(n), ddrop(n), sum(n), acc = x;
    embedding_forward(emb.data(), ids.data(), wte.data(), wpe.data(), B, T, C);
    embedding_backward(dwte.data(), dwpe.data(), y.data(), ids.data(), B, T, C);
    dropout_forward(drop.data(), x.data(), n, 0.25f, 77);
    dropout_backward(ddrop.data(), y.data(), n, 0.25f, 77);
    add_forward(sum.data(), x.data(), y.data(), n);
    accumulate(acc.data(), y.data(), n);
    return std::vector<Vec>{emb, dwte, dwpe, drop, ddrop, sum, acc};
  });
  expect_close(r, o, 1e-6f, "elementwise");
  // Dropout actually drops about p of the elements and scales the rest.
  int64_t zeros = 0;
  for (float v : o[3]) zeros += v == 0.0f;
  EXPECT_NEAR(static_cast<double>(zeros) / n, 0.25, 0.06);
}

// The optimized dropout decides keep/drop by an integer threshold instead of the reference's
// float comparison; the masks must be identical, also across thread chunks and tails.
TEST(Kernels, DropoutMaskIsTheReferenceMask) {
  const int64_t n = 3 * 8192 + 37;
  Vec x = rnd(n, 22), dy = rnd(n, 23);
  for (float p : {0.1f, 0.25f, 1.0f / 3.0f, 0.5f, 0.9f}) {
    auto [r, o] = both_paths([&] {
      Vec y(n), dx(n, 0.5f);
      dropout_forward(y.data(), x.data(), n, p, 1234567);
      dropout_backward(dx.data(), dy.data(), n, p, 1234567);
      return std::vector<Vec>{y, dx};
    });
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(r[0][i] == 0.0f, o[0][i] == 0.0f) << "p=" << p << " i=" << i;
      ASSERT_EQ(r[0][i], o[0][i]) << "p=" << p << " i=" << i;
      // Dropped elements keep their 0.5; kept ones may differ by one rounding (FMA contraction).
      ASSERT_EQ(r[1][i] == 0.5f, o[1][i] == 0.5f) << "p=" << p << " i=" << i;
      ASSERT_NEAR(r[1][i], o[1][i], 1e-6f) << "p=" << p << " i=" << i;
    }
  }
}

TEST(Kernels, OptimizerUpdatesMatchReference) {
  const int64_t n = 40000;
  Vec p0 = rnd(n, 20), g = rnd(n, 21);
  for (bool decoupled : {true, false}) {
    auto [r, o] = both_paths([&] {
      Vec p = p0, m(n), v(n);
      for (int64_t step = 1; step <= 3; ++step)
        adamw_update(p.data(), g.data(), m.data(), v.data(), n, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, step, decoupled,
                     step == 2 ? 0.7f : 1.0f);
      Vec ps = p0, buf(n);
      for (int step = 0; step < 3; ++step)
        sgd_update(ps.data(), g.data(), buf.data(), n, 0.1f, 0.9f, 0.01f, step == 0, step == 1 ? 0.5f : 1.0f);
      return std::vector<Vec>{p, m, v, ps, buf, Vec{static_cast<float>(sum_squares(g.data(), n))}};
    });
    expect_close(r, o, 1e-6f, "optimizer");
  }
}

}  // namespace
}  // namespace loom::kernels
