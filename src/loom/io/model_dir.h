// Model directories in the Hugging Face layout:
//   config.json        architecture (GPT-2 keys, plus loom's extensions)
//   model.safetensors  weights, named as in Hugging Face GPT-2
//   tokenizer.json     the tokenizer
// A learned-position, biased, tied GPT saved here loads in transformers as
// GPT2LMHeadModel. Loading checks every tensor's presence, dtype and shape against the
// config and says which one is wrong and how.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loom/base/status.h"
#include "loom/io/safetensors.h"
#include "loom/models/gpt.h"
#include "loom/tokenizers/tokenizer.h"

namespace loom::io {

inline constexpr char kConfigFileName[] = "config.json";
inline constexpr char kWeightsFileName[] = "model.safetensors";

nlohmann::json gpt_config_to_json(const models::GPTConfig& config);
// Reads GPT-2-style config.json content (other keys of HF configs are ignored); validates.
StatusOr<models::GPTConfig> gpt_config_from_json(const nlohmann::json& j, const std::string& source);

// The parameters as safetensors entries named `prefix + name` (they point at the live data).
std::vector<TensorToWrite> parameters_to_write(const nn::NamedParameters& params, const std::string& prefix = "");

// Copies `prefix + name` tensors of `file` into `params`. Every parameter must be present
// with dtype F32 and its exact shape. Hugging Face GPT-2 files that omit the
// "transformer." prefix are accepted.
Status load_parameters(const SafetensorsFile& file, const nn::NamedParameters& params,
                       const std::string& prefix = "");

// Writes config.json, model.safetensors and tokenizer.json into `dir` (created if needed),
// each atomically.
Status save_model_dir(const std::string& dir, const models::GPT& model, const Tokenizer& tokenizer);

struct LoadedModel {
  std::unique_ptr<models::GPT> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

// Loads a directory written by save_model_dir (or a compatible HF GPT-2 directory). Checks
// that the tokenizer's vocabulary fits the model's vocab_size.
StatusOr<LoadedModel> load_model_dir(const std::string& dir);

}  // namespace loom::io
