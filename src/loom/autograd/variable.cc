// Variable constructors.
#include "loom/autograd/variable.h"

namespace loom {

Variable::Variable(Tensor value, bool requires_grad) : impl_(std::make_shared<Impl>()) {
  impl_->value = std::move(value);
  impl_->requires_grad = requires_grad;
}

Variable Variable::parameter(Tensor value) {
  Variable v(std::move(value), true);
  v.impl_->parameter = true;
  return v;
}

Tensor& Variable::grad_for_overwrite(bool* overwrite) {
  *overwrite = impl_->grad_stale || !impl_->grad.defined();
  if (!impl_->grad.defined()) impl_->grad = Tensor::empty(impl_->value.shape(), impl_->value.dtype());
  impl_->grad_stale = false;
  return impl_->grad;
}

void Variable::ensure_grad() {
  if (!impl_->grad.defined()) impl_->grad = Tensor::zeros(impl_->value.shape(), impl_->value.dtype());
}

}  // namespace loom
