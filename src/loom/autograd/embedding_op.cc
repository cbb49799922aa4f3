// embedding: y[b, t] = wte[ids[b, t]] + pos[t].
// Backward: dwte[ids[b, t]] += dy[b, t]; dpos[t] += sum_b dy[b, t] (if pos is learned).
#include "loom/autograd/ops.h"
#include "loom/base/profile.h"
#include "loom/kernels/elementwise.h"

namespace loom {

Variable embedding(Tape& tape, const Tensor& ids, Variable& wte, Variable& pos) {
  profile::Scope profile_scope("embedding");
  LOOM_CHECK(ids.dtype() == DType::kI32 && ids.ndim() == 2) << "ids must be (B, T) I32";
  const int64_t B = ids.dim(0), T = ids.dim(1), C = wte.value().dim(1);
  if (pos.defined()) LOOM_CHECK(pos.value().dim(0) >= T && pos.value().dim(1) == C);
  Variable out(tape.empty({B, T, C}), tape.needs_grad({&wte, &pos}));
  kernels::embedding_forward(out.value().f32(), ids.i32(), wte.value().f32(),
                             pos.defined() ? pos.value().f32() : nullptr, B, T, C);
  if (out.requires_grad()) {
    tape.record("embedding.backward", out, [&tape, out, ids, wte, pos, B, T, C]() mutable {
      if (!out.has_grad()) return;
      kernels::embedding_backward(wte.requires_grad() ? tape.grad_of(wte).f32() : nullptr,
                                  pos.defined() && pos.requires_grad() ? tape.grad_of(pos).f32() : nullptr,
                                  out.grad().f32(), ids.i32(), B, T, C);
    });
  }
  return out;
}

}  // namespace loom
