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
  void step(float lr);
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
  std::vector<Tensor> m_, v_;  // Adam moments, or SGD momentum in m_
  int64_t step_ = 0;
};

// Scales all gradients so their global L2 norm is at most max_norm; returns the norm before
// clipping. max_norm <= 0 only measures.
double clip_grad_norm(const nn::NamedParameters& params, double max_norm);

}  // namespace loom::optim
