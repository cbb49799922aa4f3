// TrainConfig: everything a training run needs, in one typed struct, and the single table
// of its settings (name, help text, type) from which the JSON config file reader, the
// resolved-config writer and the CLI flags of `loom train` are all generated. Names match
// nanoGPT's where it has one (n_layer, learning_rate, warmup_iters, ...).
//
// Precedence: defaults < config file < flags. Unknown keys are errors that name the key.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loom/base/status.h"
#include "loom/kernels/matmul.h"
#include "loom/models/gpt.h"
#include "loom/optim/optimizer.h"
#include "loom/optim/schedule.h"

namespace loom::train {

struct TrainConfig {
  TrainConfig() { model.vocab_size = 0; }
  models::GPTConfig model;            // vocab_size 0 (the default) = take it from the tokenizer
  std::string data;                   // training text file (UTF-8)
  std::string tokenizer = "char";     // "char" = build from the data, or a tokenizer.json path
  double val_fraction = 0.1;          // tail of the corpus held out for validation
  std::string out_dir = "out";        // run directory (model directory + training state)
  int64_t batch_size = 12;
  int64_t max_iters = 2000;
  int64_t grad_accum = 1;             // micro-batches per optimizer step
  int64_t eval_interval = 250;
  int64_t eval_iters = 20;            // batches per split for each loss estimate
  int64_t log_interval = 10;
  int64_t checkpoint_interval = 0;    // 0 = at every evaluation
  int64_t seed = 1337;
  int64_t threads = 0;                // 0 = all cores
  // Matmul products in bf16 (fp32 sums, weights and optimizer state) for training and
  // evaluation; fp32 is exact single precision.
  kernels::MatmulPrecision matmul = kernels::MatmulPrecision::kF32;
  optim::OptimizerOptions optimizer;
  optim::LrSchedule schedule;         // decay_iters 0 = max_iters
  float grad_clip = 1.0f;             // 0 = off

  // Every constraint, with a message naming the setting, its value and the rule.
  Status validate() const;
};

// One setting: its key, a help line, and how to read/write it as JSON.
struct ConfigField {
  std::string key;
  std::string help;
  std::string type;  // "int", "float", "bool", "string", or "a|b|c" for a choice
  std::function<Status(const nlohmann::json&, TrainConfig*)> set;
  std::function<nlohmann::json(const TrainConfig&)> get;
};

const std::vector<ConfigField>& train_config_fields();

// Applies the keys of `obj` (a JSON object) to `config`; `source` names the origin in errors
// ("config file 'x.json'", "flag"). Unknown keys and wrong types are errors.
Status apply_config_json(const nlohmann::json& obj, const std::string& source, TrainConfig* config);
nlohmann::json config_to_json(const TrainConfig& config);
// Parses a string flag value into the JSON type of `field` (e.g. "--n_layer 4").
StatusOr<nlohmann::json> parse_flag_value(const ConfigField& field, const std::string& text);

}  // namespace loom::train
