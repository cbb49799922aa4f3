// Autograd wiring tests: a small network built from every op is differentiated by the tape
// and by central finite differences (float, reference kernels, loose tolerance: the exact
// maths of each backward is checked in double in kernels/gradcheck_test.cc). Also checks
// that gradients accumulate across backward passes and that inference mode records nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "loom/autograd/ops.h"
#include "loom/kernels/dispatch.h"

namespace loom {
namespace {

struct TinyNet {
  int64_t B = 2, T = 3, C = 4, V = 5, NH = 2;
  Variable wte, wpe, w_qkv, b_qkv, w_out, ln_w, ln_b;
  Tensor ids, targets;

  TinyNet() {
    std::mt19937 g(3);
    std::normal_distribution<float> d(0.0f, 0.5f);
    auto param = [&](std::vector<int64_t> shape) {
      Tensor t = Tensor::empty(shape);
      for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = d(g);
      return Variable::parameter(t);
    };
    wte = param({V, C});
    wpe = param({T, C});
    w_qkv = param({C, 3 * C});
    b_qkv = param({3 * C});
    w_out = param({V, C});
    ln_w = param({C});
    ln_b = param({C});
    ids = Tensor::empty({B, T}, DType::kI32);
    targets = Tensor::empty({B * T}, DType::kI32);
    for (int64_t i = 0; i < B * T; ++i) {
      ids.i32()[i] = static_cast<int32_t>((i * 2 + 1) % V);
      targets.i32()[i] = i == 2 ? -1 : static_cast<int32_t>((i * 3) % V);
    }
  }

  std::vector<Variable*> params() { return {&wte, &wpe, &w_qkv, &b_qkv, &w_out, &ln_w, &ln_b}; }

  Variable loss(Tape& tape) {
    Variable x = embedding(tape, ids, wte, wpe);
    Variable h = layernorm(tape, x, ln_w, ln_b, 1e-5f);
    Variable qkv = linear(tape, h, w_qkv, b_qkv, WeightLayout::kInOut);
    Variable a = causal_attention(tape, qkv, NH);
    Variable gl = gelu(tape, a);
    Variable r = add(tape, x, gl);
    Variable dr = dropout(tape, r, 0.0f);
    Variable none;
    Variable logits = linear(tape, dr, w_out, none, WeightLayout::kOutIn);
    return cross_entropy(tape, logits, targets);
  }
};

TEST(Autograd, MatchesFiniteDifferencesThroughEveryOp) {
  kernels::KernelPath saved = kernels::kernel_path();
  kernels::set_kernel_path(kernels::KernelPath::kReference);
  TinyNet net;
  Arena arena;
  Tape tape(&arena, true);
  Variable loss = net.loss(tape);
  tape.backward(loss);
  const float h = 1e-2f;
  for (Variable* p : net.params()) {
    Tensor& v = p->mutable_value();
    for (int64_t i = 0; i < v.numel(); ++i) {
      const float x0 = v.f32()[i];
      Tape probe(&arena, false);
      v.f32()[i] = x0 + h;
      double lp = net.loss(probe).value().f32()[0];
      v.f32()[i] = x0 - h;
      double lm = net.loss(probe).value().f32()[0];
      v.f32()[i] = x0;
      double num = (lp - lm) / (2 * h);
      EXPECT_NEAR(p->grad().f32()[i], num, 2e-3 + 2e-2 * std::abs(num)) << "param element " << i;
    }
  }
  kernels::set_kernel_path(saved);
}

TEST(Autograd, GradientsAccumulateAcrossBackwardPasses) {
  TinyNet net;
  Arena arena;
  Tape tape(&arena, true);
  Variable l1 = net.loss(tape);
  tape.backward(l1);
  std::vector<float> once(net.wte.grad().f32(), net.wte.grad().f32() + net.wte.grad().numel());
  tape.reset();
  Variable l2 = net.loss(tape);
  tape.backward(l2);
  for (size_t i = 0; i < once.size(); ++i) EXPECT_NEAR(net.wte.grad().f32()[i], 2 * once[i], 1e-6);
}

// A (64, 32) parameter with fixed values and 64 targets over 32 classes.
Variable fixed_param(int period, float offset) {
  Tensor w0 = Tensor::empty({64, 32});
  for (int64_t i = 0; i < w0.numel(); ++i) w0.f32()[i] = 0.01f * static_cast<float>(i % period) - offset;
  return Variable::parameter(w0);
}
Tensor fixed_targets() {
  Tensor targets = Tensor::empty({64}, DType::kI32);
  for (int64_t i = 0; i < 64; ++i) targets.i32()[i] = static_cast<int32_t>(i % 32);
  return targets;
}

TEST(Autograd, ActivationGradientsAreReleasedAndReusedWithoutChangingResults) {
  // A deep stack of same-shape ops: with release, the backward reuses one or two gradient
  // buffers instead of holding one per op; parameter gradients are bit-identical.
  auto run = [](bool keep, size_t* peak) {
    Variable w = fixed_param(97, 0.4f);
    const Tensor targets = fixed_targets();
    Arena arena;
    Tape tape(&arena, true);
    tape.keep_activation_grads(keep);
    Variable h = gelu(tape, w);
    std::vector<Variable> hs;
    for (int i = 0; i < 16; ++i) {
      h = gelu(tape, h);
      hs.push_back(h);
    }
    Variable loss = cross_entropy(tape, h, targets);
    tape.backward(loss);
    *peak = arena.peak();
    for (const Variable& v : hs) EXPECT_EQ(v.has_grad(), keep);
    return std::vector<float>(w.grad().f32(), w.grad().f32() + w.grad().numel());
  };
  size_t peak_keep = 0, peak_release = 0;
  const std::vector<float> kept = run(true, &peak_keep);
  const std::vector<float> released = run(false, &peak_release);
  EXPECT_EQ(kept, released);
  const size_t one = 64 * 32 * sizeof(float);
  EXPECT_GE(peak_keep - peak_release, 14 * one) << "keep " << peak_keep << " release " << peak_release;
}

TEST(Autograd, ResidualAddsTakeOverTheirOutputGradientWithoutChangingResults) {
  // A residual stream r = r + f(r), and r + r: when activation gradients are released, add's
  // backward hands its output's gradient buffer to an input instead of copying it, and later
  // gradients accumulate into that buffer; the parameter gradient is bit-identical to the
  // copying run (gradients kept), and the stream needs fewer buffers.
  auto run = [](bool keep, size_t* peak) {
    Variable w = fixed_param(89, 0.3f);
    const Tensor targets = fixed_targets();
    Arena arena;
    Tape tape(&arena, true);
    tape.keep_activation_grads(keep);
    Variable r = gelu(tape, w);
    for (int i = 0; i < 8; ++i) {
      Variable f = gelu(tape, r);
      r = add(tape, r, f);
    }
    r = add(tape, r, r);
    Variable loss = cross_entropy(tape, r, targets);
    tape.backward(loss);
    *peak = arena.peak();
    return std::vector<float>(w.grad().f32(), w.grad().f32() + w.grad().numel());
  };
  size_t peak_keep = 0, peak_release = 0;
  const std::vector<float> copied = run(true, &peak_keep);
  const std::vector<float> taken = run(false, &peak_release);
  EXPECT_EQ(copied, taken);
  EXPECT_LT(peak_release, peak_keep);
}

TEST(Autograd, InferenceModeRecordsNothingAndAllocatesNoGradients) {
  TinyNet net;
  Arena arena;
  Tape tape(&arena, false);
  Variable loss = net.loss(tape);
  EXPECT_FALSE(loss.requires_grad());
  EXPECT_FALSE(loss.has_grad());
  for (Variable* p : net.params()) EXPECT_FALSE(p->has_grad());  // no gradient memory at all
}

TEST(Autograd, DropoutIsDeterministicPerSeedAndScalesKeptValues) {
  Arena arena;
  Tape tape(&arena, true);
  Variable x = Variable::parameter(Tensor::from_vector({1000}, std::vector<float>(1000, 1.0f)));
  tape.set_seed(7);
  Variable y1 = dropout(tape, x, 0.5f);
  tape.set_seed(7);
  Variable y2 = dropout(tape, x, 0.5f);
  int kept = 0;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(y1.value().f32()[i], y2.value().f32()[i]);
    if (y1.value().f32()[i] != 0.0f) {
      ++kept;
      ASSERT_EQ(y1.value().f32()[i], 2.0f);
    }
  }
  EXPECT_GT(kept, 400);
  EXPECT_LT(kept, 600);
}


TEST(Autograd, FirstGradientWriterOverwritesLaterOnesAdd) {
  // x feeds two linears: the later-recorded one's backward runs first and writes x's
  // gradient into an uninitialised buffer; the other adds. Finite differences check both,
  // on the optimized and the reference kernels.
  for (kernels::KernelPath path : {kernels::KernelPath::kOptimized, kernels::KernelPath::kReference}) {
    kernels::KernelPath saved = kernels::kernel_path();
    kernels::set_kernel_path(path);
    std::mt19937 g(5);
    std::normal_distribution<float> d(0.0f, 0.5f);
    auto param = [&](std::vector<int64_t> shape) {
      Tensor t = Tensor::empty(shape);
      for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = d(g);
      return Variable::parameter(t);
    };
    Variable w = param({6, 5}), w1 = param({5, 4}), w2 = param({4, 5}), none;
    Tensor targets = Tensor::empty({6}, DType::kI32);
    for (int64_t i = 0; i < 6; ++i) targets.i32()[i] = static_cast<int32_t>(i % 4);
    auto loss_of = [&](Tape& tape) {
      Variable x = gelu(tape, w);
      Variable y1 = linear(tape, x, w1, none, WeightLayout::kInOut);
      Variable y2 = linear(tape, x, w2, none, WeightLayout::kOutIn);
      Variable y = add(tape, y1, y2);
      return cross_entropy(tape, y, targets);
    };
    Arena arena;
    Tape tape(&arena, true);
    Variable loss = loss_of(tape);
    tape.backward(loss);
    const float h = 1e-2f;
    for (int64_t i = 0; i < w.value().numel(); ++i) {
      Tensor& v = w.mutable_value();
      const float x0 = v.f32()[i];
      Tape probe(&arena, false);
      v.f32()[i] = x0 + h;
      const double lp = loss_of(probe).value().f32()[0];
      v.f32()[i] = x0 - h;
      const double lm = loss_of(probe).value().f32()[0];
      v.f32()[i] = x0;
      const double num = (lp - lm) / (2 * h);
      EXPECT_NEAR(w.grad().f32()[i], num, 2e-3 + 2e-2 * std::abs(num)) << "element " << i;
    }
    kernels::set_kernel_path(saved);
  }
}

TEST(Autograd, LazilyZeroedParameterGradientsMatchAFreshPass) {
  // Optimizer::zero_grad leaves the old values in memory: the linears' first writers must
  // overwrite them (beta 0), every other access must read zeros.
  for (kernels::KernelPath path : {kernels::KernelPath::kOptimized, kernels::KernelPath::kReference}) {
    kernels::KernelPath saved = kernels::kernel_path();
    kernels::set_kernel_path(path);
    TinyNet fresh, reused;
    Arena arena;
    Tape tape(&arena, true);
    Variable l = fresh.loss(tape);
    tape.backward(l);
    tape.reset();
    // Two passes pile up gradients in `reused`, then they are declared zero and a third runs.
    for (int pass = 0; pass < 2; ++pass) {
      Variable lr = reused.loss(tape);
      tape.backward(lr);
      tape.reset();
    }
    for (Variable* p : reused.params()) p->zero_grad_lazily();
    Variable unused = Variable::parameter(Tensor::zeros({3}));
    unused.mutable_grad() = Tensor::zeros({3});
    for (int i = 0; i < 3; ++i) unused.mutable_grad().f32()[i] = 5.0f;
    unused.zero_grad_lazily();
    EXPECT_EQ(unused.grad().f32()[1], 0.0f);
    Variable lr = reused.loss(tape);
    tape.backward(lr);
    std::vector<Variable*> a = fresh.params(), b = reused.params();
    for (size_t k = 0; k < a.size(); ++k)
      for (int64_t i = 0; i < a[k]->grad().numel(); ++i)
        ASSERT_NEAR(b[k]->grad().f32()[i], a[k]->grad().f32()[i], 1e-6f) << "parameter " << k << " element " << i;
    kernels::set_kernel_path(saved);
  }
}

}  // namespace
}  // namespace loom
