// CharTokenizer: one token per Unicode code point, the tokenizer of nanoGPT's
// shakespeare_char example and of small character-level language models.
//
// train() takes the distinct code points of a UTF-8 text and numbers them in code point
// order, so on tinyshakespeare it gives nanoGPT's 65-character vocabulary ('\n' = 0,
// ' ' = 1, ...). There is no unknown token: encoding a character that was not in the
// training text is an error, not a silent substitution.
//
// On disk it is a Hugging Face tokenizer.json whose model is a BPE with no merges, no
// pre-tokenizer and a Fuse decoder: HF `tokenizers` then looks each character up in the
// vocabulary and joins decoded tokens without spaces, which is exactly this tokenizer.
// (HF silently drops a character missing from the vocabulary where loom reports it.)
// That shape is also how the loader recognises a character-level tokenizer, so the file
// needs no loom-specific key, which HF's reader has no place for.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "loom/base/status.h"
#include "loom/tokenizers/tokenizer.h"

namespace loom {

class CharTokenizer final : public Tokenizer {
 public:
  static constexpr std::string_view kTypeName = "char";

  // The vocabulary of `text`: its distinct code points sorted by value, ids 0..n-1.
  // Errors (invalid argument): empty text; invalid UTF-8 (naming the byte offset).
  static StatusOr<CharTokenizer> train(std::string_view text);

  // A tokenizer whose token `i` is `code_points[i]`. Errors (invalid argument): an empty
  // list, a value that is not a Unicode scalar value, a code point listed twice.
  static StatusOr<CharTokenizer> from_code_points(std::vector<char32_t> code_points);

  // Reads a parsed tokenizer.json of the shape to_json() writes (ids may be in any order,
  // as long as they are 0..n-1). Errors: unimplemented for a component this tokenizer
  // cannot honour (a normalizer, pre-tokenizer, post-processor, added tokens, an unknown
  // token, byte fallback, merges, ...), data loss for an inconsistent vocabulary
  // (duplicate ids, ids not 0..n-1, an entry that is not exactly one code point). The
  // messages do not name the file; load_tokenizer() adds that.
  static StatusOr<CharTokenizer> from_json(const nlohmann::json& tokenizer_json);

  std::string_view type_name() const override { return kTypeName; }
  int32_t vocab_size() const override { return static_cast<int32_t>(code_points_.size()); }
  StatusOr<std::vector<int32_t>> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  std::string decode_token(int32_t id) const override;
  std::optional<std::string> id_to_token(int32_t id) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  SpecialTokens special_tokens() const override { return {}; }
  nlohmann::json to_json() const override;

  // The code point of token `id`. REQUIRES: 0 <= id < vocab_size().
  char32_t code_point(int32_t id) const;

 private:
  explicit CharTokenizer(std::vector<char32_t> code_points);

  // The id of `cp`, or -1.
  int32_t find(char32_t cp) const;

  std::vector<char32_t> code_points_;  // (V,) id -> code point
  std::vector<std::string> tokens_;    // (V,) id -> its UTF-8 bytes
  std::array<int32_t, 128> ascii_ids_;  // ASCII code point -> id or -1: the common case
  std::unordered_map<char32_t, int32_t> other_ids_;  // every other code point -> id
};

}  // namespace loom
