// Basic layers: Linear, Embedding, LayerNorm. Each has an Options struct with a comment per
// field and a forward of a line or two over autograd ops.
#pragma once

#include "loom/nn/module.h"

namespace loom::nn {

struct LinearOptions {
  int64_t in_features = 0;
  int64_t out_features = 0;
  // Adds a learned bias of size out_features. Default: true.
  bool bias = true;
  // kInOut stores the weight as (in, out) like GPT-2's Conv1D; kOutIn as (out, in) like
  // torch.nn.Linear. Default: kOutIn.
  WeightLayout layout = WeightLayout::kOutIn;
};

// y = x W (+ b). Parameters: "weight", "bias".
class Linear : public Module {
 public:
  explicit Linear(const LinearOptions& options);
  Variable forward(Tape& tape, Variable& x);
  Variable& weight() { return weight_; }

 private:
  LinearOptions options_;
  Variable weight_;
  Variable bias_;  // undefined without bias
};

// A lookup table (num_embeddings, embedding_dim). Parameter: "weight".
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim);
  Variable& weight() { return weight_; }

 private:
  Variable weight_;
};

struct LayerNormOptions {
  int64_t dim = 0;
  // Learned bias (nanoGPT allows none). Default: true.
  bool bias = true;
  float eps = 1e-5f;
};

// y = layernorm(x) * weight (+ bias). Parameters: "weight", "bias".
class LayerNorm : public Module {
 public:
  explicit LayerNorm(const LayerNormOptions& options);
  // out_dtype: see loom::layernorm (kBF16 for an output that only feeds matmuls).
  Variable forward(Tape& tape, Variable& x, DType out_dtype = DType::kF32);

 private:
  LayerNormOptions options_;
  Variable weight_;
  Variable bias_;
};

}  // namespace loom::nn
