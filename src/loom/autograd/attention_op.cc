// causal_attention: per head, y_t = softmax_j<=t(q_t . k_j / sqrt(HS)) v_j. Saves the
// output and one log-sum-exp per (batch, head, position); the backward recomputes the
// probabilities (maths in kernels/reference/attention.h).
#include "loom/autograd/ops.h"
#include "loom/base/profile.h"
#include "loom/kernels/attention.h"

#include <algorithm>

namespace loom {

Variable causal_attention(Tape& tape, Variable& qkv, int64_t n_head) {
  profile::Scope profile_scope("causal_attention");
  LOOM_CHECK_EQ(qkv.value().ndim(), 3);
  const int64_t B = qkv.value().dim(0), T = qkv.value().dim(1), C = qkv.value().dim(2) / 3;
  LOOM_CHECK_EQ(C * 3, qkv.value().dim(2));
  LOOM_CHECK_EQ(C % n_head, 0);
  Variable out(tape.empty({B, T, C}), tape.needs_grad({&qkv}));
  Tensor lse = tape.empty({B, n_head, T});
  kernels::attention_forward(out.value().f32(), lse.f32(), qkv.value().f32(), B, T, C, n_head);
  if (out.requires_grad()) {
    tape.record("causal_attention.backward", out, [&tape, out, qkv, lse, B, T, C, n_head]() mutable {
      if (!out.has_grad()) return;
      kernels::attention_backward(tape.grad_of(qkv).f32(), out.grad().f32(), qkv.value().f32(),
                                  out.value().f32(), lse.f32(), B, T, C, n_head);
    });
  }
  return out;
}

}  // namespace loom

namespace loom {

Variable cached_attention(Tape& tape, Variable& qkv, Tensor& kcache, Tensor& vcache, int64_t past,
                          int64_t n_head) {
  profile::Scope profile_scope("cached_attention");
  LOOM_CHECK(!tape.recording()) << "cached_attention is for inference only";
  const int64_t B = qkv.value().dim(0), Tq = qkv.value().dim(1), C = qkv.value().dim(2) / 3;
  const int64_t S = kcache.dim(1);
  LOOM_CHECK(kcache.dim(0) == B && kcache.dim(2) == C && vcache.shape() == kcache.shape());
  LOOM_CHECK_LE(past + Tq, S) << "KV cache overflow";
  const float* src = qkv.value().f32();
  Tensor q = tape.empty({B, Tq, C});
  float* k = kcache.f32();
  float* v = vcache.f32();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < Tq; ++t) {
      const float* row = src + (b * Tq + t) * 3 * C;
      std::copy(row, row + C, q.f32() + (b * Tq + t) * C);
      std::copy(row + C, row + 2 * C, k + (b * S + past + t) * C);
      std::copy(row + 2 * C, row + 3 * C, v + (b * S + past + t) * C);
    }
  Variable out(tape.empty({B, Tq, C}));
  kernels::attention_cached_forward(out.value().f32(), q.f32(), k, v, B, Tq, past, S, C, n_head);
  return out;
}

}  // namespace loom
