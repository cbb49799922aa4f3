// Optimizer implementation over the fused update kernels.
#include "loom/optim/optimizer.h"

#include <cmath>

#include "loom/base/profile.h"
#include "loom/kernels/optimizer.h"

namespace loom::optim {

const char* optimizer_type_name(OptimizerType t) {
  switch (t) {
    case OptimizerType::kAdamW: return "adamw";
    case OptimizerType::kAdam: return "adam";
    case OptimizerType::kSGD: return "sgd";
  }
  return "?";
}

bool parse_optimizer_type(const std::string& s, OptimizerType* out) {
  if (s == "adamw") *out = OptimizerType::kAdamW;
  else if (s == "adam") *out = OptimizerType::kAdam;
  else if (s == "sgd") *out = OptimizerType::kSGD;
  else return false;
  return true;
}

Status OptimizerOptions::validate() const {
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    return invalid_argument("betas are (" + std::to_string(beta1) + ", " + std::to_string(beta2) +
                            "); each must be in [0, 1)");
  if (!(eps > 0)) return invalid_argument("eps is " + std::to_string(eps) + "; it must be > 0");
  if (!(weight_decay >= 0))
    return invalid_argument("weight_decay is " + std::to_string(weight_decay) + "; it must be >= 0");
  if (!(momentum >= 0 && momentum < 1))
    return invalid_argument("momentum is " + std::to_string(momentum) + "; it must be in [0, 1)");
  return ok_status();
}

Optimizer::Optimizer(const OptimizerOptions& options, nn::NamedParameters params,
                     std::vector<nn::ParamKind> kinds)
    : options_(options), params_(std::move(params)) {
  LOOM_CHECK_EQ(params_.size(), kinds.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    params_[i].second.ensure_grad();  // parameters get their heap gradient on first need
    decay_.push_back(options.decay_all || kinds[i] == nn::ParamKind::kWeight);
    lr_scale_.push_back(1.0f);
    const auto& shape = params_[i].second.value().shape();
    m_.push_back(Tensor::zeros(shape));
    v_.push_back(options.type == OptimizerType::kSGD ? Tensor() : Tensor::zeros(shape));
  }
}

void Optimizer::step(float lr, float grad_scale) {
  profile::Scope profile_scope("optimizer.step");
  ++step_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Variable& p = params_[i].second;
    const float wd = decay_[i] ? options_.weight_decay : 0.0f;
    const int64_t n = p.value().numel();
    const float lr_i = lr * lr_scale_[i];
    if (options_.type == OptimizerType::kSGD) {
      kernels::sgd_update(p.mutable_value().f32(), p.grad().f32(), m_[i].f32(), n, lr_i, options_.momentum, wd,
                          step_ == 1, grad_scale);
    } else {
      kernels::adamw_update(p.mutable_value().f32(), p.grad().f32(), m_[i].f32(), v_[i].f32(), n, lr_i,
                            options_.beta1, options_.beta2, options_.eps, wd, step_,
                            options_.type == OptimizerType::kAdamW, grad_scale);
    }
  }
}

void Optimizer::set_lr_scale(size_t i, float scale) {
  LOOM_CHECK_LT(i, lr_scale_.size());
  LOOM_CHECK(scale >= 0.0f && std::isfinite(scale)) << "learning-rate scale " << scale;
  lr_scale_[i] = scale;
}

void Optimizer::zero_grad() {
  // Lazily: the first backward writer of each gradient overwrites it (Variable::grad_for_overwrite);
  // any other access sees zeros.
  for (auto& [name, p] : params_) p.zero_grad_lazily();
}

std::vector<std::pair<std::string, Tensor>> Optimizer::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (options_.type == OptimizerType::kSGD) {
      out.emplace_back("optim.momentum." + params_[i].first, m_[i]);
    } else {
      out.emplace_back("optim.m." + params_[i].first, m_[i]);
      out.emplace_back("optim.v." + params_[i].first, v_[i]);
    }
  }
  return out;
}

Status Optimizer::load_state(const std::vector<std::pair<std::string, Tensor>>& state, int64_t steps_taken) {
  auto expected = this->state();
  for (auto& [name, dst] : expected) {
    const Tensor* src = nullptr;
    for (const auto& [n, t] : state)
      if (n == name) src = &t;
    if (!src)
      return not_found("optimizer state '" + name +
                       "' is missing from the checkpoint; was it saved with a different optimizer?");
    if (src->shape() != dst.shape() || src->dtype() != dst.dtype())
      return data_loss("optimizer state '" + name + "' has shape " + src->shape_str() + ", expected " +
                       dst.shape_str());
    dst.copy_from(*src);
  }
  step_ = steps_taken;
  return ok_status();
}

double grad_norm(const nn::NamedParameters& params) {
  profile::Scope profile_scope("grad_norm");
  double ss = 0;
  for (const auto& [name, p] : params)
    if (p.has_grad()) ss += kernels::sum_squares(p.grad().f32(), p.grad().numel());
  return std::sqrt(ss);
}

float clip_coefficient(double norm, double max_norm) {
  return max_norm > 0 && norm > max_norm ? static_cast<float>(max_norm / (norm + 1e-6)) : 1.0f;
}

double clip_grad_norm(const nn::NamedParameters& params, double max_norm) {
  const double norm = grad_norm(params);
  const float coef = clip_coefficient(norm, max_norm);
  if (coef != 1.0f)
    for (const auto& [name, p] : params)
      if (p.has_grad()) kernels::scale_inplace(p.grad().f32(), p.grad().numel(), coef);
  return norm;
}

}  // namespace loom::optim
