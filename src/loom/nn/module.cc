// Module tree traversal.
#include "loom/nn/module.h"

namespace loom::nn {

Variable& Module::add_parameter(const std::string& name, const std::vector<int64_t>& shape,
                               ParamKind kind) {
  params_.emplace_back(name, Variable::parameter(Tensor::zeros(shape)));
  kinds_.push_back(kind);
  return params_.back().second;
}

void Module::collect(const std::string& prefix, NamedParameters* out,
                     std::vector<ParamKind>* kinds) const {
  for (size_t i = 0; i < params_.size(); ++i) {
    if (out) out->emplace_back(prefix + params_[i].first, params_[i].second);
    if (kinds) kinds->push_back(kinds_[i]);
  }
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out, kinds);
}

std::vector<ParamKind> Module::parameter_kinds() const {
  std::vector<ParamKind> kinds;
  collect("", nullptr, &kinds);
  return kinds;
}

NamedParameters Module::named_parameters(const std::string& prefix) const {
  NamedParameters out;
  collect(prefix, &out, nullptr);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, v] : named_parameters()) n += v.value().numel();
  return n;
}

void Module::set_training(bool training) {
  training_ = training;
  for (auto& [name, child] : children_) child->set_training(training);
}

}  // namespace loom::nn
