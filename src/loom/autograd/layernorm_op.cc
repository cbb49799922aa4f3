// layernorm: y = (x - mean) * rstd * w + b over the last dim; mean and rstd (one per row)
// are saved for the backward (maths in kernels/reference/layernorm.h).
#include "loom/autograd/ops.h"
#include "loom/base/profile.h"
#include "loom/kernels/layernorm.h"

namespace loom {

Variable layernorm(Tape& tape, Variable& x, Variable& weight, Variable& bias, float eps, DType out_dtype) {
  profile::Scope profile_scope("layernorm");
  const int64_t C = x.value().dim(-1);
  const int64_t N = x.value().numel() / C;
  LOOM_CHECK_EQ(weight.value().numel(), C);
  LOOM_CHECK(out_dtype == DType::kF32 || out_dtype == DType::kBF16) << "layernorm output " << dtype_name(out_dtype);
  Variable out(tape.empty(x.shape(), out_dtype), tape.needs_grad({&x, &weight, &bias}));
  Tensor mean = tape.empty({N}), rstd = tape.empty({N});
  const float* b = bias.defined() ? bias.value().f32() : nullptr;
  if (out_dtype == DType::kBF16)
    kernels::layernorm_forward_bf16(out.value().bf16(), mean.f32(), rstd.f32(), x.value().f32(), weight.value().f32(),
                                    b, N, C, eps);
  else
    kernels::layernorm_forward(out.value().f32(), mean.f32(), rstd.f32(), x.value().f32(), weight.value().f32(), b,
                               N, C, eps);
  if (out.requires_grad()) {
    tape.record("layernorm.backward", out, [&tape, out, x, weight, bias, mean, rstd, N, C]() mutable {
      if (!out.has_grad()) return;
      // The kernel always produces dx; route it to a scratch buffer if x needs none.
      Tensor dx = x.requires_grad() ? tape.grad_of(x) : tape.zeros(x.shape());
      Tensor dw = weight.requires_grad() ? tape.grad_of(weight) : tape.zeros({C});
      float* db = nullptr;
      if (bias.defined()) db = bias.requires_grad() ? tape.grad_of(bias).f32() : tape.zeros({C}).f32();
      kernels::layernorm_backward(dx.f32(), dw.f32(), db, out.grad().f32(), x.value().f32(),
                                  weight.value().f32(), mean.f32(), rstd.f32(), N, C);
    });
  }
  return out;
}

}  // namespace loom
