// CharTokenizer: training, encoding and decoding by code point, and the Hugging Face
// tokenizer.json form (writing it, and reading it back with every field checked).
#include "loom/tokenizers/char_tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "loom/base/check.h"
#include "loom/tokenizers/json_util.h"
#include "loom/tokenizers/utf8.h"

namespace loom {

namespace {

using nlohmann::json;

constexpr char kReplacementCharacter[] = "\xEF\xBF\xBD";  // U+FFFD

using tokenizer_json::absent_or_null;
using tokenizer_json::as_int32;
using tokenizer_json::describe_component;
using tokenizer_json::find_field;
using tokenizer_json::short_dump;

// Components that change what text encodes to must be absent: this tokenizer cannot
// honour them, and ignoring them would make loom and HF disagree about the ids.
Status check_pipeline(const json& root) {
  for (const char* key : {"normalizer", "pre_tokenizer", "post_processor"}) {
    const json* v = find_field(root, key);
    if (!absent_or_null(v))
      return unimplemented(std::string(key) + " " + describe_component(*v) +
                           " is not supported for a character-level tokenizer (a BPE model "
                           "without merges); it must be null");
  }
  for (const char* key : {"truncation", "padding"}) {
    const json* v = find_field(root, key);
    if (!absent_or_null(v))
      return unimplemented(std::string(key) +
                           " is set, but loom's tokenizers neither truncate nor pad (the data "
                           "layer does); it must be null");
  }
  if (const json* added = find_field(root, "added_tokens"); !absent_or_null(added)) {
    if (!added->is_array())
      return data_loss(std::string("added_tokens must be an array, found a JSON ") + added->type_name());
    if (!added->empty()) {
      std::string first;
      const json& t = added->front();
      if (t.is_object() && t.contains("content") && t["content"].is_string())
        first = " (the first is " + quote_text(t["content"].get<std::string>()) + ")";
      return unimplemented("added_tokens has " + std::to_string(added->size()) + " entries" + first +
                           "; added tokens are not supported yet for a character-level tokenizer");
    }
  }
  const json* decoder = find_field(root, "decoder");
  if (absent_or_null(decoder))
    return unimplemented(
        "decoder is null, so Hugging Face tokenizers would put spaces between decoded "
        "characters; a character-level tokenizer needs {\"type\": \"Fuse\"}");
  if (!decoder->is_object() || decoder->value("type", json()) != "Fuse")
    return unimplemented("decoder " + describe_component(*decoder) +
                         " is not supported for a character-level tokenizer; it needs "
                         "{\"type\": \"Fuse\"}");
  return ok_status();
}

// The BPE options that would change how characters are looked up must be off.
Status check_bpe_options(const json& model) {
  if (const json* merges = find_field(model, "merges"); merges == nullptr || !merges->is_array()) {
    return data_loss("model.merges must be an array" +
                     (merges ? std::string(", found a JSON ") + merges->type_name() : std::string(", but it is missing")));
  } else if (!merges->empty()) {
    return unimplemented("the BPE model has " + std::to_string(merges->size()) +
                         " merges; subword BPE is not supported yet, only a BPE model without "
                         "merges (a character-level tokenizer)");
  }
  if (const json* unk = find_field(model, "unk_token"); !absent_or_null(unk))
    return unimplemented(
        "model.unk_token is set; a character-level tokenizer has no unknown token (encoding "
        "an unseen character is an error), so it must be null");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const json* v = find_field(model, key);
    if (!absent_or_null(v) && !(v->is_string() && v->get_ref<const std::string&>().empty()))
      return unimplemented("model." + std::string(key) +
                           " is set; a character-level tokenizer needs it null");
  }
  if (const json* bf = find_field(model, "byte_fallback"); !absent_or_null(bf)) {
    if (!bf->is_boolean())
      return data_loss(std::string("model.byte_fallback must be true or false, found a JSON ") + bf->type_name());
    if (bf->get<bool>())
      return unimplemented("model.byte_fallback is true; byte fallback is not supported yet for "
                           "a character-level tokenizer");
  }
  // dropout, fuse_unk and ignore_merges act only on merges or on the unknown token, which
  // a character-level tokenizer does not have.
  return ok_status();
}

// vocab {"a": 0, ...} -> code points in id order.
StatusOr<std::vector<char32_t>> read_vocab(const json& model) {
  const json* vocab = find_field(model, "vocab");
  if (vocab == nullptr) return data_loss("model.vocab is missing");
  if (!vocab->is_object())
    return data_loss(std::string("model.vocab must be an object {token: id}, found a JSON ") + vocab->type_name());
  if (vocab->empty()) return data_loss("model.vocab is empty");
  const size_t n = vocab->size();
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return data_loss("model.vocab has " + std::to_string(n) + " entries, more than int32 ids can number");
  const std::string ids_rule = "ids must be 0.." + std::to_string(n - 1) + " with none missing";

  std::vector<char32_t> code_points(n);
  std::vector<const std::string*> holder(n, nullptr);  // id -> the entry that has it
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    const std::string& token = it.key();
    if (!it.value().is_number_integer())
      return data_loss("vocab entry " + quote_text(token) + " has id " + short_dump(it.value()) +
                       "; ids must be integers (" + ids_rule + ")");
    const std::optional<int32_t> id = as_int32(it.value());
    if (!id || *id < 0 || static_cast<size_t>(*id) >= n)
      return data_loss("vocab entry " + quote_text(token) + " has id " + short_dump(it.value()) +
                       ", but the vocab has " + std::to_string(n) + " entries; " + ids_rule);
    const auto slot = static_cast<size_t>(*id);
    if (holder[slot] != nullptr)
      return data_loss("id " + std::to_string(*id) + " is given to both " + quote_text(*holder[slot]) +
                       " and " + quote_text(token) + " in the vocab; each id must name one entry");
    char32_t cp = 0;
    size_t len = 0;
    // The JSON parser has already rejected invalid UTF-8, so a failed decode means empty.
    if (token.empty() || !decode_utf8(token, 0, &cp, &len) || len != token.size())
      return data_loss("vocab entry " + quote_text(token) + " (id " + std::to_string(*id) +
                       ") is not a single character; a BPE model without merges is read as a "
                       "character-level tokenizer, whose entries are one Unicode code point each");
    holder[slot] = &token;
    code_points[slot] = cp;
  }
  // n entries with distinct ids in [0, n) cover every id, so there are no gaps.
  return code_points;
}

}  // namespace

CharTokenizer::CharTokenizer(std::vector<char32_t> code_points) : code_points_(std::move(code_points)) {
  ascii_ids_.fill(-1);
  tokens_.reserve(code_points_.size());
  for (size_t i = 0; i < code_points_.size(); ++i) {
    const char32_t cp = code_points_[i];
    const auto id = static_cast<int32_t>(i);
    if (cp < 128) {
      ascii_ids_[cp] = id;
    } else {
      other_ids_.emplace(cp, id);
    }
    std::string s;
    append_utf8(cp, &s);
    tokens_.push_back(std::move(s));
  }
}

StatusOr<CharTokenizer> CharTokenizer::train(std::string_view text) {
  if (text.empty())
    return invalid_argument("cannot train a character tokenizer on empty text; give it the training corpus");
  std::array<bool, 128> seen_ascii{};
  std::unordered_set<char32_t> seen_other;
  size_t pos = 0;
  while (pos < text.size()) {
    const auto b = static_cast<unsigned char>(text[pos]);
    if (b < 0x80) {
      seen_ascii[b] = true;
      ++pos;
      continue;
    }
    char32_t cp;
    size_t len;
    if (!decode_utf8(text, pos, &cp, &len)) return invalid_utf8_error(text, pos, "training text");
    seen_other.insert(cp);
    pos += len;
  }
  std::vector<char32_t> code_points;
  for (char32_t cp = 0; cp < 128; ++cp)
    if (seen_ascii[cp]) code_points.push_back(cp);
  const size_t n_ascii = code_points.size();
  code_points.insert(code_points.end(), seen_other.begin(), seen_other.end());
  std::sort(code_points.begin() + static_cast<std::ptrdiff_t>(n_ascii), code_points.end());
  return CharTokenizer(std::move(code_points));
}

StatusOr<CharTokenizer> CharTokenizer::from_code_points(std::vector<char32_t> code_points) {
  if (code_points.empty()) return invalid_argument("a character tokenizer needs at least one character");
  std::vector<char32_t> sorted = code_points;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (!is_valid_code_point(sorted[i])) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "0x%X", static_cast<unsigned>(sorted[i]));
      return invalid_argument(std::string("code point ") + buf +
                              " is not a Unicode scalar value (a surrogate or above U+10FFFF)");
    }
    if (i > 0 && sorted[i] == sorted[i - 1])
      return invalid_argument("character " + describe_code_point(sorted[i]) +
                              " is listed twice; each character must have one id");
  }
  return CharTokenizer(std::move(code_points));
}

StatusOr<CharTokenizer> CharTokenizer::from_json(const json& root) {
  if (!root.is_object())
    return data_loss(std::string("expected a JSON object at the top level, found a JSON ") + root.type_name());
  if (const json* version = find_field(root, "version"); version != nullptr && *version != "1.0")
    return data_loss("version " + short_dump(*version) + " is not supported; expected \"1.0\"");
  const json* model = find_field(root, "model");
  if (model == nullptr || !model->is_object())
    return data_loss("'model' is missing or not an object");
  if (const json* type = find_field(*model, "type"); type == nullptr || *type != "BPE")
    return unimplemented("model type " + (type ? short_dump(*type) : std::string("(missing)")) +
                         " cannot be read as a character-level tokenizer; expected \"BPE\"");
  LOOM_RETURN_IF_ERROR(check_bpe_options(*model));
  LOOM_RETURN_IF_ERROR(check_pipeline(root));
  LOOM_ASSIGN_OR_RETURN(std::vector<char32_t> code_points, read_vocab(*model));
  return CharTokenizer(std::move(code_points));
}

int32_t CharTokenizer::find(char32_t cp) const {
  if (cp < 128) return ascii_ids_[cp];
  auto it = other_ids_.find(cp);
  return it == other_ids_.end() ? -1 : it->second;
}

char32_t CharTokenizer::code_point(int32_t id) const {
  LOOM_CHECK(id >= 0 && id < vocab_size()) << "id " << id << ", vocab_size " << vocab_size();
  return code_points_[static_cast<size_t>(id)];
}

StatusOr<std::vector<int32_t>> CharTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const auto b = static_cast<unsigned char>(text[pos]);
    char32_t cp = b;
    size_t len = 1;
    if (b >= 0x80 && !decode_utf8(text, pos, &cp, &len)) return invalid_utf8_error(text, pos, "text");
    const int32_t id = find(cp);
    if (id < 0)
      return invalid_argument(
          "character " + describe_code_point(cp) + " at byte offset " + std::to_string(pos) +
          " is not in the vocabulary (" + std::to_string(vocab_size()) +
          " characters); a character tokenizer only knows the characters of the text it was "
          "trained on. Retrain it on text that contains this character.");
    ids.push_back(id);
    pos += len;
  }
  return ids;
}

std::string CharTokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  out.reserve(ids.size());
  for (int32_t id : ids) {
    if (id >= 0 && id < vocab_size()) {
      out += tokens_[static_cast<size_t>(id)];
    } else {
      out += kReplacementCharacter;
    }
  }
  return out;
}

std::string CharTokenizer::decode_token(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return kReplacementCharacter;
  return tokens_[static_cast<size_t>(id)];
}

std::optional<std::string> CharTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return std::nullopt;
  return tokens_[static_cast<size_t>(id)];
}

std::optional<int32_t> CharTokenizer::token_to_id(std::string_view token) const {
  char32_t cp;
  size_t len;
  if (token.empty() || !decode_utf8(token, 0, &cp, &len) || len != token.size()) return std::nullopt;
  const int32_t id = find(cp);
  if (id < 0) return std::nullopt;
  return id;
}

json CharTokenizer::to_json() const {
  json vocab = json::object();
  for (size_t i = 0; i < tokens_.size(); ++i) vocab[tokens_[i]] = static_cast<int32_t>(i);
  json model = json::object();
  model["type"] = "BPE";
  model["dropout"] = nullptr;
  model["unk_token"] = nullptr;
  model["continuing_subword_prefix"] = nullptr;
  model["end_of_word_suffix"] = nullptr;
  model["fuse_unk"] = false;
  model["byte_fallback"] = false;
  model["vocab"] = std::move(vocab);
  model["merges"] = json::array();
  json root = json::object();
  root["version"] = "1.0";
  root["truncation"] = nullptr;
  root["padding"] = nullptr;
  root["added_tokens"] = json::array();
  root["normalizer"] = nullptr;
  root["pre_tokenizer"] = nullptr;
  root["post_processor"] = nullptr;
  root["decoder"] = json{{"type", "Fuse"}};
  root["model"] = std::move(model);
  return root;
}

}  // namespace loom
