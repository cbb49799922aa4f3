// Model directory load/save.
#include "loom/io/model_dir.h"

#include <cstring>

#include "loom/base/file.h"
#include "loom/base/numeric.h"
#include "loom/io/json_fields.h"

namespace loom::io {

using nlohmann::json;

json gpt_config_to_json(const models::GPTConfig& c) {
  return json{
      {"architectures", json::array({"GPT2LMHeadModel"})},
      {"model_type", "gpt2"},
      {"vocab_size", c.vocab_size},
      {"n_positions", c.block_size},
      {"n_ctx", c.block_size},
      {"n_embd", c.n_embd},
      {"n_layer", c.n_layer},
      {"n_head", c.n_head},
      {"n_inner", nullptr},
      {"activation_function", "gelu_new"},
      {"resid_pdrop", shortest_double(c.dropout)},
      {"embd_pdrop", shortest_double(c.dropout)},
      {"attn_pdrop", 0.0},
      {"layer_norm_epsilon", shortest_double(c.layer_norm_eps)},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"loom_bias", c.bias},
      {"loom_pos_encoding", models::pos_encoding_name(c.pos_encoding)},
  };
}

StatusOr<models::GPTConfig> gpt_config_from_json(const json& j, const std::string& source) {
  if (!j.is_object()) return data_loss(source + ": expected a JSON object");
  if (j.contains("model_type") && j["model_type"] != "gpt2")
    return unimplemented(source + ": model_type is " + j["model_type"].dump() + "; this loader reads 'gpt2'");
  models::GPTConfig c;
  LOOM_RETURN_IF_ERROR(json_int(j, "vocab_size", &c.vocab_size, true, source));
  LOOM_RETURN_IF_ERROR(json_int(j, "n_positions", &c.block_size, true, source));
  LOOM_RETURN_IF_ERROR(json_int(j, "n_embd", &c.n_embd, true, source));
  LOOM_RETURN_IF_ERROR(json_int(j, "n_layer", &c.n_layer, true, source));
  LOOM_RETURN_IF_ERROR(json_int(j, "n_head", &c.n_head, true, source));
  if (j.contains("n_inner") && !j["n_inner"].is_null() && j["n_inner"] != 4 * c.n_embd)
    return unimplemented(source + ": n_inner is " + j["n_inner"].dump() + "; loom's GPT uses 4 * n_embd = " +
                         std::to_string(4 * c.n_embd));
  if (j.contains("activation_function") && j["activation_function"] != "gelu_new" &&
      j["activation_function"] != "gelu_pytorch_tanh")
    return unimplemented(source + ": activation_function is " + j["activation_function"].dump() +
                         "; loom's GPT uses the tanh GELU ('gelu_new')");
  LOOM_RETURN_IF_ERROR(json_float(j, "resid_pdrop", &c.dropout, source));
  LOOM_RETURN_IF_ERROR(json_float(j, "layer_norm_epsilon", &c.layer_norm_eps, source));
  LOOM_RETURN_IF_ERROR(json_bool(j, "tie_word_embeddings", &c.tie_word_embeddings, source));
  LOOM_RETURN_IF_ERROR(json_bool(j, "loom_bias", &c.bias, source));
  if (j.contains("loom_pos_encoding")) {
    if (!j["loom_pos_encoding"].is_string() ||
        !models::parse_pos_encoding(j["loom_pos_encoding"].get<std::string>(), &c.pos_encoding))
      return data_loss(source + ": key 'loom_pos_encoding' is " + j["loom_pos_encoding"].dump() +
                       "; expected \"learned\" or \"sinusoidal\"");
  }
  LOOM_RETURN_IF_ERROR(c.validate().with_context(source));
  return c;
}

std::vector<TensorToWrite> parameters_to_write(const nn::NamedParameters& params, const std::string& prefix) {
  std::vector<TensorToWrite> out;
  for (const auto& [name, v] : params)
    out.push_back({prefix + name, DType::kF32, v.value().shape(), v.value().f32()});
  return out;
}

Status load_parameters(const SafetensorsFile& file, const nn::NamedParameters& params, const std::string& prefix) {
  for (const auto& [name, v] : params) {
    const std::string full = prefix + name;
    const SafetensorsEntry* e = file.find(full);
    if (!e && prefix.empty() && name.rfind("transformer.", 0) == 0) e = file.find(name.substr(12));
    if (!e)
      return not_found("'" + file.path() + "': tensor '" + full +
                       "' is missing. Was the file saved from a model with a different config (n_layer, bias, "
                       "tie_word_embeddings, pos_encoding)?");
    if (e->dtype != DType::kF32)
      return data_loss("'" + file.path() + "': tensor '" + full + "' has dtype " + dtype_name(e->dtype) +
                       ", expected F32");
    if (e->shape != v.value().shape())
      return data_loss("'" + file.path() + "': tensor '" + full + "' has shape " + shape_to_string(e->shape) +
                       ", the config expects " + v.value().shape_str() +
                       ". Was it saved with a different vocab_size, block_size or n_embd?");
    std::memcpy(v.value().f32(), e->data, e->nbytes);
  }
  return ok_status();
}

Status save_model_dir(const std::string& dir, const models::GPT& model, const Tokenizer& tokenizer) {
  LOOM_RETURN_IF_ERROR(make_directories(dir));
  LOOM_RETURN_IF_ERROR(write_safetensors(join_path(dir, kWeightsFileName), parameters_to_write(model.named_parameters()),
                                         {{"format", "pt"}}));
  LOOM_RETURN_IF_ERROR(write_file_atomic(join_path(dir, kConfigFileName), gpt_config_to_json(model.config()).dump(2) + "\n"));
  return save_tokenizer(tokenizer, dir);
}

StatusOr<LoadedModel> load_model_dir(const std::string& dir) {
  if (!is_directory(dir))
    return not_found("model directory '" + dir + "' does not exist; train one with 'loom train --out_dir " + dir + "'");
  const std::string cfg_path = join_path(dir, kConfigFileName);
  LOOM_ASSIGN_OR_RETURN(std::string text, read_file(cfg_path));
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return data_loss("'" + cfg_path + "' is not valid JSON: " + e.what());
  }
  LOOM_ASSIGN_OR_RETURN(models::GPTConfig cfg, gpt_config_from_json(j, "'" + cfg_path + "'"));
  LoadedModel out;
  LOOM_ASSIGN_OR_RETURN(out.tokenizer, load_tokenizer(dir));
  if (out.tokenizer->vocab_size() > cfg.vocab_size)
    return data_loss("model directory '" + dir + "': the tokenizer has " + std::to_string(out.tokenizer->vocab_size()) +
                     " tokens but the model's vocab_size is " + std::to_string(cfg.vocab_size) +
                     "; the tokenizer.json does not belong to this model");
  out.model = std::make_unique<models::GPT>(cfg);
  LOOM_ASSIGN_OR_RETURN(SafetensorsFile weights, SafetensorsFile::open(join_path(dir, kWeightsFileName)));
  LOOM_RETURN_IF_ERROR(load_parameters(weights, out.model->named_parameters()));
  return out;
}

}  // namespace loom::io
