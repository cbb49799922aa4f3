// GGUF tokenizer metadata -> ByteLevelBpe (see gguf_tokenizer.h).
#include "loom/io/gguf_tokenizer.h"

#include <nlohmann/json.hpp>

#include "loom/base/file.h"
#include "loom/tokenizers/wordpiece.h"

#include <optional>
#include <utility>

#include "loom/tokenizers/byte_level_bpe.h"
#include "loom/tokenizers/utf8.h"

namespace loom {

namespace {

// llama.cpp's token types.
constexpr int64_t kControl = 3;
constexpr int64_t kUserDefined = 4;

struct PreFamily {
  std::string_view name;
  PreTokenizerKind kind;
};
// tokenizer.ggml.pre names whose rule loom implements exactly (checked against Hugging Face's
// ids by the llama.cpp vectors for gpt-2, starcoder and falcon).
constexpr PreFamily kPreFamilies[] = {
    {"gpt-2", PreTokenizerKind::kGpt2},
    {"mpt", PreTokenizerKind::kGpt2},
    {"olmo", PreTokenizerKind::kGpt2},
    {"starcoder", PreTokenizerKind::kStarcoder},
    {"falcon", PreTokenizerKind::kFalcon},
};

std::string supported_families() {
  std::string s;
  for (const PreFamily& f : kPreFamilies) s += (s.empty() ? "" : ", ") + std::string(f.name);
  return s;
}

StatusOr<std::optional<int32_t>> optional_id(const GgufFile& file, std::string_view key, size_t vocab_size) {
  if (file.find(key) == nullptr) return std::optional<int32_t>();
  LOOM_ASSIGN_OR_RETURN(int64_t id, file.get_int(key));
  if (id < 0 || static_cast<uint64_t>(id) >= vocab_size)
    return data_loss("'" + file.source() + "': " + std::string(key) + " is " + std::to_string(id) +
                     ", not a token id (the vocabulary has " + std::to_string(vocab_size) + " tokens)");
  return std::optional<int32_t>(static_cast<int32_t>(id));
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> tokenizer_from_gguf(const GgufFile& file) {
  const std::string& src = file.source();
  LOOM_ASSIGN_OR_RETURN(std::string model, file.get_string("tokenizer.ggml.model"));
  if (model != "gpt2")
    return unimplemented("'" + src + "': tokenizer.ggml.model is '" + model +
                         "'; loom reads GGUF vocabularies of byte-level BPE ('gpt2') only so far");
  std::string pre = "default";
  if (file.find("tokenizer.ggml.pre") != nullptr) {
    LOOM_ASSIGN_OR_RETURN(pre, file.get_string("tokenizer.ggml.pre"));
  }
  std::optional<PreTokenizerKind> kind;
  for (const PreFamily& f : kPreFamilies)
    if (f.name == pre) kind = f.kind;
  if (!kind)
    return unimplemented("'" + src + "': tokenizer.ggml.pre is '" + pre +
                         "', a pre-tokenizer loom does not implement; supported: " + supported_families());

  LOOM_ASSIGN_OR_RETURN(const std::vector<std::string>* tokens, file.get_string_array("tokenizer.ggml.tokens"));
  LOOM_ASSIGN_OR_RETURN(const std::vector<std::string>* merges, file.get_string_array("tokenizer.ggml.merges"));
  const std::vector<int64_t>* types = nullptr;
  if (file.find("tokenizer.ggml.token_type") != nullptr) {
    LOOM_ASSIGN_OR_RETURN(types, file.get_int_array("tokenizer.ggml.token_type"));
    if (types->size() != tokens->size())
      return data_loss("'" + src + "': tokenizer.ggml.token_type has " + std::to_string(types->size()) +
                       " entries, tokenizer.ggml.tokens " + std::to_string(tokens->size()) + "; they must match");
  }
  if (tokens->size() > static_cast<size_t>(INT32_MAX))
    return data_loss("'" + src + "': tokenizer.ggml.tokens has " + std::to_string(tokens->size()) + " entries");

  ByteLevelBpeParts parts;
  parts.pre_tokenizer = *kind;
  parts.vocab.reserve(tokens->size());
  for (size_t i = 0; i < tokens->size(); ++i) {
    const std::string& t = (*tokens)[i];
    if (Status s = validate_utf8(t, "tokenizer.ggml.tokens[" + std::to_string(i) + "]"); !s.ok())
      return data_loss("'" + src + "': " + s.message());
    parts.vocab.emplace_back(t, static_cast<int32_t>(i));
    const int64_t type = types ? (*types)[i] : 1;
    if (type == kControl || type == kUserDefined) {
      AddedToken a;
      a.id = static_cast<int32_t>(i);
      a.content = t;
      a.special = type == kControl;
      if (!t.empty()) parts.added_tokens.push_back(std::move(a));
    }
  }
  parts.merges.reserve(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const std::string& m = (*merges)[i];
    const size_t sp = m.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 == m.size() || m.find(' ', sp + 1) != std::string::npos)
      return data_loss("'" + src + "': tokenizer.ggml.merges[" + std::to_string(i) + "] is " + quote_text(m) +
                       "; a merge is two tokens separated by one space");
    parts.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
  }
  LOOM_ASSIGN_OR_RETURN(parts.special.bos, optional_id(file, "tokenizer.ggml.bos_token_id", tokens->size()));
  LOOM_ASSIGN_OR_RETURN(parts.special.eos, optional_id(file, "tokenizer.ggml.eos_token_id", tokens->size()));
  LOOM_ASSIGN_OR_RETURN(parts.special.unk, optional_id(file, "tokenizer.ggml.unknown_token_id", tokens->size()));
  LOOM_ASSIGN_OR_RETURN(parts.special.pad, optional_id(file, "tokenizer.ggml.padding_token_id", tokens->size()));
  parts.merge_location = [src](size_t rank) { return "'" + src + "' tokenizer.ggml.merges[" + std::to_string(rank) + "]"; };
  parts.vocab_location = [src](const std::string& spelling) {
    return "'" + src + "' tokenizer.ggml.tokens entry " + quote_text(spelling);
  };
  parts.source = "'" + src + "'";
  LOOM_ASSIGN_OR_RETURN(ByteLevelBpe bpe, ByteLevelBpe::create(std::move(parts)));
  return std::unique_ptr<Tokenizer>(std::make_unique<ByteLevelBpe>(std::move(bpe)));
}

StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer_any(const std::string& path, std::optional<bool> lowercase) {
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".gguf") == 0) {
    LOOM_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(path));
    return tokenizer_from_gguf(file);
  }
  // A bare BERT vocab.txt, or a directory holding only one: uncased WordPiece (BERT's
  // tokenizer_config.json "do_lower_case": false beside it makes it cased).
  const bool txt = path.size() >= 4 && path.compare(path.size() - 4, 4, ".txt") == 0;
  const std::string dir_vocab = join_path(path, "vocab.txt");
  if (txt || (is_directory(path) && !file_exists(join_path(path, "tokenizer.json")) && file_exists(dir_vocab) &&
              !file_exists(join_path(path, "vocab.json")))) {
    const std::string vocab = txt ? path : dir_vocab;
    WordPieceOptions o;
    const size_t slash = path.find_last_of('/');
    const std::string dir = txt ? (slash == std::string::npos ? "." : path.substr(0, slash)) : path;
    const std::string cfg = join_path(dir, "tokenizer_config.json");
    if (lowercase) {
      o.lowercase = *lowercase;
    } else if (file_exists(cfg)) {
      LOOM_ASSIGN_OR_RETURN(std::string text, read_file(cfg));
      nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) return data_loss("'" + cfg + "' is not valid JSON");
      if (j.contains("do_lower_case")) {
        if (!j["do_lower_case"].is_boolean())
          return data_loss("'" + cfg + "': do_lower_case is " + j["do_lower_case"].dump() + "; expected true/false");
        o.lowercase = j["do_lower_case"].get<bool>();
      }
    }
    LOOM_ASSIGN_OR_RETURN(WordPiece wp, WordPiece::load_vocab_txt(vocab, o));
    return std::unique_ptr<Tokenizer>(std::make_unique<WordPiece>(std::move(wp)));
  }
  return load_tokenizer(path);
}

}  // namespace loom
