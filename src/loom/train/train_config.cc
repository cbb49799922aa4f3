// The TrainConfig settings table and its JSON reader/writer.
#include "loom/train/train_config.h"

#include "loom/base/numeric.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

namespace loom::train {

using nlohmann::json;

namespace {

template <typename T>
json number_json(T v) {
  if constexpr (std::is_same_v<T, float>) return json(shortest_double(v));
  return json(v);
}

Status type_error(const std::string& key, const json& v, const std::string& want) {
  return invalid_argument("setting '" + key + "' is " + v.dump() + "; expected " + want);
}

template <typename Ref>
ConfigField int_field(std::string key, std::string help, Ref ref) {
  return {key, help, "int",
          [key, ref](const json& v, TrainConfig* c) -> Status {
            if (!v.is_number_integer()) return type_error(key, v, "an integer");
            ref(*c) = v.get<int64_t>();
            return ok_status();
          },
          [ref](const TrainConfig& c) { return json(ref(const_cast<TrainConfig&>(c))); }};
}

template <typename Ref>
ConfigField float_field(std::string key, std::string help, Ref ref) {
  return {key, help, "float",
          [key, ref](const json& v, TrainConfig* c) -> Status {
            if (!v.is_number()) return type_error(key, v, "a number");
            using T = std::remove_reference_t<decltype(ref(*c))>;
            ref(*c) = static_cast<T>(v.get<double>());
            return ok_status();
          },
          [ref](const TrainConfig& c) { return number_json(ref(const_cast<TrainConfig&>(c))); }};
}

template <typename Ref>
ConfigField bool_field(std::string key, std::string help, Ref ref) {
  return {key, help, "bool",
          [key, ref](const json& v, TrainConfig* c) -> Status {
            if (!v.is_boolean()) return type_error(key, v, "true or false");
            ref(*c) = v.get<bool>();
            return ok_status();
          },
          [ref](const TrainConfig& c) { return json(ref(const_cast<TrainConfig&>(c))); }};
}

template <typename Ref>
ConfigField string_field(std::string key, std::string help, Ref ref) {
  return {key, help, "string",
          [key, ref](const json& v, TrainConfig* c) -> Status {
            if (!v.is_string()) return type_error(key, v, "a string");
            ref(*c) = v.get<std::string>();
            return ok_status();
          },
          [ref](const TrainConfig& c) { return json(ref(const_cast<TrainConfig&>(c))); }};
}

// A choice stored as an enum: `parse` maps text to the enum, `name` back.
template <typename E, typename Ref, typename Parse, typename Name>
ConfigField choice_field(std::string key, std::string help, std::string choices, Ref ref, Parse parse, Name name) {
  return {key, help, choices,
          [key, choices, ref, parse](const json& v, TrainConfig* c) -> Status {
            if (!v.is_string()) return type_error(key, v, "one of " + choices);
            E e;
            if (!parse(v.get<std::string>(), &e)) return type_error(key, v, "one of " + choices);
            ref(*c) = e;
            return ok_status();
          },
          [ref, name](const TrainConfig& c) { return json(name(ref(const_cast<TrainConfig&>(c)))); }};
}

}  // namespace

const std::vector<ConfigField>& train_config_fields() {
  static const std::vector<ConfigField> fields = [] {
    std::vector<ConfigField> f;
    // Data and run.
    f.push_back(string_field("data", "training text file (UTF-8), or a directory written by loom prepare", [](TrainConfig& c) -> std::string& { return c.data; }));
    f.push_back(string_field("tokenizer", "'char' (build a character vocabulary from the data) or a tokenizer.json path",
                             [](TrainConfig& c) -> std::string& { return c.tokenizer; }));
    f.push_back(float_field("val_fraction", "fraction of the corpus (its end) held out for validation",
                            [](TrainConfig& c) -> double& { return c.val_fraction; }));
    f.push_back(string_field("out_dir", "run directory: model, tokenizer, training state, metrics",
                             [](TrainConfig& c) -> std::string& { return c.out_dir; }));
    // Model.
    f.push_back(int_field("vocab_size", "vocabulary size; 0 = from the tokenizer",
                          [](TrainConfig& c) -> int64_t& { return c.model.vocab_size; }));
    f.push_back(int_field("block_size", "context length in tokens", [](TrainConfig& c) -> int64_t& { return c.model.block_size; }));
    f.push_back(int_field("n_layer", "number of Transformer blocks", [](TrainConfig& c) -> int64_t& { return c.model.n_layer; }));
    f.push_back(int_field("n_head", "attention heads per block (must divide n_embd)", [](TrainConfig& c) -> int64_t& { return c.model.n_head; }));
    f.push_back(int_field("n_embd", "embedding / residual width", [](TrainConfig& c) -> int64_t& { return c.model.n_embd; }));
    f.push_back(float_field("dropout", "dropout probability in training", [](TrainConfig& c) -> float& { return c.model.dropout; }));
    f.push_back(bool_field("bias", "biases in Linear and LayerNorm layers", [](TrainConfig& c) -> bool& { return c.model.bias; }));
    f.push_back(bool_field("tie_word_embeddings", "output projection shares the token embedding",
                           [](TrainConfig& c) -> bool& { return c.model.tie_word_embeddings; }));
    f.push_back(choice_field<models::PosEncoding>(
        "pos_encoding", "position encoding", "learned|sinusoidal",
        [](TrainConfig& c) -> models::PosEncoding& { return c.model.pos_encoding; }, models::parse_pos_encoding,
        models::pos_encoding_name));
    // Loop.
    f.push_back(int_field("batch_size", "sequences per micro-batch", [](TrainConfig& c) -> int64_t& { return c.batch_size; }));
    f.push_back(int_field("max_iters", "optimizer steps in total", [](TrainConfig& c) -> int64_t& { return c.max_iters; }));
    f.push_back(int_field("grad_accum", "micro-batches accumulated per optimizer step",
                          [](TrainConfig& c) -> int64_t& { return c.grad_accum; }));
    f.push_back(int_field("eval_interval", "steps between validation-loss estimates",
                          [](TrainConfig& c) -> int64_t& { return c.eval_interval; }));
    f.push_back(int_field("eval_iters", "batches per split for each loss estimate", [](TrainConfig& c) -> int64_t& { return c.eval_iters; }));
    f.push_back(int_field("log_interval", "steps between progress lines / metric records",
                          [](TrainConfig& c) -> int64_t& { return c.log_interval; }));
    f.push_back(int_field("checkpoint_interval", "steps between checkpoints; 0 = at every evaluation",
                          [](TrainConfig& c) -> int64_t& { return c.checkpoint_interval; }));
    f.push_back(int_field("seed", "seed for initialisation, batches and dropout", [](TrainConfig& c) -> int64_t& { return c.seed; }));
    f.push_back(int_field("threads", "worker threads; 0 = all cores", [](TrainConfig& c) -> int64_t& { return c.threads; }));
    f.push_back(choice_field<kernels::MatmulPrecision>(
        "matmul", "matmul precision: fp32, or bf16 products with fp32 sums and fp32 weights (mixed precision)",
        "fp32|bf16", [](TrainConfig& c) -> kernels::MatmulPrecision& { return c.matmul; },
        kernels::parse_matmul_precision, kernels::matmul_precision_name));
    // Optimizer and schedule.
    f.push_back(choice_field<optim::OptimizerType>(
        "optimizer", "optimizer", "adamw|adam|sgd", [](TrainConfig& c) -> optim::OptimizerType& { return c.optimizer.type; },
        optim::parse_optimizer_type, optim::optimizer_type_name));
    f.push_back(float_field("learning_rate", "peak learning rate", [](TrainConfig& c) -> float& { return c.schedule.lr; }));
    f.push_back(float_field("min_lr", "learning rate at the end of the decay", [](TrainConfig& c) -> float& { return c.schedule.min_lr; }));
    f.push_back(choice_field<optim::ScheduleType>(
        "lr_schedule", "decay after warmup", "cosine|linear|constant",
        [](TrainConfig& c) -> optim::ScheduleType& { return c.schedule.type; }, optim::parse_schedule_type,
        optim::schedule_type_name));
    f.push_back(int_field("warmup_iters", "linear warmup steps", [](TrainConfig& c) -> int64_t& { return c.schedule.warmup_iters; }));
    f.push_back(int_field("lr_decay_iters", "step where the decay reaches min_lr; 0 = max_iters",
                          [](TrainConfig& c) -> int64_t& { return c.schedule.decay_iters; }));
    f.push_back(float_field("weight_decay", "decoupled weight decay (AdamW) or L2 (Adam, SGD) on weight matrices",
                            [](TrainConfig& c) -> float& { return c.optimizer.weight_decay; }));
    f.push_back(bool_field("decay_all", "also decay biases, norm gains and embeddings",
                           [](TrainConfig& c) -> bool& { return c.optimizer.decay_all; }));
    f.push_back(float_field("beta1", "Adam beta1", [](TrainConfig& c) -> float& { return c.optimizer.beta1; }));
    f.push_back(float_field("beta2", "Adam beta2", [](TrainConfig& c) -> float& { return c.optimizer.beta2; }));
    f.push_back(float_field("eps", "Adam epsilon", [](TrainConfig& c) -> float& { return c.optimizer.eps; }));
    f.push_back(float_field("momentum", "SGD momentum", [](TrainConfig& c) -> float& { return c.optimizer.momentum; }));
    f.push_back(float_field("grad_clip", "clip gradients to this global L2 norm; 0 = off",
                            [](TrainConfig& c) -> float& { return c.grad_clip; }));
    return f;
  }();
  return fields;
}

Status apply_config_json(const json& obj, const std::string& source, TrainConfig* config) {
  if (!obj.is_object()) return invalid_argument(source + ": expected a JSON object of settings, found " + obj.type_name());
  const auto& fields = train_config_fields();
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const ConfigField* field = nullptr;
    for (const auto& f : fields)
      if (f.key == it.key()) field = &f;
    if (!field) {
      std::string known;
      for (const auto& f : fields) known += (known.empty() ? "" : ", ") + f.key;
      return invalid_argument(source + ": unknown setting '" + it.key() + "'; known settings: " + known);
    }
    LOOM_RETURN_IF_ERROR(field->set(it.value(), config).with_context(source));
  }
  return ok_status();
}

json config_to_json(const TrainConfig& config) {
  json j = json::object();
  for (const auto& f : train_config_fields()) j[f.key] = f.get(config);
  return j;
}

StatusOr<json> parse_flag_value(const ConfigField& field, const std::string& text) {
  auto bad = [&](const std::string& want) {
    return invalid_argument("flag --" + field.key + " is '" + text + "'; expected " + want);
  };
  if (field.type == "int") {
    try {
      size_t pos = 0;
      long long v = std::stoll(text, &pos);
      if (pos != text.size()) return bad("an integer");
      return json(static_cast<int64_t>(v));
    } catch (const std::logic_error&) {
      return bad("an integer");
    }
  }
  if (field.type == "float") {
    try {
      size_t pos = 0;
      double v = std::stod(text, &pos);
      if (pos != text.size() || !std::isfinite(v)) return bad("a number");
      return json(v);
    } catch (const std::logic_error&) {
      return bad("a number");
    }
  }
  if (field.type == "bool") {
    if (text == "true" || text == "1") return json(true);
    if (text == "false" || text == "0") return json(false);
    return bad("true or false");
  }
  return json(text);
}

Status TrainConfig::validate() const {
  if (data.empty()) return invalid_argument("no training data given; pass --data FILE (a UTF-8 text file)");
  models::GPTConfig m = model;
  if (m.vocab_size == 0) m.vocab_size = 1;  // filled from the tokenizer later
  if (model.vocab_size < 0)
    return invalid_argument("vocab_size is " + std::to_string(model.vocab_size) + "; it must be > 0 (or 0 = from the tokenizer)");
  LOOM_RETURN_IF_ERROR(m.validate());
  LOOM_RETURN_IF_ERROR(require_positive("batch_size", batch_size));
  LOOM_RETURN_IF_ERROR(require_positive("max_iters", max_iters));
  LOOM_RETURN_IF_ERROR(require_positive("grad_accum", grad_accum));
  LOOM_RETURN_IF_ERROR(require_positive("eval_interval", eval_interval));
  LOOM_RETURN_IF_ERROR(require_positive("eval_iters", eval_iters));
  LOOM_RETURN_IF_ERROR(require_positive("log_interval", log_interval));
  if (checkpoint_interval < 0)
    return invalid_argument("checkpoint_interval is " + std::to_string(checkpoint_interval) + "; it must be >= 0");
  if (threads < 0) return invalid_argument("threads is " + std::to_string(threads) + "; it must be >= 0 (0 = all cores)");
  if (!(val_fraction > 0 && val_fraction < 1))
    return invalid_argument("val_fraction is " + std::to_string(val_fraction) + "; it must be in (0, 1)");
  if (!(grad_clip >= 0)) return invalid_argument("grad_clip is " + std::to_string(grad_clip) + "; it must be >= 0");
  LOOM_RETURN_IF_ERROR(optimizer.validate());
  optim::LrSchedule s = schedule;
  if (s.decay_iters == 0) s.decay_iters = max_iters;
  LOOM_RETURN_IF_ERROR(s.validate());
  return ok_status();
}

}  // namespace loom::train
