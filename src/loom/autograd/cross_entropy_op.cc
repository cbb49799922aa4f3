// cross_entropy: loss = (1 / n_valid) sum_n (lse_n - logits[n, target_n]) over rows whose
// target is not -1. Backward: dlogits[n] += dloss / n_valid * (softmax(logits[n]) - onehot).
// Only the log-sum-exp per row is saved; probabilities are never stored.
#include "loom/autograd/ops.h"
#include "loom/base/profile.h"
#include "loom/kernels/cross_entropy.h"

namespace loom {

Variable cross_entropy(Tape& tape, Variable& logits, const Tensor& targets) {
  profile::Scope profile_scope("cross_entropy");
  const int64_t V = logits.value().dim(-1);
  const int64_t N = logits.value().numel() / V;
  LOOM_CHECK_EQ(targets.numel(), N);
  LOOM_CHECK(targets.dtype() == DType::kI32);
  const int32_t* tg = targets.i32();
  int64_t n_valid = 0;
  for (int64_t n = 0; n < N; ++n) {
    LOOM_CHECK(tg[n] >= -1 && tg[n] < V) << "target " << tg[n] << " out of range [0, " << V << ")";
    n_valid += tg[n] >= 0;
  }
  Tensor losses = tape.empty({N}), lse = tape.empty({N});
  kernels::cross_entropy_forward(losses.f32(), lse.f32(), logits.value().f32(), tg, N, V);
  double sum = 0;
  for (int64_t n = 0; n < N; ++n) sum += losses.f32()[n];
  Variable out(tape.empty({1}), tape.needs_grad({&logits}));
  out.value().f32()[0] = n_valid > 0 ? static_cast<float>(sum / static_cast<double>(n_valid)) : 0.0f;
  if (out.requires_grad() && n_valid > 0) {
    tape.record("cross_entropy.backward", out, [&tape, out, logits, targets, lse, N, V, n_valid]() mutable {
      if (!out.has_grad()) return;
      Tensor dl = tape.empty({N});
      const float g = out.grad().f32()[0] / static_cast<float>(n_valid);
      for (int64_t n = 0; n < N; ++n) dl.f32()[n] = g;
      bool overwrite = false;
      float* dlogits = tape.grad_to_write(logits, &overwrite).f32();
      kernels::cross_entropy_backward(dlogits, logits.value().f32(), lse.f32(), targets.i32(), dl.f32(), N, V,
                                      overwrite);
    });
  }
  return out;
}

}  // namespace loom
