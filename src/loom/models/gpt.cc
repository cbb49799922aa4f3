// GPT model: module tree, initialisation, training forward and cached inference forward.
#include "loom/models/gpt.h"

#include <cmath>

#include "loom/models/init.h"

namespace loom::models {

const char* pos_encoding_name(PosEncoding p) {
  return p == PosEncoding::kLearned ? "learned" : "sinusoidal";
}

bool parse_pos_encoding(const std::string& s, PosEncoding* out) {
  if (s == "learned") *out = PosEncoding::kLearned;
  else if (s == "sinusoidal") *out = PosEncoding::kSinusoidal;
  else return false;
  return true;
}

Status GPTConfig::validate() const {
  LOOM_RETURN_IF_ERROR(require_positive("vocab_size", vocab_size));
  LOOM_RETURN_IF_ERROR(require_positive("block_size", block_size));
  LOOM_RETURN_IF_ERROR(require_positive("n_layer", n_layer));
  LOOM_RETURN_IF_ERROR(require_positive("n_head", n_head));
  LOOM_RETURN_IF_ERROR(require_positive("n_embd", n_embd));
  if (n_embd % n_head != 0)
    return invalid_argument("n_embd (" + std::to_string(n_embd) + ") is not divisible by n_head (" +
                            std::to_string(n_head) + "); choose n_head among the divisors of n_embd");
  if (pos_encoding == PosEncoding::kSinusoidal && n_embd % 2 != 0)
    return invalid_argument("n_embd is " + std::to_string(n_embd) +
                            "; sinusoidal positions need an even n_embd");
  if (!(dropout >= 0.0f && dropout < 1.0f))
    return invalid_argument("dropout is " + std::to_string(dropout) + "; it must be in [0, 1)");
  if (!(layer_norm_eps > 0.0f))
    return invalid_argument("layer_norm_eps is " + std::to_string(layer_norm_eps) + "; it must be > 0");
  return ok_status();
}

Tensor sinusoidal_table(int64_t T, int64_t C) {
  Tensor t = Tensor::empty({T, C});
  for (int64_t p = 0; p < T; ++p)
    for (int64_t i = 0; i < C / 2; ++i) {
      double angle = static_cast<double>(p) / std::pow(10000.0, 2.0 * static_cast<double>(i) / static_cast<double>(C));
      t.f32()[p * C + 2 * i] = static_cast<float>(std::sin(angle));
      t.f32()[p * C + 2 * i + 1] = static_cast<float>(std::cos(angle));
    }
  return t;
}

Block::Block(const GPTConfig& c)
    : ln_1_(add_module("ln_1", std::make_unique<nn::LayerNorm>(nn::LayerNormOptions{c.n_embd, c.bias, c.layer_norm_eps}))),
      attn_(add_module("attn", std::make_unique<nn::CausalSelfAttention>(nn::CausalSelfAttentionOptions{
                                   c.n_embd, c.n_head, c.bias, c.dropout, WeightLayout::kInOut}))),
      ln_2_(add_module("ln_2", std::make_unique<nn::LayerNorm>(nn::LayerNormOptions{c.n_embd, c.bias, c.layer_norm_eps}))),
      mlp_(add_module("mlp", std::make_unique<nn::MLP>(nn::MLPOptions{c.n_embd, 4 * c.n_embd, c.bias, c.dropout,
                                                                       WeightLayout::kInOut}))) {}

Variable Block::forward(Tape& tape, Variable& x) {
  // ln_1 and ln_2 feed only the first linear of attention and of the MLP.
  Variable h1 = ln_1_.forward(tape, x, tape.matmul_input_dtype());
  Variable a = attn_.forward(tape, h1);
  Variable x1 = add(tape, x, a);
  Variable h2 = ln_2_.forward(tape, x1, tape.matmul_input_dtype());
  Variable m = mlp_.forward(tape, h2);
  return add(tape, x1, m);
}

Variable Block::forward_cached(Tape& tape, Variable& x, nn::KVCacheLayer& cache, int64_t past) {
  Variable h1 = ln_1_.forward(tape, x);
  Variable a = attn_.forward_cached(tape, h1, cache, past);
  Variable x1 = add(tape, x, a);
  Variable h2 = ln_2_.forward(tape, x1);
  Variable m = mlp_.forward(tape, h2);
  return add(tape, x1, m);
}

GPTTransformer::GPTTransformer(const GPTConfig& c)
    : wte(add_module("wte", std::make_unique<nn::Embedding>(c.vocab_size, c.n_embd))),
      wpe(c.pos_encoding == PosEncoding::kLearned
              ? &add_module("wpe", std::make_unique<nn::Embedding>(c.block_size, c.n_embd))
              : nullptr),
      h(add_module("h", std::make_unique<nn::ModuleList>())),
      ln_f(add_module("ln_f", std::make_unique<nn::LayerNorm>(nn::LayerNormOptions{c.n_embd, c.bias, c.layer_norm_eps}))) {
  for (int64_t i = 0; i < c.n_layer; ++i) h.push_back(std::make_unique<Block>(c));
}

namespace {
const GPTConfig& checked(const GPTConfig& c) {
  Status s = c.validate();
  LOOM_CHECK(s.ok()) << "GPT built from an invalid config: " << s.message();
  return c;
}
}  // namespace

GPT::GPT(const GPTConfig& config)
    : config_(checked(config)),
      transformer_(add_module("transformer", std::make_unique<GPTTransformer>(config))) {
  if (!config.tie_word_embeddings)
    lm_head_ = &add_module("lm_head", std::make_unique<nn::Linear>(nn::LinearOptions{
                                          config.n_embd, config.vocab_size, false, WeightLayout::kOutIn}));
  if (config.pos_encoding == PosEncoding::kSinusoidal)
    pos_table_ = Variable(sinusoidal_table(config.block_size, config.n_embd));
}

void GPT::init_weights(Rng& rng) {
  const float std_resid = 0.02f / std::sqrt(2.0f * static_cast<float>(config_.n_layer));
  init_by_kind(*this, rng, [std_resid](const std::string& name) {
    return name.find(".c_proj.weight") != std::string::npos ? std_resid : 0.02f;
  });
}

Variable GPT::embed(Tape& tape, const Tensor& ids, int64_t offset) {
  LOOM_CHECK_EQ(ids.ndim(), 2);
  const int64_t T = ids.dim(1);
  LOOM_CHECK_LE(offset + T, config_.block_size) << "sequence longer than block_size";
  const int32_t* p = ids.i32();
  for (int64_t i = 0; i < ids.numel(); ++i)
    LOOM_CHECK(p[i] >= 0 && p[i] < config_.vocab_size) << "token id " << p[i] << " out of range";
  Variable pos;
  if (transformer_.wpe) {
    pos = transformer_.wpe->weight();
  } else {
    pos = pos_table_;
  }
  Variable x;
  if (offset == 0) {
    x = embedding(tape, ids, transformer_.wte.weight(), pos);
  } else {
    // Positions offset.. for cached decoding: a view of the table from `offset` on.
    Variable shifted(pos.value().slice(0, offset, config_.block_size));
    LOOM_CHECK(!tape.recording());
    x = embedding(tape, ids, transformer_.wte.weight(), shifted);
  }
  return dropout(tape, x, training() ? config_.dropout : 0.0f);
}

Variable GPT::head(Tape& tape, Variable& x) {
  Variable h = transformer_.ln_f.forward(tape, x);
  if (lm_head_) return lm_head_->forward(tape, h);
  Variable none;
  return linear(tape, h, transformer_.wte.weight(), none, WeightLayout::kOutIn);
}

Variable GPT::forward(Tape& tape, const Tensor& ids) {
  Variable x = embed(tape, ids, 0);
  for (size_t i = 0; i < transformer_.h.size(); ++i)
    x = static_cast<Block&>(transformer_.h[i]).forward(tape, x);
  return head(tape, x);
}

Variable GPT::loss(Tape& tape, const Tensor& ids, const Tensor& targets) {
  Variable logits = forward(tape, ids);
  return cross_entropy(tape, logits, targets);
}

KVCache GPT::make_cache(int64_t batch, int64_t capacity) const {
  LOOM_CHECK(capacity > 0 && capacity <= config_.block_size);
  KVCache cache;
  cache.batch = batch;
  cache.capacity = capacity;
  for (int64_t l = 0; l < config_.n_layer; ++l)
    cache.layers.push_back({Tensor::zeros({batch, capacity, config_.n_embd}),
                            Tensor::zeros({batch, capacity, config_.n_embd})});
  return cache;
}

Variable GPT::forward_cached(Tape& tape, const Tensor& ids, KVCache& cache) {
  LOOM_CHECK(!tape.recording()) << "forward_cached is for inference";
  LOOM_CHECK_EQ(ids.dim(0), cache.batch);
  const int64_t Tq = ids.dim(1);
  LOOM_CHECK_LE(cache.length + Tq, cache.capacity) << "KV cache full";
  Variable x = embed(tape, ids, cache.length);
  for (size_t i = 0; i < transformer_.h.size(); ++i)
    x = static_cast<Block&>(transformer_.h[i]).forward_cached(tape, x, cache.layers[i], cache.length);
  cache.length += Tq;
  return head(tape, x);
}

}  // namespace loom::models
