// linear: y = x W + b (kInOut, W (C, OC)) or y = x W^T + b (kOutIn, W (OC, C)).
// Backward: dx += dy W^T (or dy W); dW += x^T dy (or dy^T x); db += sum over rows of dy.
#include "loom/autograd/ops.h"
#include "loom/base/profile.h"
#include "loom/kernels/matmul.h"

namespace loom {

Variable linear(Tape& tape, Variable& x, Variable& weight, Variable& bias, WeightLayout layout) {
  profile::Scope profile_scope("linear");
  const Tensor& w = weight.value();
  LOOM_CHECK_EQ(w.ndim(), 2);
  const int64_t C = layout == WeightLayout::kInOut ? w.dim(0) : w.dim(1);
  const int64_t OC = layout == WeightLayout::kInOut ? w.dim(1) : w.dim(0);
  LOOM_CHECK_EQ(x.value().dim(-1), C) << "linear input " << x.value().shape_str() << " vs weight "
                                      << w.shape_str();
  if (bias.defined()) LOOM_CHECK_EQ(bias.value().numel(), OC);
  const int64_t N = x.value().numel() / C;
  std::vector<int64_t> out_shape = x.shape();
  out_shape.back() = OC;
  Variable out(tape.empty(out_shape), tape.needs_grad({&x, &weight, &bias}));
  const kernels::MatmulPrecision precision = tape.matmul_precision();
  // A bf16 input (Tape::matmul_input_dtype) goes to the matmul as it is.
  const bool x16 = x.value().dtype() == DType::kBF16;
  LOOM_CHECK(!x16 || precision == kernels::MatmulPrecision::kBF16) << "a bf16 linear input needs bf16 products";
  const float* b = bias.defined() ? bias.value().f32() : nullptr;
  if (x16)
    kernels::matmul_forward_bf16in(out.value().f32(), x.value().bf16(), w.f32(), b, N, C, OC, layout);
  else
    kernels::matmul_forward(out.value().f32(), x.value().f32(), w.f32(), b, N, C, OC, layout, precision);
  if (out.requires_grad()) {
    tape.record("linear.backward", out, [&tape, out, x, weight, bias, N, C, OC, layout, precision, x16]() mutable {
      if (!out.has_grad()) return;
      // Each gradient is written, not added to, when this is its first contribution (an
      // activation's first, or a parameter's first since zero_grad).
      bool overwrite_dx = false, overwrite_dw = false, overwrite_db = false;
      float* dx = x.requires_grad() ? tape.grad_to_write(x, &overwrite_dx).f32() : nullptr;
      float* dw = weight.requires_grad() ? tape.grad_to_write(weight, &overwrite_dw).f32() : nullptr;
      float* db = bias.defined() && bias.requires_grad() ? tape.grad_to_write(bias, &overwrite_db).f32() : nullptr;
      if (x16)
        kernels::matmul_backward_bf16in(dx, dw, db, out.grad().f32(), x.value().bf16(), weight.value().f32(), N, C,
                                        OC, layout, overwrite_dx, overwrite_dw, overwrite_db);
      else
        kernels::matmul_backward(dx, dw, db, out.grad().f32(), x.value().f32(), weight.value().f32(), N, C, OC,
                                 layout, precision, overwrite_dx, overwrite_dw, overwrite_db);
    });
  }
  return out;
}

}  // namespace loom
