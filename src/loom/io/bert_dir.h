// BERT model directories in the Hugging Face layout:
//   config.json        BertConfig keys (model_type "bert"), the architecture, and for a
//                      classifier its labels (id2label / label2id), plus loom's extensions
//   model.safetensors  weights named as Hugging Face's BertForPreTraining /
//                      BertForSequenceClassification name them
//   vocab.txt + tokenizer.json  the WordPiece tokenizer
// A directory saved by `loom pretrain` can be fine-tuned (the encoder weights are copied,
// the classifier is new), one saved by `loom finetune` predicts and evaluates.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loom/base/status.h"
#include "loom/models/bert.h"
#include "loom/tokenizers/tokenizer.h"

namespace loom::io {

// BertConfig <-> Hugging Face config.json keys. Unknown keys are ignored; a model_type
// other than "bert", an unsupported hidden_act or position_embedding_type is an error that
// names the key and value.
nlohmann::json bert_config_to_json(const models::BertConfig& config);
StatusOr<models::BertConfig> bert_config_from_json(const nlohmann::json& j, const std::string& source);

enum class BertHead { kPretraining, kClassification };

struct BertDir {
  models::BertConfig config;
  BertHead head = BertHead::kPretraining;
  std::vector<std::string> labels;  // classification only, in id order
  std::unique_ptr<Tokenizer> tokenizer;
};

// Writes config.json (with the head's architecture and labels), model.safetensors (all of
// `model`'s parameters) and the tokenizer (vocab.txt too when it is WordPiece), atomically.
Status save_bert_dir(const std::string& dir, const nn::Module& model, const models::BertConfig& config, BertHead head,
                     const std::vector<std::string>& labels, const Tokenizer& tokenizer);

// Reads config.json and the tokenizer of a BERT directory (no weights yet). Checks that the
// tokenizer's vocabulary matches the model's vocab_size.
StatusOr<BertDir> read_bert_dir(const std::string& dir);

// Copies the directory's weights into `model`: every parameter whose name is in the file
// must match its shape; `required_prefix` names the parameters that must all be present
// (e.g. "bert." when starting a classifier from a pretrained encoder). Returns how many were
// loaded; names in the file that `model` lacks (a pretraining head) are skipped.
StatusOr<int64_t> load_bert_weights(const std::string& dir, const nn::Module& model, const std::string& required_prefix);

}  // namespace loom::io
