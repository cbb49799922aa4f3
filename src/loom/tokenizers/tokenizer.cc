// Reading and writing tokenizer.json: the one switch from a file's model type to a loom
// tokenizer, and atomic saving. JSON is parsed strictly (json_util.h).
#include "loom/tokenizers/tokenizer.h"

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "loom/base/file.h"
#include "loom/tokenizers/char_tokenizer.h"
#include "loom/tokenizers/json_util.h"
#include "loom/tokenizers/utf8.h"

namespace loom {

namespace {

using nlohmann::json;

constexpr char kSupported[] = "supported: BPE (character-level)";

// A model directory stands for the tokenizer.json inside it.
std::string resolve_path(const std::string& path) {
  return is_directory(path) ? join_path(path, kTokenizerFileName) : path;
}

StatusOr<std::unique_ptr<Tokenizer>> tokenizer_from_json(const json& root) {
  if (!root.is_object())
    return data_loss(std::string("expected a JSON object at the top level, found a JSON ") + root.type_name());
  auto model = root.find("model");
  if (model == root.end() || !model->is_object())
    return data_loss(
        "no 'model' object; a Hugging Face tokenizer.json has one (vocab.json, merges.txt and "
        "tokenizer_config.json are other files)");
  auto type = model->find("type");
  if (type == model->end() || !type->is_string())
    return data_loss("model.type is missing or not a string; expected e.g. \"BPE\"");
  const std::string& type_name = type->get_ref<const std::string&>();

  if (type_name == "BPE") {
    // A BPE without merges looks every character up in its vocabulary on its own: that is
    // a character-level tokenizer. CharTokenizer::from_json checks the rest (no
    // pre-tokenizer, one code point per entry, ...).
    auto merges = model->find("merges");
    if (merges != model->end() && merges->is_array() && !merges->empty())
      return unimplemented("model type 'BPE' with " + std::to_string(merges->size()) +
                           " merges (subword BPE) is not supported yet; " + kSupported);
    LOOM_ASSIGN_OR_RETURN(CharTokenizer tokenizer, CharTokenizer::from_json(root));
    return std::unique_ptr<Tokenizer>(std::make_unique<CharTokenizer>(std::move(tokenizer)));
  }
  return unimplemented("model type " + quote_text(type_name) + " is not supported yet; " + kSupported);
}

}  // namespace

Status save_tokenizer(const Tokenizer& tokenizer, const std::string& path) {
  const std::string file = resolve_path(path);
  std::string text;
  try {
    text = tokenizer.to_json().dump(2, ' ', /*ensure_ascii=*/false) + "\n";
  } catch (const json::exception& e) {
    // to_json() produces valid UTF-8 by construction; reaching this is a bug.
    return Status(StatusCode::kInternal, "tokenizer '" + file + "': cannot serialize: " + e.what());
  }
  return write_file_atomic(file, text);
}

StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string& path) {
  const std::string file = resolve_path(path);
  LOOM_ASSIGN_OR_RETURN(std::string text, read_file(file));
  return load_tokenizer_from_string(text, file);
}

StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer_from_string(std::string_view json_text,
                                                                 const std::string& source) {
  const std::string context = "tokenizer '" + source + "'";
  StatusOr<json> root = tokenizer_json::parse(json_text);
  if (!root.ok()) return root.status().with_context(context);
  StatusOr<std::unique_ptr<Tokenizer>> tokenizer = tokenizer_from_json(*root);
  if (!tokenizer.ok()) return tokenizer.status().with_context(context);
  return tokenizer;
}

}  // namespace loom
