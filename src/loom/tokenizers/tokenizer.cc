// Reading and writing tokenizer.json: the one switch from a file's model type to a loom
// tokenizer, model directories with GPT-2's vocab.json + merges.txt instead, atomic saving,
// and the default (OpenMP) encode_batch.
#include "loom/tokenizers/tokenizer.h"

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "loom/base/file.h"
#include "loom/base/threads.h"
#include "loom/tokenizers/byte_level_bpe.h"
#include "loom/tokenizers/char_tokenizer.h"
#include "loom/tokenizers/wordpiece.h"
#include "loom/tokenizers/json_util.h"
#include "loom/tokenizers/utf8.h"

namespace loom {

namespace {

using nlohmann::json;

constexpr char kSupported[] = "supported: BPE (byte-level, or character-level without merges), WordPiece";

// A model directory stands for the tokenizer.json inside it.
std::string resolve_path(const std::string& path) {
  return is_directory(path) ? join_path(path, kTokenizerFileName) : path;
}

// GPT-2's two-file layouts, Hugging Face's and OpenAI's.
constexpr std::pair<const char*, const char*> kVocabAndMergesFiles[] = {{"vocab.json", "merges.txt"},
                                                                       {"encoder.json", "vocab.bpe"}};

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
    // A BPE with neither merges nor a pre-tokenizer looks every character up in its
    // vocabulary on its own: that is a character-level tokenizer, and CharTokenizer::from_json
    // checks the rest (one code point per entry, a Fuse decoder, ...). Anything else is read
    // as byte-level BPE, whose reader says what it cannot honour.
    auto merges = model->find("merges");
    auto pre_tokenizer = root.find("pre_tokenizer");
    const bool has_merges = merges != model->end() && !(merges->is_array() && merges->empty());
    const bool has_pre_tokenizer = pre_tokenizer != root.end() && !pre_tokenizer->is_null();
    if (has_merges || has_pre_tokenizer) {
      LOOM_ASSIGN_OR_RETURN(ByteLevelBpe tokenizer, ByteLevelBpe::from_json(root));
      return std::unique_ptr<Tokenizer>(std::make_unique<ByteLevelBpe>(std::move(tokenizer)));
    }
    LOOM_ASSIGN_OR_RETURN(CharTokenizer tokenizer, CharTokenizer::from_json(root));
    return std::unique_ptr<Tokenizer>(std::make_unique<CharTokenizer>(std::move(tokenizer)));
  }
  if (type_name == "WordPiece") {
    LOOM_ASSIGN_OR_RETURN(WordPiece tokenizer, WordPiece::from_json(root));
    return std::unique_ptr<Tokenizer>(std::make_unique<WordPiece>(std::move(tokenizer)));
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

StatusOr<std::vector<std::vector<int32_t>>> Tokenizer::encode_batch(std::span<const std::string_view> texts) const {
  std::vector<std::vector<int32_t>> out(texts.size());
  std::vector<Status> errors(texts.size());
  const auto n = static_cast<int64_t>(texts.size());
  parallel_dynamic(n, [&](int, int64_t i) {
    const auto k = static_cast<size_t>(i);
    StatusOr<std::vector<int32_t>> ids = encode(texts[k]);
    if (ids.ok()) {
      out[k] = std::move(ids).value();
    } else {
      errors[k] = ids.status();
    }
  });
  for (size_t i = 0; i < texts.size(); ++i)
    if (!errors[i].ok()) return errors[i].with_context("text " + std::to_string(i) + " of the batch");
  return out;
}

StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string& path) {
  if (is_directory(path) && !file_exists(join_path(path, kTokenizerFileName))) {
    for (const auto& [vocab, merges] : kVocabAndMergesFiles) {
      const std::string vocab_path = join_path(path, vocab), merges_path = join_path(path, merges);
      if (!file_exists(vocab_path) || !file_exists(merges_path)) continue;
      LOOM_ASSIGN_OR_RETURN(ByteLevelBpe tokenizer, ByteLevelBpe::load_vocab_and_merges(vocab_path, merges_path));
      return std::unique_ptr<Tokenizer>(std::make_unique<ByteLevelBpe>(std::move(tokenizer)));
    }
  }
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
