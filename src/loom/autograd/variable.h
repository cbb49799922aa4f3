// Variable: a tensor value plus, when it takes part in training, a gradient of the same
// shape. Parameters own heap gradients that persist (and accumulate) across backward
// passes until the optimizer zeroes them; they are allocated by the first backward pass or
// by the optimizer (ensure_grad), so a model used only for inference holds none.
// Activations get arena gradients allocated lazily during the backward pass. Variables are handles: copies share the same value and grad.
#pragma once

#include <memory>

#include "loom/tensor/tensor.h"

namespace loom {

class Variable {
 public:
  Variable() = default;
  // An activation (or constant input): no gradient until the tape makes one.
  explicit Variable(Tensor value, bool requires_grad = false);
  // A parameter: requires_grad; its heap gradient comes with the first use (ensure_grad).
  static Variable parameter(Tensor value);
  bool is_parameter() const { return impl_ && impl_->parameter; }
  // Allocates a zeroed heap gradient if there is none yet.
  void ensure_grad();

  bool defined() const { return impl_ != nullptr; }
  const Tensor& value() const { return impl_->value; }
  Tensor& mutable_value() { return impl_->value; }
  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  // Freezes (false) or unfreezes a parameter: ops then compute no gradient for it.
  void set_requires_grad(bool on) { impl_->requires_grad = on; }
  bool has_grad() const { return impl_ && impl_->grad.defined(); }
  // The gradient. After zero_grad_lazily() it reads as zeros (the buffer is zeroed here, on
  // the first access, unless a backward wrote it whole first: grad_for_overwrite).
  const Tensor& grad() const {
    if (impl_->grad_stale) impl_->zero_stale_grad();
    return impl_->grad;
  }
  Tensor& mutable_grad() {
    if (impl_->grad_stale) impl_->zero_stale_grad();
    return impl_->grad;
  }
  // Declares the gradient zero without touching its memory (Optimizer::zero_grad): the first
  // backward contribution can then write it instead of adding to a zero-filled buffer.
  void zero_grad_lazily() {
    if (impl_->grad.defined()) impl_->grad_stale = true;
  }
  // For a backward that writes its whole contribution in one pass: the gradient buffer
  // (allocated if need be) and *overwrite = true if it is logically zero (its contents are
  // garbage to be written, not read); otherwise the gradient as grad() and false.
  Tensor& grad_for_overwrite(bool* overwrite);
  const std::vector<int64_t>& shape() const { return impl_->value.shape(); }
  bool same_as(const Variable& o) const { return impl_ == o.impl_; }

 private:
  struct Impl {
    Tensor value;
    Tensor grad;
    bool requires_grad = false;
    bool parameter = false;
    bool grad_stale = false;  // grad is logically zero; its memory is not
    void zero_stale_grad() {
      grad.zero();
      grad_stale = false;
    }
  };
  std::shared_ptr<Impl> impl_;
};

}  // namespace loom
