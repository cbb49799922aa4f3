// GPT: the GPT-2 architecture as nanoGPT writes it. Pre-LayerNorm blocks
//   x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
// token embedding plus a learned or fixed sinusoidal position encoding, a final LayerNorm,
// and an output projection tied to the token embedding (or a separate lm_head).
// Parameter names and weight layouts are Hugging Face GPT-2's (Conv1D weights stored
// (in, out)), so a model directory loads in transformers as GPT2LMHeadModel when the
// config is GPT-2-compatible (learned positions, bias, tied).
#pragma once

#include <string>
#include <vector>

#include "loom/base/rng.h"
#include "loom/base/status.h"
#include "loom/nn/attention.h"

namespace loom::models {

enum class PosEncoding { kLearned, kSinusoidal };
const char* pos_encoding_name(PosEncoding p);
bool parse_pos_encoding(const std::string& s, PosEncoding* out);

struct GPTConfig {
  // Number of token ids. REQUIRES: > 0.
  int64_t vocab_size = 65;
  // Maximum context length (positions). REQUIRES: > 0.
  int64_t block_size = 64;
  int64_t n_layer = 4;
  // REQUIRES: divides n_embd.
  int64_t n_head = 4;
  int64_t n_embd = 128;
  // Dropout on embeddings, attention output and MLP output in training. REQUIRES: [0, 1).
  float dropout = 0.0f;
  // Biases in Linear and LayerNorm layers.
  bool bias = true;
  // Output projection shares the token embedding matrix.
  bool tie_word_embeddings = true;
  PosEncoding pos_encoding = PosEncoding::kLearned;
  float layer_norm_eps = 1e-5f;

  // Every constraint above, with a message naming the field, its value and the rule.
  Status validate() const;
};

// KV cache for generation: one (B, max_len, C) key and value tensor per layer.
struct KVCache {
  std::vector<nn::KVCacheLayer> layers;
  int64_t batch = 0;
  int64_t capacity = 0;
  int64_t length = 0;  // positions filled
};

class Block : public nn::Module {
 public:
  explicit Block(const GPTConfig& config);
  Variable forward(Tape& tape, Variable& x);
  Variable forward_cached(Tape& tape, Variable& x, nn::KVCacheLayer& cache, int64_t past);

 private:
  nn::LayerNorm& ln_1_;
  nn::CausalSelfAttention& attn_;
  nn::LayerNorm& ln_2_;
  nn::MLP& mlp_;
};

// The "transformer" submodule: wte, wpe, h.N, ln_f.
class GPTTransformer : public nn::Module {
 public:
  explicit GPTTransformer(const GPTConfig& config);
  nn::Embedding& wte;
  nn::Embedding* wpe = nullptr;  // only with learned positions
  nn::ModuleList& h;
  nn::LayerNorm& ln_f;
};

class GPT : public nn::Module {
 public:
  // REQUIRES: config.validate().ok() (checked).
  explicit GPT(const GPTConfig& config);

  const GPTConfig& config() const { return config_; }

  // GPT-2 initialisation: N(0, 0.02) for weights and embeddings, N(0, 0.02/sqrt(2 n_layer))
  // for the residual projections (attn.c_proj, mlp.c_proj), zero biases, unit norm gains.
  void init_weights(Rng& rng);

  // ids (B, T) I32 with T <= block_size and ids in [0, vocab_size) -> logits (B, T, V).
  Variable forward(Tape& tape, const Tensor& ids);
  // Mean cross-entropy against targets (B, T) I32 (-1 = ignore).
  Variable loss(Tape& tape, const Tensor& ids, const Tensor& targets);

  KVCache make_cache(int64_t batch, int64_t capacity) const;
  // Logits for ids (B, Tq) placed after the cache's current length; extends the cache.
  // Inference tape only.
  Variable forward_cached(Tape& tape, const Tensor& ids, KVCache& cache);

 private:
  Variable embed(Tape& tape, const Tensor& ids, int64_t offset);
  Variable head(Tape& tape, Variable& x);

  GPTConfig config_;
  GPTTransformer& transformer_;
  nn::Linear* lm_head_ = nullptr;  // untied only
  Variable pos_table_;             // (block_size, C) sinusoidal, no gradient
};

// The fixed table PE[p, 2i] = sin(p / 10000^(2i/C)), PE[p, 2i+1] = cos(...), (T, C).
Tensor sinusoidal_table(int64_t T, int64_t C);

}  // namespace loom::models
