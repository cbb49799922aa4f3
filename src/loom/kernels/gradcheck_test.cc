// Finite-difference gradient checks, in double precision, of every reference kernel's
// backward. The reference kernels define the maths; the optimized kernels are checked
// against them in kernels_test.cc, and the autograd ops and models against PyTorch.
//
// For each op: L = sum(out * R) with a fixed random R, analytic dL/dx from the backward
// kernel, numeric (L(x + h) - L(x - h)) / 2h for every element of every input.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <vector>

#include "loom/kernels/reference/attention.h"
#include "loom/kernels/reference/cross_entropy.h"
#include "loom/kernels/reference/elementwise.h"
#include "loom/kernels/reference/gelu.h"
#include "loom/kernels/reference/layernorm.h"
#include "loom/kernels/reference/matmul.h"

namespace loom::kernels {
namespace {

using Vec = std::vector<double>;

Vec random_vec(size_t n, uint32_t seed, double scale = 1.0) {
  std::mt19937 g(seed);
  std::normal_distribution<double> d(0.0, scale);
  Vec v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// forward(inputs) -> out; backward(inputs, dout) -> grads (same shapes as inputs).
using Forward = std::function<Vec(const std::vector<Vec>&)>;
using Backward = std::function<std::vector<Vec>(const std::vector<Vec>&, const Vec&)>;

void gradcheck(const char* what, std::vector<Vec> inputs, const Forward& fwd, const Backward& bwd,
               double tol = 1e-6) {
  Vec out = fwd(inputs);
  Vec R = random_vec(out.size(), 99);
  auto loss = [&](const std::vector<Vec>& in) {
    Vec o = fwd(in);
    double s = 0;
    for (size_t i = 0; i < o.size(); ++i) s += o[i] * R[i];
    return s;
  };
  std::vector<Vec> analytic = bwd(inputs, R);
  ASSERT_EQ(analytic.size(), inputs.size());
  const double h = 1e-6;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (analytic[k].empty()) continue;  // input without a gradient (e.g. integer ids)
    ASSERT_EQ(analytic[k].size(), inputs[k].size());
    for (size_t i = 0; i < inputs[k].size(); ++i) {
      const double x0 = inputs[k][i];
      inputs[k][i] = x0 + h;
      double lp = loss(inputs);
      inputs[k][i] = x0 - h;
      double lm = loss(inputs);
      inputs[k][i] = x0;
      double num = (lp - lm) / (2 * h);
      double err = std::abs(num - analytic[k][i]) / std::max(1.0, std::abs(num));
      ASSERT_LT(err, tol) << what << ": input " << k << " element " << i << " numeric " << num
                          << " analytic " << analytic[k][i];
    }
  }
}

TEST(Gradcheck, MatmulBothLayouts) {
  const int64_t N = 5, C = 4, OC = 3;
  for (WeightLayout layout : {WeightLayout::kInOut, WeightLayout::kOutIn}) {
    gradcheck(
        "matmul", {random_vec(N * C, 1), random_vec(C * OC, 2), random_vec(OC, 3)},
        [&](const std::vector<Vec>& in) {
          Vec out(N * OC);
          reference::matmul_forward<double>(out.data(), in[0].data(), in[1].data(), in[2].data(), N, C,
                                            OC, layout);
          return out;
        },
        [&](const std::vector<Vec>& in, const Vec& dout) {
          Vec dx(N * C), dw(C * OC), db(OC);
          reference::matmul_backward<double>(dx.data(), dw.data(), db.data(), dout.data(), in[0].data(),
                                             in[1].data(), N, C, OC, layout);
          return std::vector<Vec>{dx, dw, db};
        });
  }
}

TEST(Gradcheck, LayerNormWithAndWithoutBias) {
  const int64_t N = 4, C = 7;
  for (bool with_bias : {true, false}) {
    gradcheck(
        "layernorm", {random_vec(N * C, 4), random_vec(C, 5), random_vec(C, 6)},
        [&](const std::vector<Vec>& in) {
          Vec out(N * C), mean(N), rstd(N);
          reference::layernorm_forward<double>(out.data(), mean.data(), rstd.data(), in[0].data(),
                                               in[1].data(), with_bias ? in[2].data() : nullptr, N, C,
                                               1e-5);
          return out;
        },
        [&](const std::vector<Vec>& in, const Vec& dout) {
          Vec out(N * C), mean(N), rstd(N), dx(N * C), dw(C), db(C);
          reference::layernorm_forward<double>(out.data(), mean.data(), rstd.data(), in[0].data(),
                                               in[1].data(), with_bias ? in[2].data() : nullptr, N, C,
                                               1e-5);
          reference::layernorm_backward<double>(dx.data(), dw.data(), with_bias ? db.data() : nullptr,
                                                dout.data(), in[0].data(), in[1].data(), mean.data(),
                                                rstd.data(), N, C);
          return std::vector<Vec>{dx, dw, with_bias ? db : Vec(C, 0.0)};
        });
  }
}

TEST(Gradcheck, Gelu) {
  const int64_t n = 13;
  gradcheck(
      "gelu", {random_vec(n, 7, 2.0)},
      [&](const std::vector<Vec>& in) {
        Vec out(n);
        reference::gelu_forward<double>(out.data(), in[0].data(), n);
        return out;
      },
      [&](const std::vector<Vec>& in, const Vec& dout) {
        Vec dx(n);
        reference::gelu_backward<double>(dx.data(), in[0].data(), dout.data(), n);
        return std::vector<Vec>{dx};
      });
}

TEST(Gradcheck, GeluErfAndTanh) {
  const int64_t n = 13;
  gradcheck(
      "gelu (erf)", {random_vec(n, 17, 2.0)},
      [&](const std::vector<Vec>& in) {
        Vec out(n);
        reference::gelu_erf_forward<double>(out.data(), in[0].data(), n);
        return out;
      },
      [&](const std::vector<Vec>& in, const Vec& dout) {
        Vec dx(n);
        reference::gelu_erf_backward<double>(dx.data(), in[0].data(), dout.data(), n);
        return std::vector<Vec>{dx};
      });
  gradcheck(
      "tanh", {random_vec(n, 18, 2.0)},
      [&](const std::vector<Vec>& in) {
        Vec out(n);
        reference::tanh_forward<double>(out.data(), in[0].data(), n);
        return out;
      },
      [&](const std::vector<Vec>& in, const Vec& dout) {
        Vec out(n), dx(n);
        reference::tanh_forward<double>(out.data(), in[0].data(), n);
        reference::tanh_backward<double>(dx.data(), out.data(), dout.data(), n);
        return std::vector<Vec>{dx};
      });
}

TEST(Gradcheck, CausalAttention) {
  for (auto [B, T, C, NH] : std::vector<std::array<int64_t, 4>>{{2, 5, 6, 2}, {1, 1, 4, 1}, {1, 4, 6, 3}}) {
    gradcheck(
        "attention", {random_vec(B * T * 3 * C, 8)},
        [&](const std::vector<Vec>& in) {
          Vec out(B * T * C), lse(B * NH * T);
          reference::attention_forward<double>(out.data(), lse.data(), in[0].data(), B, T, C, NH);
          return out;
        },
        [&](const std::vector<Vec>& in, const Vec& dout) {
          Vec out(B * T * C), lse(B * NH * T), dqkv(B * T * 3 * C);
          reference::attention_forward<double>(out.data(), lse.data(), in[0].data(), B, T, C, NH);
          reference::attention_backward<double>(dqkv.data(), dout.data(), in[0].data(), out.data(),
                                                lse.data(), B, T, C, NH);
          return std::vector<Vec>{dqkv};
        });
  }
}

TEST(Gradcheck, MaskedBidirectionalAttention) {
  // Separate q, k, v (row stride C), every key visible except the masked ones.
  const int64_t B = 2, T = 5, C = 6, NH = 2;
  const std::vector<int32_t> mask = {1, 1, 1, 0, 0, 1, 0, 1, 1, 1};
  for (bool causal : {false, true}) {
    const reference::AttentionMask am{causal, mask.data()};
    const int64_t n = B * T * C;
    gradcheck(
        causal ? "masked causal attention" : "masked attention",
        {random_vec(n, 31), random_vec(n, 32), random_vec(n, 33)},
        [&](const std::vector<Vec>& in) {
          Vec out(n), lse(B * NH * T);
          reference::attention_forward<double>(out.data(), lse.data(), in[0].data(), in[1].data(), in[2].data(), C, B,
                                               T, C, NH, am);
          return out;
        },
        [&](const std::vector<Vec>& in, const Vec& dout) {
          Vec out(n), lse(B * NH * T), dq(n), dk(n), dv(n);
          reference::attention_forward<double>(out.data(), lse.data(), in[0].data(), in[1].data(), in[2].data(), C, B,
                                               T, C, NH, am);
          reference::attention_backward<double>(dq.data(), dk.data(), dv.data(), dout.data(), in[0].data(),
                                                in[1].data(), in[2].data(), C, out.data(), lse.data(), B, T, C, NH, am);
          return std::vector<Vec>{dq, dk, dv};
        });
  }
}

TEST(Gradcheck, CrossEntropyWithIgnoredRow) {
  const int64_t N = 4, V = 6;
  std::vector<int32_t> targets = {2, -1, 5, 0};
  gradcheck(
      "cross_entropy", {random_vec(N * V, 9, 2.0)},
      [&](const std::vector<Vec>& in) {
        Vec losses(N), lse(N);
        reference::cross_entropy_forward<double>(losses.data(), lse.data(), in[0].data(), targets.data(),
                                                 N, V);
        return losses;
      },
      [&](const std::vector<Vec>& in, const Vec& dout) {
        Vec losses(N), lse(N), dl(N * V);
        reference::cross_entropy_forward<double>(losses.data(), lse.data(), in[0].data(), targets.data(),
                                                 N, V);
        reference::cross_entropy_backward<double>(dl.data(), in[0].data(), lse.data(), targets.data(),
                                                  dout.data(), N, V);
        return std::vector<Vec>{dl};
      });
}

TEST(Gradcheck, EmbeddingWithPositions) {
  const int64_t B = 2, T = 3, C = 4, V = 5;
  std::vector<int32_t> ids = {1, 4, 1, 0, 3, 1};  // repeated ids must accumulate
  gradcheck(
      "embedding", {random_vec(V * C, 10), random_vec(T * C, 11)},
      [&](const std::vector<Vec>& in) {
        Vec out(B * T * C);
        reference::embedding_forward<double>(out.data(), ids.data(), in[0].data(), in[1].data(), B, T, C);
        return out;
      },
      [&](const std::vector<Vec>&, const Vec& dout) {
        Vec dwte(V * C), dwpe(T * C);
        reference::embedding_backward<double>(dwte.data(), dwpe.data(), dout.data(), ids.data(), B, T, C);
        return std::vector<Vec>{dwte, dwpe};
      });
}

TEST(Gradcheck, DropoutAndAdd) {
  const int64_t n = 50;
  gradcheck(
      "dropout", {random_vec(n, 12)},
      [&](const std::vector<Vec>& in) {
        Vec out(n);
        reference::dropout_forward<double>(out.data(), in[0].data(), n, 0.3f, 1234);
        return out;
      },
      [&](const std::vector<Vec>&, const Vec& dout) {
        Vec dx(n);
        reference::dropout_backward<double>(dx.data(), dout.data(), n, 0.3f, 1234);
        return std::vector<Vec>{dx};
      });
  gradcheck(
      "add", {random_vec(n, 13), random_vec(n, 14)},
      [&](const std::vector<Vec>& in) {
        Vec out(n);
        reference::add_forward<double>(out.data(), in[0].data(), in[1].data(), n);
        return out;
      },
      [&](const std::vector<Vec>&, const Vec& dout) {
        Vec da(n), db(n);
        reference::accumulate<double>(da.data(), dout.data(), n);
        reference::accumulate<double>(db.data(), dout.data(), n);
        return std::vector<Vec>{da, db};
      });
}

}  // namespace
}  // namespace loom::kernels
