// BERT encoder, pretraining heads and sequence classification.
#include "loom/models/bert.h"

#include <cmath>

#include "loom/models/init.h"

namespace loom::models {

namespace {

// A plain node of the module tree, for Hugging Face's intermediate names ("attention",
// "self", "output", "cls", "predictions", "transform").
class Node : public nn::Module {
 public:
  using Module::add_module;
  using Module::add_parameter;
};

std::unique_ptr<nn::Linear> dense(int64_t in, int64_t out) {
  return std::make_unique<nn::Linear>(nn::LinearOptions{in, out, true, WeightLayout::kOutIn});
}

std::unique_ptr<nn::LayerNorm> norm(const BertConfig& c) {
  return std::make_unique<nn::LayerNorm>(nn::LayerNormOptions{c.hidden_size, true, c.layer_norm_eps});
}

const BertConfig& checked(const BertConfig& c) {
  Status s = c.validate();
  LOOM_CHECK(s.ok()) << "BERT built from an invalid config: " << s.message();
  return c;
}

// Every id in [0, limit); a bad id here is a bug in the caller (data checks user input).
void check_ids(const Tensor& t, int64_t limit, const char* what) {
  const int32_t* p = t.i32();
  for (int64_t i = 0; i < t.numel(); ++i)
    LOOM_CHECK(p[i] >= 0 && p[i] < limit) << what << " " << p[i] << " out of [0, " << limit << ")";
}

}  // namespace

Status BertConfig::validate() const {
  LOOM_RETURN_IF_ERROR(require_positive("vocab_size", vocab_size));
  LOOM_RETURN_IF_ERROR(require_positive("hidden_size", hidden_size));
  LOOM_RETURN_IF_ERROR(require_positive("num_hidden_layers", num_hidden_layers));
  LOOM_RETURN_IF_ERROR(require_positive("num_attention_heads", num_attention_heads));
  LOOM_RETURN_IF_ERROR(require_positive("intermediate_size", intermediate_size));
  LOOM_RETURN_IF_ERROR(require_positive("max_position_embeddings", max_position_embeddings));
  LOOM_RETURN_IF_ERROR(require_positive("type_vocab_size", type_vocab_size));
  if (hidden_size % num_attention_heads != 0)
    return invalid_argument("hidden_size (" + std::to_string(hidden_size) + ") is not divisible by num_attention_heads (" +
                            std::to_string(num_attention_heads) + "); choose a divisor of hidden_size");
  if (pos_encoding == PosEncoding::kSinusoidal && hidden_size % 2 != 0)
    return invalid_argument("hidden_size is " + std::to_string(hidden_size) + "; sinusoidal positions need it even");
  if (!(hidden_dropout_prob >= 0.0f && hidden_dropout_prob < 1.0f))
    return invalid_argument("hidden_dropout_prob is " + std::to_string(hidden_dropout_prob) + "; it must be in [0, 1)");
  if (attention_probs_dropout_prob != 0.0f)
    return invalid_argument("attention_probs_dropout_prob is " + std::to_string(attention_probs_dropout_prob) +
                            "; loom does not implement dropout on attention probabilities: set it to 0 "
                            "(hidden_dropout_prob still regularises)");
  if (!(layer_norm_eps > 0.0f))
    return invalid_argument("layer_norm_eps is " + std::to_string(layer_norm_eps) + "; it must be > 0");
  if (!(initializer_range > 0.0f))
    return invalid_argument("initializer_range is " + std::to_string(initializer_range) + "; it must be > 0");
  if (pad_token_id < 0 || pad_token_id >= vocab_size)
    return invalid_argument("pad_token_id is " + std::to_string(pad_token_id) + "; it must be a token id in [0, " +
                            std::to_string(vocab_size) + ")");
  return ok_status();
}

BertEmbeddings::BertEmbeddings(const BertConfig& c)
    : config_(c),
      word_(add_module("word_embeddings", std::make_unique<nn::Embedding>(c.vocab_size, c.hidden_size))),
      position_(c.pos_encoding == PosEncoding::kLearned
                    ? &add_module("position_embeddings",
                                  std::make_unique<nn::Embedding>(c.max_position_embeddings, c.hidden_size))
                    : nullptr),
      token_type_(add_module("token_type_embeddings", std::make_unique<nn::Embedding>(c.type_vocab_size, c.hidden_size))),
      norm_(add_module("LayerNorm", norm(c))) {
  if (!position_) pos_table_ = Variable(sinusoidal_table(c.max_position_embeddings, c.hidden_size));
}

Variable BertEmbeddings::forward(Tape& tape, const BertInputs& in) {
  Variable pos = position_ ? position_->weight() : pos_table_;
  Variable x = embedding(tape, in.ids, word_.weight(), pos);
  if (in.token_types.defined()) {
    Variable none;
    Variable tt = embedding(tape, in.token_types, token_type_.weight(), none);
    x = add(tape, x, tt);
  } else {
    // Every token in segment A: add row 0 of the table to every position.
    Tensor zeros = Tensor::zeros(in.ids.shape(), DType::kI32);
    Variable none;
    Variable tt = embedding(tape, zeros, token_type_.weight(), none);
    x = add(tape, x, tt);
  }
  Variable h = norm_.forward(tape, x);
  return dropout(tape, h, training() ? config_.hidden_dropout_prob : 0.0f);
}

BertLayer::BertLayer(const BertConfig& c) : config_(c) {
  Node& attention = add_module("attention", std::make_unique<Node>());
  Node& self = attention.add_module("self", std::make_unique<Node>());
  query_ = &self.add_module("query", dense(c.hidden_size, c.hidden_size));
  key_ = &self.add_module("key", dense(c.hidden_size, c.hidden_size));
  value_ = &self.add_module("value", dense(c.hidden_size, c.hidden_size));
  Node& attn_output = attention.add_module("output", std::make_unique<Node>());
  attn_out_ = &attn_output.add_module("dense", dense(c.hidden_size, c.hidden_size));
  attn_norm_ = &attn_output.add_module("LayerNorm", norm(c));
  Node& intermediate = add_module("intermediate", std::make_unique<Node>());
  intermediate_ = &intermediate.add_module("dense", dense(c.hidden_size, c.intermediate_size));
  Node& output = add_module("output", std::make_unique<Node>());
  out_ = &output.add_module("dense", dense(c.intermediate_size, c.hidden_size));
  out_norm_ = &output.add_module("LayerNorm", norm(c));
}

Variable BertLayer::forward(Tape& tape, Variable& x, const Tensor& key_mask) {
  const float p = training() ? config_.hidden_dropout_prob : 0.0f;
  auto attend = [&](Variable& h) {
    Variable q = query_->forward(tape, h);
    Variable k = key_->forward(tape, h);
    Variable v = value_->forward(tape, h);
    Variable a = attention(tape, q, k, v, config_.num_attention_heads, /*causal=*/false, key_mask);
    Variable o = attn_out_->forward(tape, a);
    return dropout(tape, o, p);
  };
  auto ffn = [&](Variable& h) {
    Variable i = intermediate_->forward(tape, h);
    Variable g = gelu(tape, i, config_.hidden_act);
    Variable o = out_->forward(tape, g);
    return dropout(tape, o, p);
  };
  if (config_.pre_layernorm) {
    Variable h1 = attn_norm_->forward(tape, x);
    Variable a = attend(h1);
    Variable x1 = add(tape, x, a);
    Variable h2 = out_norm_->forward(tape, x1);
    Variable f = ffn(h2);
    return add(tape, x1, f);
  }
  Variable a = attend(x);
  Variable s1 = add(tape, x, a);
  Variable x1 = attn_norm_->forward(tape, s1);
  Variable f = ffn(x1);
  Variable s2 = add(tape, x1, f);
  return out_norm_->forward(tape, s2);
}

BertModel::BertModel(const BertConfig& config)
    : config_(checked(config)), embeddings_(add_module("embeddings", std::make_unique<BertEmbeddings>(config))) {
  Node& encoder = add_module("encoder", std::make_unique<Node>());
  layers_ = &encoder.add_module("layer", std::make_unique<nn::ModuleList>());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) layers_->push_back(std::make_unique<BertLayer>(config));
  if (config.pre_layernorm) final_norm_ = &encoder.add_module("LayerNorm", norm(config));
  Node& pooler = add_module("pooler", std::make_unique<Node>());
  pooler_ = &pooler.add_module("dense", dense(config.hidden_size, config.hidden_size));
}

Variable BertModel::forward(Tape& tape, const BertInputs& in) {
  LOOM_CHECK(in.ids.dtype() == DType::kI32 && in.ids.ndim() == 2) << "ids must be (B, T) I32";
  const int64_t T = in.ids.dim(1);
  LOOM_CHECK_LE(T, config_.max_position_embeddings) << "sequence longer than max_position_embeddings";
  check_ids(in.ids, config_.vocab_size, "token id");
  if (in.token_types.defined()) {
    LOOM_CHECK(in.token_types.shape() == in.ids.shape() && in.token_types.dtype() == DType::kI32);
    check_ids(in.token_types, config_.type_vocab_size, "token type");
  }
  if (in.attention_mask.defined())
    LOOM_CHECK(in.attention_mask.shape() == in.ids.shape() && in.attention_mask.dtype() == DType::kI32);
  Variable x = embeddings_.forward(tape, in);
  for (size_t i = 0; i < layers_->size(); ++i) x = static_cast<BertLayer&>((*layers_)[i]).forward(tape, x, in.attention_mask);
  if (final_norm_) x = final_norm_->forward(tape, x);
  return x;
}

Variable BertModel::pool(Tape& tape, Variable& hidden) {
  const int64_t B = hidden.value().dim(0), T = hidden.value().dim(1);
  Tensor rows = Tensor::empty({B}, DType::kI32);
  for (int64_t b = 0; b < B; ++b) rows.i32()[b] = static_cast<int32_t>(b * T);
  Variable cls = gather_rows(tape, hidden, rows);
  Variable d = pooler_->forward(tape, cls);
  return tanh_activation(tape, d);
}

void init_bert_weights(nn::Module& model, const BertConfig& config, Rng& rng) {
  init_by_kind(model, rng, [&config](const std::string&) { return config.initializer_range; });
  // The padding token's embedding starts at zero (Hugging Face's padding_idx row).
  static const std::string word = "embeddings.word_embeddings.weight";
  for (auto& [name, v] : model.named_parameters())
    if (name.size() >= word.size() && name.compare(name.size() - word.size(), word.size(), word) == 0) {
      const int64_t H = v.value().dim(1);
      float* row = v.mutable_value().f32() + config.pad_token_id * H;
      for (int64_t j = 0; j < H; ++j) row[j] = 0.0f;
    }
}

BertForPreTraining::BertForPreTraining(const BertConfig& config)
    : bert_(add_module("bert", std::make_unique<BertModel>(config))) {
  Node& cls = add_module("cls", std::make_unique<Node>());
  Node& predictions = cls.add_module("predictions", std::make_unique<Node>());
  decoder_bias_ = predictions.add_parameter("bias", {config.vocab_size}, nn::ParamKind::kBias);
  Node& transform = predictions.add_module("transform", std::make_unique<Node>());
  transform_ = &transform.add_module("dense", dense(config.hidden_size, config.hidden_size));
  transform_norm_ = &transform.add_module("LayerNorm", norm(config));
  seq_relationship_ = &cls.add_module("seq_relationship", dense(config.hidden_size, 2));
}

PretrainingOutput BertForPreTraining::forward(Tape& tape, const BertInputs& in, const Tensor& mlm_positions,
                                              const Tensor& mlm_labels, const Tensor& nsp_labels) {
  PretrainingOutput out;
  Variable hidden = bert_.forward(tape, in);
  if (mlm_positions.defined() && mlm_positions.numel() > 0) {
    LOOM_CHECK(mlm_labels.defined() && mlm_labels.numel() == mlm_positions.numel());
    Variable picked = gather_rows(tape, hidden, mlm_positions);
    Variable t = transform_->forward(tape, picked);
    Variable g = gelu(tape, t, config().hidden_act);
    Variable h = transform_norm_->forward(tape, g);
    out.mlm_logits = linear(tape, h, bert_.embeddings().word_embeddings().weight(), decoder_bias_,
                            WeightLayout::kOutIn);
    out.mlm_loss = cross_entropy(tape, out.mlm_logits, mlm_labels);
    out.loss = out.mlm_loss;
  }
  if (nsp_labels.defined()) {
    LOOM_CHECK_EQ(nsp_labels.numel(), in.ids.dim(0));
    Variable pooled = bert_.pool(tape, hidden);
    out.nsp_logits = seq_relationship_->forward(tape, pooled);
    out.nsp_loss = cross_entropy(tape, out.nsp_logits, nsp_labels);
    out.loss = out.loss.defined() ? add(tape, out.loss, out.nsp_loss) : out.nsp_loss;
  }
  LOOM_CHECK(out.loss.defined()) << "pretraining forward without an objective";
  return out;
}

BertForSequenceClassification::BertForSequenceClassification(const BertConfig& config, int64_t num_labels)
    : bert_(add_module("bert", std::make_unique<BertModel>(config))),
      num_labels_(num_labels),
      classifier_(add_module("classifier", dense(config.hidden_size, num_labels))) {
  LOOM_CHECK(num_labels >= 2) << "a classifier needs at least 2 labels";
}

Variable BertForSequenceClassification::forward(Tape& tape, const BertInputs& in) {
  Variable hidden = bert_.forward(tape, in);
  Variable pooled = bert_.pool(tape, hidden);
  Variable d = dropout(tape, pooled, training() ? config().hidden_dropout_prob : 0.0f);
  return classifier_.forward(tape, d);
}

}  // namespace loom::models
