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
  // The products run in the tape's matmul precision, like the linear layers'.
  const kernels::MatmulPrecision precision = tape.matmul_precision();
  kernels::attention_forward(out.value().f32(), lse.f32(), qkv.value().f32(), B, T, C, n_head, precision);
  if (out.requires_grad()) {
    tape.record("causal_attention.backward", out, [&tape, out, qkv, lse, B, T, C, n_head, precision]() mutable {
      if (!out.has_grad()) return;
      bool overwrite = false;  // qkv's first gradient: written, not a zero fill plus additions
      float* dqkv = tape.grad_to_write(qkv, &overwrite).f32();
      kernels::attention_backward(dqkv, out.grad().f32(), qkv.value().f32(), out.value().f32(), lse.f32(), B, T, C,
                                  n_head, precision, overwrite);
    });
  }
  return out;
}

Variable attention(Tape& tape, Variable& q, Variable& k, Variable& v, int64_t n_head, bool causal,
                   const Tensor& key_mask) {
  profile::Scope profile_scope("attention");
  LOOM_CHECK_EQ(q.value().ndim(), 3);
  LOOM_CHECK(k.shape() == q.shape() && v.shape() == q.shape()) << "q, k, v shapes differ";
  const int64_t B = q.value().dim(0), T = q.value().dim(1), C = q.value().dim(2);
  LOOM_CHECK_EQ(C % n_head, 0);
  if (key_mask.defined())
    LOOM_CHECK(key_mask.dtype() == DType::kI32 && key_mask.ndim() == 2 && key_mask.dim(0) == B &&
               key_mask.dim(1) == T)
        << "key_mask must be (B, T) I32, got " << key_mask.shape_str();
  const kernels::AttentionMask mask{causal, key_mask.defined() ? key_mask.i32() : nullptr};
  Variable out(tape.empty({B, T, C}), tape.needs_grad({&q, &k, &v}));
  Tensor lse = tape.empty({B, n_head, T});
  const kernels::MatmulPrecision precision = tape.matmul_precision();
  kernels::attention_forward(out.value().f32(), lse.f32(), q.value().f32(), k.value().f32(), v.value().f32(), C, B, T,
                             C, n_head, mask, precision);
  if (out.requires_grad()) {
    tape.record("attention.backward", out,
                [&tape, out, q, k, v, lse, key_mask, causal, B, T, C, n_head, precision]() mutable {
      if (!out.has_grad()) return;
      // Every input gets a gradient buffer (an unused one stays zero).
      const kernels::AttentionMask m{causal, key_mask.defined() ? key_mask.i32() : nullptr};
      float* dq = q.requires_grad() ? tape.grad_of(q).f32() : nullptr;
      float* dk = k.requires_grad() ? tape.grad_of(k).f32() : nullptr;
      float* dv = v.requires_grad() ? tape.grad_of(v).f32() : nullptr;
      Tensor scratch;
      if (!dq || !dk || !dv) {
        scratch = tape.zeros({B, T, C});
        if (!dq) dq = scratch.f32();
        if (!dk) dk = scratch.f32();
        if (!dv) dv = scratch.f32();
      }
      kernels::attention_backward(dq, dk, dv, out.grad().f32(), q.value().f32(), k.value().f32(), v.value().f32(), C,
                                  out.value().f32(), lse.f32(), B, T, C, n_head, m, precision);
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
