// CausalSelfAttention and MLP.
#include "loom/nn/attention.h"

namespace loom::nn {

CausalSelfAttention::CausalSelfAttention(const CausalSelfAttentionOptions& o)
    : options_(o),
      c_attn_(add_module("c_attn", std::make_unique<Linear>(LinearOptions{o.n_embd, 3 * o.n_embd, o.bias, o.layout}))),
      c_proj_(add_module("c_proj", std::make_unique<Linear>(LinearOptions{o.n_embd, o.n_embd, o.bias, o.layout}))) {
  LOOM_CHECK(o.n_head > 0 && o.n_embd % o.n_head == 0);
}

Variable CausalSelfAttention::forward(Tape& tape, Variable& x) {
  Variable qkv = c_attn_.forward(tape, x);
  Variable y = causal_attention(tape, qkv, options_.n_head);
  Variable out = c_proj_.forward(tape, y);
  return dropout(tape, out, training() ? options_.dropout : 0.0f);
}

Variable CausalSelfAttention::forward_cached(Tape& tape, Variable& x, KVCacheLayer& cache, int64_t past) {
  Variable qkv = c_attn_.forward(tape, x);
  Variable y = cached_attention(tape, qkv, cache.k, cache.v, past, options_.n_head);
  return c_proj_.forward(tape, y);
}

MLP::MLP(const MLPOptions& o)
    : options_(o),
      c_fc_(add_module("c_fc", std::make_unique<Linear>(LinearOptions{o.n_embd, o.hidden, o.bias, o.layout}))),
      c_proj_(add_module("c_proj", std::make_unique<Linear>(LinearOptions{o.hidden, o.n_embd, o.bias, o.layout}))) {}

Variable MLP::forward(Tape& tape, Variable& x) {
  Variable h = c_fc_.forward(tape, x);
  Variable g = gelu(tape, h, GeluForm::kTanh, tape.matmul_input_dtype());  // feeds c_proj only
  Variable out = c_proj_.forward(tape, g);
  return dropout(tape, out, training() ? options_.dropout : 0.0f);
}

}  // namespace loom::nn
