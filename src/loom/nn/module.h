// Module: a node of a model's tree with named parameters and named children. Names are
// dotted paths ("transformer.h.3.attn.c_attn.weight") that are part of the checkpoint
// format and match Hugging Face's for the same architecture, so import and export are a
// table, not code. Modules never write gradients: their forward composes autograd ops.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "loom/autograd/ops.h"

namespace loom::nn {

using NamedParameters = std::vector<std::pair<std::string, Variable>>;

// What a parameter is, so optimizers can treat kinds differently (by default AdamW decays
// only kWeight matrices, never biases, norm gains or embedding tables).
enum class ParamKind { kWeight, kBias, kNorm, kEmbedding };

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // All parameters of this module and its children, depth-first in registration order.
  NamedParameters named_parameters(const std::string& prefix = "") const;
  int64_t num_parameters() const;
  // The kind of each parameter, in the order of named_parameters().
  std::vector<ParamKind> parameter_kinds() const;

  // Training mode enables dropout. Applies recursively.
  void set_training(bool training);
  bool training() const { return training_; }

 protected:
  // Creates a zero-initialised parameter; the model initialises values by name.
  Variable& add_parameter(const std::string& name, const std::vector<int64_t>& shape, ParamKind kind);
  template <typename M>
  M& add_module(const std::string& name, std::unique_ptr<M> module) {
    M& ref = *module;
    children_.emplace_back(name, std::move(module));
    return ref;
  }

 private:
  void collect(const std::string& prefix, NamedParameters* out, std::vector<ParamKind>* kinds) const;
  std::vector<std::pair<std::string, Variable>> params_;
  std::vector<ParamKind> kinds_;
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
  bool training_ = true;
};

// A list of modules named "0", "1", ... (Hugging Face's ModuleList convention).
class ModuleList : public Module {
 public:
  template <typename M>
  M& push_back(std::unique_ptr<M> module) {
    M* raw = module.get();
    add_module(std::to_string(items_.size()), std::move(module));
    items_.push_back(raw);
    return *raw;
  }
  size_t size() const { return items_.size(); }
  Module& operator[](size_t i) { return *items_[i]; }

 private:
  std::vector<Module*> items_;
};

}  // namespace loom::nn
