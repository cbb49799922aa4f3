// BERT model directory load/save.
#include "loom/io/bert_dir.h"

#include <cstring>

#include "loom/base/file.h"
#include "loom/base/numeric.h"
#include "loom/io/gguf_tokenizer.h"
#include "loom/io/json_fields.h"
#include "loom/io/model_dir.h"
#include "loom/io/safetensors.h"
#include "loom/tokenizers/wordpiece.h"

namespace loom::io {

using nlohmann::json;

json bert_config_to_json(const models::BertConfig& c) {
  return json{
      {"model_type", "bert"},
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.hidden_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"intermediate_size", c.intermediate_size},
      {"max_position_embeddings", c.max_position_embeddings},
      {"type_vocab_size", c.type_vocab_size},
      {"hidden_act", c.hidden_act == GeluForm::kErf ? "gelu" : "gelu_new"},
      {"hidden_dropout_prob", shortest_double(c.hidden_dropout_prob)},
      {"attention_probs_dropout_prob", shortest_double(c.attention_probs_dropout_prob)},
      {"layer_norm_eps", shortest_double(c.layer_norm_eps)},
      {"initializer_range", shortest_double(c.initializer_range)},
      {"position_embedding_type", c.pos_encoding == models::PosEncoding::kLearned ? "absolute" : "loom_sinusoidal"},
      {"pad_token_id", c.pad_token_id},
      {"loom_pre_layernorm", c.pre_layernorm},
  };
}

StatusOr<models::BertConfig> bert_config_from_json(const json& j, const std::string& source) {
  if (!j.is_object()) return data_loss(source + ": expected a JSON object");
  if (j.contains("model_type") && j["model_type"] != "bert")
    return unimplemented(source + ": model_type is " + j["model_type"].dump() + "; this loader reads 'bert'");
  models::BertConfig c;
  auto get_int = [&](const char* key, int64_t* out, bool required) { return json_int(j, key, out, required, source); };
  auto get_float = [&](const char* key, float* out) { return json_float(j, key, out, source); };
  LOOM_RETURN_IF_ERROR(get_int("vocab_size", &c.vocab_size, true));
  LOOM_RETURN_IF_ERROR(get_int("hidden_size", &c.hidden_size, true));
  LOOM_RETURN_IF_ERROR(get_int("num_hidden_layers", &c.num_hidden_layers, true));
  LOOM_RETURN_IF_ERROR(get_int("num_attention_heads", &c.num_attention_heads, true));
  LOOM_RETURN_IF_ERROR(get_int("intermediate_size", &c.intermediate_size, true));
  LOOM_RETURN_IF_ERROR(get_int("max_position_embeddings", &c.max_position_embeddings, false));
  LOOM_RETURN_IF_ERROR(get_int("type_vocab_size", &c.type_vocab_size, false));
  LOOM_RETURN_IF_ERROR(get_int("pad_token_id", &c.pad_token_id, false));
  LOOM_RETURN_IF_ERROR(get_float("hidden_dropout_prob", &c.hidden_dropout_prob));
  LOOM_RETURN_IF_ERROR(get_float("attention_probs_dropout_prob", &c.attention_probs_dropout_prob));
  LOOM_RETURN_IF_ERROR(get_float("layer_norm_eps", &c.layer_norm_eps));
  LOOM_RETURN_IF_ERROR(get_float("initializer_range", &c.initializer_range));
  if (j.contains("hidden_act")) {
    const json& a = j["hidden_act"];
    if (a == "gelu")
      c.hidden_act = GeluForm::kErf;
    else if (a == "gelu_new" || a == "gelu_pytorch_tanh")
      c.hidden_act = GeluForm::kTanh;
    else
      return unimplemented(source + ": hidden_act is " + a.dump() + "; loom's BERT has \"gelu\" (erf) and \"gelu_new\" (tanh)");
  }
  if (j.contains("position_embedding_type")) {
    const json& p = j["position_embedding_type"];
    if (p == "absolute")
      c.pos_encoding = models::PosEncoding::kLearned;
    else if (p == "loom_sinusoidal")
      c.pos_encoding = models::PosEncoding::kSinusoidal;
    else
      return unimplemented(source + ": position_embedding_type is " + p.dump() +
                           "; loom reads \"absolute\" (learned) and \"loom_sinusoidal\"");
  }
  LOOM_RETURN_IF_ERROR(json_bool(j, "loom_pre_layernorm", &c.pre_layernorm, source));
  LOOM_RETURN_IF_ERROR(c.validate().with_context(source));
  return c;
}

Status save_bert_dir(const std::string& dir, const nn::Module& model, const models::BertConfig& config, BertHead head,
                     const std::vector<std::string>& labels, const Tokenizer& tokenizer) {
  LOOM_RETURN_IF_ERROR(make_directories(dir));
  LOOM_RETURN_IF_ERROR(write_safetensors(join_path(dir, kWeightsFileName), parameters_to_write(model.named_parameters()),
                                         {{"format", "pt"}}));
  json j = bert_config_to_json(config);
  if (head == BertHead::kPretraining) {
    j["architectures"] = json::array({"BertForPreTraining"});
  } else {
    j["architectures"] = json::array({"BertForSequenceClassification"});
    json id2label = json::object(), label2id = json::object();
    for (size_t i = 0; i < labels.size(); ++i) {
      id2label[std::to_string(i)] = labels[i];
      label2id[labels[i]] = static_cast<int64_t>(i);
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
    j["num_labels"] = static_cast<int64_t>(labels.size());
  }
  LOOM_RETURN_IF_ERROR(write_file_atomic(join_path(dir, kConfigFileName), j.dump(2) + "\n"));
  if (const auto* wp = dynamic_cast<const WordPiece*>(&tokenizer))
    LOOM_RETURN_IF_ERROR(wp->save_vocab_txt(join_path(dir, "vocab.txt")));
  return save_tokenizer(tokenizer, dir);
}

StatusOr<BertDir> read_bert_dir(const std::string& dir) {
  if (!is_directory(dir)) return not_found("model directory '" + dir + "' does not exist");
  const std::string cfg_path = join_path(dir, kConfigFileName);
  LOOM_ASSIGN_OR_RETURN(std::string text, read_file(cfg_path));
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return data_loss("'" + cfg_path + "' is not valid JSON: " + e.what());
  }
  BertDir out;
  LOOM_ASSIGN_OR_RETURN(out.config, bert_config_from_json(j, "'" + cfg_path + "'"));
  if (j.contains("id2label") && j.value("architectures", json::array()).dump().find("SequenceClassification") !=
                                    std::string::npos) {
    out.head = BertHead::kClassification;
    const json& m = j["id2label"];
    if (!m.is_object() || m.size() < 2)
      return data_loss("'" + cfg_path + "': id2label is " + m.dump().substr(0, 80) + "; expected at least two labels");
    out.labels.resize(m.size());
    for (auto it = m.begin(); it != m.end(); ++it) {
      size_t id = 0;
      try {
        id = std::stoul(it.key());
      } catch (const std::exception&) {
        return data_loss("'" + cfg_path + "': id2label key \"" + it.key() + "\" is not a label id");
      }
      if (id >= m.size() || !it.value().is_string())
        return data_loss("'" + cfg_path + "': id2label entry \"" + it.key() + "\" is not an id in [0, " +
                         std::to_string(m.size()) + ") with a string label");
      out.labels[id] = it.value().get<std::string>();
    }
  }
  // tokenizer.json, or a bare vocab.txt (with tokenizer_config.json's casing).
  LOOM_ASSIGN_OR_RETURN(out.tokenizer, load_tokenizer_any(dir));
  if (out.tokenizer->vocab_size() != out.config.vocab_size)
    return data_loss("model directory '" + dir + "': the tokenizer has " + std::to_string(out.tokenizer->vocab_size()) +
                     " tokens but config.json says vocab_size " + std::to_string(out.config.vocab_size) +
                     "; the tokenizer does not belong to this model");
  return out;
}

StatusOr<int64_t> load_bert_weights(const std::string& dir, const nn::Module& model,
                                    const std::string& required_prefix) {
  LOOM_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::open(join_path(dir, kWeightsFileName)));
  int64_t loaded = 0;
  for (const auto& [name, v] : model.named_parameters()) {
    const SafetensorsEntry* e = f.find(name);
    if (!e) {
      if (name.rfind(required_prefix, 0) == 0)
        return not_found("'" + f.path() + "': tensor '" + name +
                         "' is missing. Was it saved from a model with another config (num_hidden_layers, "
                         "position_embedding_type, loom_pre_layernorm)?");
      continue;
    }
    if (e->dtype != DType::kF32)
      return data_loss("'" + f.path() + "': tensor '" + name + "' has dtype " + dtype_name(e->dtype) + ", expected F32");
    if (e->shape != v.value().shape())
      return data_loss("'" + f.path() + "': tensor '" + name + "' has shape " + shape_to_string(e->shape) +
                       ", the model expects " + v.value().shape_str());
    std::memcpy(v.value().f32(), e->data, e->nbytes);
    ++loaded;
  }
  return loaded;
}

}  // namespace loom::io
