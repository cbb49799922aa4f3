// Tape implementation.
#include "loom/autograd/tape.h"

#include "loom/base/check.h"
#include "loom/base/profile.h"

namespace loom {

Tape::Tape(Arena* arena, bool recording) : arena_(arena), recording_(recording) {
  LOOM_CHECK(arena != nullptr);
}

namespace {
// Gradients of bf16 activations are fp32 (they are sums of fp32 products).
DType grad_dtype(DType value) { return value == DType::kBF16 ? DType::kF32 : value; }
}  // namespace

DType Tape::matmul_input_dtype() const {
  return bf16_matmul_inputs_ && matmul_precision_ == kernels::MatmulPrecision::kBF16 &&
                 kernels::bf16_operands_native()
             ? DType::kBF16
             : DType::kF32;
}

Tensor Tape::empty(const std::vector<int64_t>& shape, DType dtype) const {
  return Tensor::empty(shape, dtype, arena_);
}

Tensor Tape::zeros(const std::vector<int64_t>& shape, DType dtype) const {
  return Tensor::zeros(shape, dtype, arena_);
}

bool Tape::needs_grad(std::initializer_list<const Variable*> inputs) const {
  if (!recording_) return false;
  for (const Variable* v : inputs)
    if (v && v->defined() && v->requires_grad()) return true;
  return false;
}

void Tape::record(const char* name, const Variable& out, std::function<void()> backward_fn) {
  LOOM_CHECK(recording_) << "record() on a tape in inference mode";
  LOOM_CHECK(out.defined() && out.requires_grad()) << name << ": the recorded output needs a gradient";
  backward_fns_.push_back(Entry{name, out, std::move(backward_fn)});
}

Tensor& Tape::grad_of(Variable& v) {
  LOOM_CHECK(v.requires_grad()) << "gradient requested for a variable that does not require one";
  if (v.is_parameter()) {
    v.ensure_grad();
  } else if (!v.has_grad()) {
    v.mutable_grad() = Tensor::zeros_reusable(v.value().shape(), grad_dtype(v.value().dtype()), arena_);
  }
  return v.mutable_grad();
}

Tensor& Tape::grad_to_write(Variable& v, bool* overwrite) {
  LOOM_CHECK(v.requires_grad()) << "gradient requested for a variable that does not require one";
  if (v.is_parameter()) return v.grad_for_overwrite(overwrite);
  *overwrite = !v.has_grad();
  if (*overwrite) {
    v.mutable_grad() = Tensor::empty_reusable(v.value().shape(), grad_dtype(v.value().dtype()), arena_);
    return v.mutable_grad();
  }
  return grad_of(v);
}

void Tape::backward(Variable& loss, float seed_grad) {
  LOOM_CHECK(recording_) << "backward() on a tape in inference mode";
  LOOM_CHECK_EQ(loss.value().numel(), 1) << "backward() needs a scalar loss";
  LOOM_CHECK(loss.requires_grad()) << "loss does not depend on any parameter";
  grad_of(loss).f32()[0] = seed_grad;
  for (auto it = backward_fns_.rbegin(); it != backward_fns_.rend(); ++it) {
    {
      profile::Scope scope(it->name);
      it->fn();
    }
    if (!keep_activation_grads_ && it->out.has_grad()) it->out.mutable_grad().release_to_arena();
  }
  backward_fns_.clear();
}

void Tape::reset() {
  backward_fns_.clear();
  arena_->reset();
}

}  // namespace loom
