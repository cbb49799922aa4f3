// The BERT recipe: MLM + NSP pretraining, fine-tuning a sequence classifier, prediction
// and evaluation.
//
// Pretraining run directory (BertPretrainConfig::out_dir):
//   config.json, model.safetensors, vocab.txt, tokenizer.json   BertForPreTraining (HF layout)
//   training_state.safetensors   weights + AdamW moments + step (resume with the same flags)
//   metrics.jsonl                train loss per log interval; MLM loss/accuracy and NSP
//                                accuracy on held-out documents per evaluation
// Fine-tuning run directory (FinetuneConfig::out_dir): the best checkpoint on the dev
// metric as a BertForSequenceClassification directory (labels in config.json), and
// metrics.jsonl with the dev report of every evaluation.
#pragma once

#include <atomic>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "loom/base/status.h"
#include "loom/data/bert_pretraining.h"
#include "loom/data/classification.h"
#include "loom/kernels/matmul.h"
#include "loom/models/bert.h"
#include "loom/train/classify_metrics.h"

namespace loom::train {

struct BertHooks {
  std::FILE* progress = stdout;  // null = silent
  bool interactive = false;
  const std::atomic<bool>* stop_requested = nullptr;
};

// Where the tokenizer comes from: a BERT vocab.txt, a tokenizer.json or a model directory
// (load_tokenizer_any). `lowercase` overrides the casing of a bare vocab.txt (unset:
// its tokenizer_config.json, else uncased).
struct TokenizerSpec {
  std::string path;
  std::optional<bool> lowercase;
};
StatusOr<std::unique_ptr<Tokenizer>> load_bert_tokenizer(const TokenizerSpec& spec);
// With --init the directory's tokenizer is used as it is: refuses --tokenizer and --cased beside it.
Status check_tokenizer_with_init(const std::string& init, const TokenizerSpec& tokenizer);

struct BertPretrainConfig {
  models::BertConfig model;  // vocab_size is taken from the tokenizer
  std::vector<std::string> data;
  TokenizerSpec tokenizer;  // empty with `init`
  // A BERT directory (loom pretrain's, or Hugging Face's) to continue pretraining from, e.g. on
  // in-domain text: its config (all but dropout) and tokenizer replace `model` and `tokenizer`;
  // the optimizer and the learning-rate schedule start afresh.
  std::string init;
  std::string out_dir = "bert-pretrained";
  bool mlm = true;
  bool nsp = true;
  data::PretrainOptions data_options;
  double val_fraction = 0.05;  // documents held out (at least one)
  int64_t batch_size = 32;
  int64_t max_steps = 2000;
  int64_t warmup_steps = 200;  // then linear decay to 0 at max_steps
  float lr = 5e-4f;
  float weight_decay = 0.01f;
  float grad_clip = 1.0f;
  int64_t eval_interval = 250;
  int64_t eval_batches = 20;
  int64_t log_interval = 10;
  int64_t seed = 1234;
  kernels::MatmulPrecision matmul = kernels::MatmulPrecision::kF32;
  Status validate() const;
};

struct BertPretrainResult {
  int64_t steps_done = 0;
  float last_loss = 0;
  float val_mlm_loss = 0, val_mlm_accuracy = 0, val_nsp_accuracy = 0;
  double tokens_per_second = 0;
  double seconds = 0;
};

StatusOr<BertPretrainResult> run_bert_pretraining(const BertPretrainConfig& config, bool resume,
                                                  const BertHooks& hooks);

struct FinetuneConfig {
  std::string train, dev;
  data::ClassifyFormat format;
  std::vector<std::string> labels;  // empty = inferred from the training file
  // A pretrained BERT directory; empty = train from scratch with `model` and `tokenizer`.
  std::string init;
  TokenizerSpec tokenizer;
  models::BertConfig model;
  std::string out_dir = "bert-classifier";
  int64_t max_seq_len = 128;
  int64_t batch_size = 32;
  int64_t epochs = 3;
  float lr = 5e-5f;
  float warmup_ratio = 0.1f;  // of all steps; then linear decay to 0
  float weight_decay = 0.01f;
  float dropout = -1.0f;  // < 0: the model's hidden_dropout_prob
  float grad_clip = 1.0f;
  // Freeze the embeddings and the first N encoder layers (-1: the whole encoder, only the
  // pooler and classifier train).
  int64_t freeze_layers = 0;
  // Layer-wise learning-rate decay in (0, 1]: see layer_lr_scale; 1 = one rate for all.
  float layer_lr_decay = 1.0f;
  int64_t evals_per_epoch = 1;
  int64_t patience = 2;  // stop after this many evaluations without a better dev metric
  std::string metric = "accuracy";  // or "macro_f1"
  int64_t seed = 1234;
  kernels::MatmulPrecision matmul = kernels::MatmulPrecision::kF32;
  Status validate() const;
};

// Layer-wise learning-rate decay (as ELECTRA fine-tunes): the classifier, the pooler and a
// pre-LN encoder's final LayerNorm step at the full rate, encoder layer i of L at
// decay^(L - i), the embeddings at decay^(L + 1); lower layers, which hold the most general
// features, move least.
float layer_lr_scale(const std::string& param_name, int64_t num_layers, float decay);

struct FinetuneResult {
  ClassificationReport best;
  int64_t best_step = 0;
  int64_t steps_done = 0;
  int64_t truncated_train = 0, truncated_dev = 0;  // examples cut to max_seq_len
  double tokens_per_second = 0;
  double seconds = 0;
};

StatusOr<FinetuneResult> run_finetune(const FinetuneConfig& config, const BertHooks& hooks);

// A fine-tuned classifier loaded from its directory.
struct Classifier {
  models::BertConfig config;
  std::vector<std::string> labels;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<models::BertForSequenceClassification> model;
  static StatusOr<Classifier> load(const std::string& dir);
};

struct Prediction {
  int32_t label = 0;
  std::vector<float> probabilities;
  bool truncated = false;
};

// Class probabilities (softmax of the logits) for each example, in batches.
StatusOr<std::vector<Prediction>> predict(Classifier& c, const std::vector<data::ClassifyExample>& examples,
                                          int64_t max_seq_len, int64_t batch_size,
                                          kernels::MatmulPrecision matmul = kernels::MatmulPrecision::kF32);

}  // namespace loom::train
