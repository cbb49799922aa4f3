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

void Variable::ensure_grad() {
  if (!impl_->grad.defined()) impl_->grad = Tensor::zeros(impl_->value.shape(), impl_->value.dtype());
}

}  // namespace loom
