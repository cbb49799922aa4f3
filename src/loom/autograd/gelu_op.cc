// gelu (tanh form): y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); the backward
// recomputes the tanh from the saved input (maths in kernels/reference/gelu.h).
#include "loom/autograd/ops.h"
#include "loom/base/profile.h"
#include "loom/kernels/gelu.h"

namespace loom {

Variable gelu(Tape& tape, Variable& x) {
  profile::Scope profile_scope("gelu");
  Variable out(tape.empty(x.shape()), tape.needs_grad({&x}));
  const int64_t n = x.value().numel();
  kernels::gelu_forward(out.value().f32(), x.value().f32(), n);
  if (out.requires_grad()) {
    tape.record("gelu.backward", out, [&tape, out, x, n]() mutable {
      if (!out.has_grad()) return;
      kernels::gelu_backward(tape.grad_of(x).f32(), x.value().f32(), out.grad().f32(), n);
    });
  }
  return out;
}

}  // namespace loom
