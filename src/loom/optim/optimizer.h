// Optimizers over named parameter groups: AdamW (decoupled weight decay), Adam (L2 added
// to the gradient) and SGD with momentum; global-norm gradient clipping. By default weight
// decay applies only to weight matrices: biases, norm gains and embedding tables are not
// decayed (nn::ParamKind decides). State tensors have stable names so a checkpoint can
// store and restore them exactly.
#pragma once

#include <string>
#include <vector>

#include "loom/base/status.h"
#include "loom/nn/module.h"

namespace loom::optim {

enum class OptimizerType { kAdamW, kAdam, kSGD };
const char* optimizer_type_name(OptimizerType t);
bool parse_optimizer_type(const std::string& s, OptimizerType* out);

struct OptimizerOptions {
  OptimizerType type = OptimizerType::kAdamW;
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  // Applied to kWeight parameters only (unless decay_all is set).
  float weight_decay = 0.1f;
  // Also decay biases, norms and embeddings.
  bool decay_all = false;
  // SGD momentum (0 = plain SGD).
  float momentum = 0.9f;

  Status validate() const;
};

class Optimizer {
 public:
  Optimizer(const OptimizerOptions& options, nn::NamedParameters params, std::vector<nn::ParamKind> kinds);

  // One update with learning rate `lr` from the parameters' current gradients.
  // One update of every parameter from grad * grad_scale (grad_scale: the clipping
  // coefficient from clip_coefficient(), folded into the update instead of a pass that
  // rewrites every gradient).
  void step(float lr, float grad_scale = 1.0f);
  // Parameter i steps with lr * scale (and its weight decay with it, as PyTorch's parameter
  // groups do); every scale starts at 1. For layer-wise learning-rate decay.
  void set_lr_scale(size_t i, float scale);
  void zero_grad();
  int64_t steps_taken() const { return step_; }

  // Named state tensors ("optim.m.<param>", "optim.v.<param>", "optim.momentum.<param>").
  std::vector<std::pair<std::string, Tensor>> state() const;
  // Restores state saved by state(): every name must be present with the same shape.
  Status load_state(const std::vector<std::pair<std::string, Tensor>>& state, int64_t steps_taken);

  const nn::NamedParameters& params() const { return params_; }

 private:
  OptimizerOptions options_;
  nn::NamedParameters params_;
  std::vector<bool> decay_;
  std::vector<float> lr_scale_;
  std::vector<Tensor> m_, v_;  // Adam moments, or SGD momentum in m_
  int64_t step_ = 0;
};

// The global L2 norm of all gradients (summed in double, deterministic).
double grad_norm(const nn::NamedParameters& params);
// PyTorch's clip_grad_norm_ coefficient: max_norm / (norm + 1e-6) when norm > max_norm > 0,
// else 1. Pass it to Optimizer::step.
float clip_coefficient(double norm, double max_norm);
// Scales all gradients so their global L2 norm is at most max_norm; returns the norm before
// clipping. max_norm <= 0 only measures. (Training loops use grad_norm + clip_coefficient +
// Optimizer::step(lr, coefficient), which saves this pass over the gradients.)
double clip_grad_norm(const nn::NamedParameters& params, double max_norm);

}  // namespace loom::optim
