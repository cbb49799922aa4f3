// causal_attention: per head, y_t = softmax_j<=t(q_t . k_j / sqrt(HS)) v_j. Saves the
// output and one log-sum-exp per (batch, head, position); the backward recomputes the
// probabilities (maths in kernels/reference/attention.h).
#include "loom/autograd/ops.h"
#include "loom/kernels/attention.h"

namespace loom {

Variable causal_attention(Tape& tape, Variable& qkv, int64_t n_head) {
  LOOM_CHECK_EQ(qkv.value().ndim(), 3);
  const int64_t B = qkv.value().dim(0), T = qkv.value().dim(1), C = qkv.value().dim(2) / 3;
  LOOM_CHECK_EQ(C * 3, qkv.value().dim(2));
  LOOM_CHECK_EQ(C % n_head, 0);
  Variable out(tape.empty({B, T, C}), tape.needs_grad({&qkv}));
  Tensor lse = tape.empty({B, n_head, T});
  kernels::attention_forward(out.value().f32(), lse.f32(), qkv.value().f32(), B, T, C, n_head);
  if (out.requires_grad()) {
    tape.record([&tape, out, qkv, lse, B, T, C, n_head]() mutable {
      if (!out.has_grad()) return;
      kernels::attention_backward(tape.grad_of(qkv).f32(), out.grad().f32(), qkv.value().f32(),
                                  out.value().f32(), lse.f32(), B, T, C, n_head);
    });
  }
  return out;
}

}  // namespace loom
