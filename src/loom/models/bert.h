// BERT: the encoder of Devlin et al. (2019) as Hugging Face's BertModel writes it.
//   embeddings: LayerNorm(word[ids] + position[t] + token_type[types]), dropout
//   layer (post-LN, the original):  x = LN(x + dropout(attn(x)));  x = LN(x + dropout(ffn(x)))
//   layer (pre-LN, an option):      x = x + dropout(attn(LN(x)));  x = x + dropout(ffn(LN(x)))
//                                   (and one more LayerNorm after the last layer)
//   attention: separate query / key / value projections, bidirectional, padding keys masked
//   ffn: dense -> GELU (erf form, or tanh) -> dense;  pooler: dense + tanh on [CLS]
// Heads: BertForPreTraining (masked-LM transform + decoder tied to the word embeddings, and
// next-sentence prediction on the pooled output) and BertForSequenceClassification (dropout
// + a dense layer on the pooled output). Parameter names are Hugging Face's
// ("bert.encoder.layer.3.attention.self.query.weight", torch.nn.Linear (out, in) layout),
// so checkpoints map by name.
#pragma once

#include <string>
#include <vector>

#include "loom/base/status.h"
#include "loom/models/gpt.h"
#include "loom/nn/layers.h"

namespace loom::models {

struct BertConfig {
  // Number of token ids. REQUIRES: > 0.
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  // REQUIRES: divides hidden_size.
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  // Longest input in tokens (the position table's size). REQUIRES: > 0.
  int64_t max_position_embeddings = 512;
  // Segment ids (A = 0, B = 1). REQUIRES: > 0.
  int64_t type_vocab_size = 2;
  // Dropout on embeddings, attention output and FFN output in training. REQUIRES: [0, 1).
  float hidden_dropout_prob = 0.1f;
  // Dropout on the attention probabilities. Not implemented: REQUIRES == 0 (fine-tuning
  // recipes that set 0.1 train as well without it; loom says so rather than ignore it).
  float attention_probs_dropout_prob = 0.0f;
  float layer_norm_eps = 1e-12f;
  // Standard deviation of the normal initialisation of weights and embeddings.
  float initializer_range = 0.02f;
  // GELU in the FFN and the MLM transform: erf form ("gelu", BERT's) or tanh ("gelu_new").
  GeluForm hidden_act = GeluForm::kErf;
  // Learned ("absolute", Hugging Face's name) or fixed sinusoidal positions.
  PosEncoding pos_encoding = PosEncoding::kLearned;
  // loom's option: LayerNorm before each sub-layer instead of after it.
  bool pre_layernorm = false;
  int64_t pad_token_id = 0;

  Status validate() const;
};

// One batch of encoder inputs, all (B, T) I32.
struct BertInputs {
  Tensor ids;
  // Segment of each token (0 for text A, 1 for text B); undefined = all 0.
  Tensor token_types;
  // 1 for real tokens, 0 for padding; undefined = all real.
  Tensor attention_mask;
};

class BertEmbeddings : public nn::Module {
 public:
  explicit BertEmbeddings(const BertConfig& config);
  Variable forward(Tape& tape, const BertInputs& in);
  nn::Embedding& word_embeddings() { return word_; }

 private:
  const BertConfig config_;
  nn::Embedding& word_;
  nn::Embedding* position_ = nullptr;  // learned positions only
  nn::Embedding& token_type_;
  nn::LayerNorm& norm_;
  Variable pos_table_;  // sinusoidal positions only (no gradient)
};

class BertLayer : public nn::Module {
 public:
  explicit BertLayer(const BertConfig& config);
  Variable forward(Tape& tape, Variable& x, const Tensor& key_mask);

 private:
  const BertConfig config_;
  nn::Linear* query_;
  nn::Linear* key_;
  nn::Linear* value_;
  nn::Linear* attn_out_;
  nn::LayerNorm* attn_norm_;
  nn::Linear* intermediate_;
  nn::Linear* out_;
  nn::LayerNorm* out_norm_;
};

// The "bert" submodule: embeddings, encoder.layer.N (+ encoder.LayerNorm when pre-LN),
// pooler.dense.
class BertModel : public nn::Module {
 public:
  // REQUIRES: config.validate().ok() (checked).
  explicit BertModel(const BertConfig& config);
  const BertConfig& config() const { return config_; }

  // Hidden states of the last layer (B, T, H). Checks ids, types and mask (a bad batch is a
  // caller bug: the data layer validates user input).
  Variable forward(Tape& tape, const BertInputs& in);
  // tanh(dense(hidden[:, 0])): the [CLS] summary (B, H).
  Variable pool(Tape& tape, Variable& hidden);

  BertEmbeddings& embeddings() { return embeddings_; }

 private:
  const BertConfig config_;
  BertEmbeddings& embeddings_;
  nn::ModuleList* layers_;
  nn::LayerNorm* final_norm_ = nullptr;  // pre-LN only
  nn::Linear* pooler_;
};

// BERT's initialisation (Hugging Face's _init_weights): N(0, initializer_range) for weights
// and embeddings (the padding token's row zero), zero biases, unit LayerNorm gains.
void init_bert_weights(nn::Module& model, const BertConfig& config, Rng& rng);

struct PretrainingOutput {
  Variable loss;        // mlm_loss + nsp_loss (or just one of them)
  Variable mlm_loss;    // undefined without masked positions
  Variable nsp_loss;    // undefined without NSP labels
  Variable mlm_logits;  // (M, V) at the masked positions
  Variable nsp_logits;  // (B, 2)
};

class BertForPreTraining : public nn::Module {
 public:
  explicit BertForPreTraining(const BertConfig& config);
  const BertConfig& config() const { return bert_.config(); }
  BertModel& bert() { return bert_; }
  void init_weights(Rng& rng) { init_bert_weights(*this, config(), rng); }

  // mlm_positions (M) I32: flat indices b * T + t of the masked tokens, mlm_labels (M) I32
  // their original ids; nsp_labels (B) I32: 0 = B follows A, 1 = B is random. Either objective
  // may be left out (undefined tensors).
  PretrainingOutput forward(Tape& tape, const BertInputs& in, const Tensor& mlm_positions, const Tensor& mlm_labels,
                            const Tensor& nsp_labels);

 private:
  BertModel& bert_;
  nn::Linear* transform_;        // cls.predictions.transform.dense
  nn::LayerNorm* transform_norm_;  // cls.predictions.transform.LayerNorm
  Variable decoder_bias_;        // cls.predictions.bias (the decoder weight is the word embeddings)
  nn::Linear* seq_relationship_;  // cls.seq_relationship
};

class BertForSequenceClassification : public nn::Module {
 public:
  BertForSequenceClassification(const BertConfig& config, int64_t num_labels);
  const BertConfig& config() const { return bert_.config(); }
  int64_t num_labels() const { return num_labels_; }
  BertModel& bert() { return bert_; }
  void init_weights(Rng& rng) { init_bert_weights(*this, config(), rng); }

  // Class logits (B, num_labels).
  Variable forward(Tape& tape, const BertInputs& in);

 private:
  BertModel& bert_;
  int64_t num_labels_;
  nn::Linear& classifier_;
};

}  // namespace loom::models
