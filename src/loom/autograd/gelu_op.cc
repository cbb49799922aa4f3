// gelu, tanh form: y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), or erf form:
// y = 0.5 x (1 + erf(x / sqrt 2)); the backward recomputes from the saved input. tanh: the
// backward uses the saved output (maths in kernels/reference/gelu.h).
#include "loom/autograd/ops.h"
#include "loom/base/profile.h"
#include "loom/kernels/gelu.h"

namespace loom {

Variable gelu(Tape& tape, Variable& x, GeluForm form, DType out_dtype) {
  profile::Scope profile_scope("gelu");
  LOOM_CHECK(out_dtype == DType::kF32 || (out_dtype == DType::kBF16 && form == GeluForm::kTanh))
      << "gelu output " << dtype_name(out_dtype);
  Variable out(tape.empty(x.shape(), out_dtype), tape.needs_grad({&x}));
  const int64_t n = x.value().numel();
  if (out_dtype == DType::kBF16)
    kernels::gelu_forward_bf16(out.value().bf16(), x.value().f32(), n);
  else if (form == GeluForm::kErf)
    kernels::gelu_erf_forward(out.value().f32(), x.value().f32(), n);
  else
    kernels::gelu_forward(out.value().f32(), x.value().f32(), n);
  if (out.requires_grad()) {
    tape.record("gelu.backward", out, [&tape, out, x, n, form]() mutable {
      if (!out.has_grad()) return;
      bool overwrite = false;  // x's first gradient is written, not added to a zero fill
      float* dx = tape.grad_to_write(x, &overwrite).f32();
      if (form == GeluForm::kErf)
        kernels::gelu_erf_backward(dx, x.value().f32(), out.grad().f32(), n, overwrite);
      else
        kernels::gelu_backward(dx, x.value().f32(), out.grad().f32(), n, overwrite);
    });
  }
  return out;
}

Variable tanh_activation(Tape& tape, Variable& x) {
  profile::Scope profile_scope("tanh");
  Variable out(tape.empty(x.shape()), tape.needs_grad({&x}));
  const int64_t n = x.value().numel();
  kernels::tanh_forward(out.value().f32(), x.value().f32(), n);
  if (out.requires_grad()) {
    tape.record("tanh.backward", out, [&tape, out, x, n]() mutable {
      if (!out.has_grad()) return;
      kernels::tanh_backward(tape.grad_of(x).f32(), out.value().f32(), out.grad().f32(), n);
    });
  }
  return out;
}

}  // namespace loom
