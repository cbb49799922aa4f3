// Linear, Embedding and LayerNorm.
#include "loom/nn/layers.h"

namespace loom::nn {

Linear::Linear(const LinearOptions& options) : options_(options) {
  LOOM_CHECK(options.in_features > 0 && options.out_features > 0);
  if (options.layout == WeightLayout::kInOut)
    weight_ = add_parameter("weight", {options.in_features, options.out_features}, ParamKind::kWeight);
  else
    weight_ = add_parameter("weight", {options.out_features, options.in_features}, ParamKind::kWeight);
  if (options.bias) bias_ = add_parameter("bias", {options.out_features}, ParamKind::kBias);
}

Variable Linear::forward(Tape& tape, Variable& x) { return linear(tape, x, weight_, bias_, options_.layout); }

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim) {
  weight_ = add_parameter("weight", {num_embeddings, embedding_dim}, ParamKind::kEmbedding);
}

LayerNorm::LayerNorm(const LayerNormOptions& options) : options_(options) {
  weight_ = add_parameter("weight", {options.dim}, ParamKind::kNorm);
  if (options.bias) bias_ = add_parameter("bias", {options.dim}, ParamKind::kBias);
}

Variable LayerNorm::forward(Tape& tape, Variable& x, DType out_dtype) {
  return layernorm(tape, x, weight_, bias_, options_.eps, out_dtype);
}

}  // namespace loom::nn
