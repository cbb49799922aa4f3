// Variable constructors.
#include "loom/autograd/variable.h"

namespace loom {

Variable::Variable(Tensor value, bool requires_grad) : impl_(std::make_shared<Impl>()) {
  impl_->value = std::move(value);
  impl_->requires_grad = requires_grad;
}

Variable Variable::parameter(Tensor value) {
  Variable v(std::move(value), true);
  v.impl_->grad = Tensor::zeros(v.impl_->value.shape(), v.impl_->value.dtype());
  return v;
}

}  // namespace loom
