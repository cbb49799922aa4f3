// CausalSelfAttention (GPT-2 layout): one fused projection to q|k|v ("c_attn"), causal
// multi-head attention, an output projection ("c_proj"), dropout on the attention output
// path. Has a cached path for generation.
#pragma once

#include "loom/nn/layers.h"

namespace loom::nn {

struct CausalSelfAttentionOptions {
  int64_t n_embd = 0;
  // Must divide n_embd.
  int64_t n_head = 0;
  bool bias = true;
  // Residual dropout after c_proj, in training mode.
  float dropout = 0.0f;
  WeightLayout layout = WeightLayout::kInOut;
};

// Keys and values of one layer for positions already seen: (B, S, C) each.
struct KVCacheLayer {
  Tensor k;
  Tensor v;
};

class CausalSelfAttention : public Module {
 public:
  explicit CausalSelfAttention(const CausalSelfAttentionOptions& options);
  Variable forward(Tape& tape, Variable& x);
  // x (B, Tq, C) at positions past .. past+Tq-1; updates `cache`. Inference only.
  Variable forward_cached(Tape& tape, Variable& x, KVCacheLayer& cache, int64_t past);

 private:
  CausalSelfAttentionOptions options_;
  Linear& c_attn_;
  Linear& c_proj_;
};

struct MLPOptions {
  int64_t n_embd = 0;
  // Hidden width; GPT-2 uses 4 * n_embd.
  int64_t hidden = 0;
  bool bias = true;
  float dropout = 0.0f;
  WeightLayout layout = WeightLayout::kInOut;
};

// c_fc -> GELU (tanh) -> c_proj -> dropout.
class MLP : public Module {
 public:
  explicit MLP(const MLPOptions& options);
  Variable forward(Tape& tape, Variable& x);

 private:
  MLPOptions options_;
  Linear& c_fc_;
  Linear& c_proj_;
};

}  // namespace loom::nn
