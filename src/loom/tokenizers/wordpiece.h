// WordPiece: BERT's tokenizer. Text goes through BERT's normalizer (drop NUL, U+FFFD and
// control characters; every whitespace character becomes a space; spaces around each CJK
// ideograph; optional accent stripping by NFD + removal of non-spacing marks; optional
// lower-casing), then BERT's pre-tokenizer (split at whitespace, every punctuation character
// a word of its own), then greedy longest-match-first WordPiece on each word: the longest
// vocabulary entry that starts the word, then the longest "##"-prefixed entry that continues
// it, and so on; a word that cannot be covered, or is longer than 100 characters, becomes
// the unknown token. This is what Hugging Face's BertTokenizer does (its tokenizer.json:
// BertNormalizer, BertPreTokenizer, WordPiece model, WordPiece decoder).
//
//   LOOM_ASSIGN_OR_RETURN(WordPiece wp, WordPiece::load_vocab_txt("bert-base-uncased/vocab.txt", {}));
//   LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> ids, wp.encode("Hello, world!"));  // 7592 1010 2088 999
//
// encode() adds no [CLS]/[SEP] and does not recognise special tokens written in the text.
// decode() cannot restore what normalization removed (case, accents, spacing around
// punctuation), so for WordPiece decode(encode(x)) is x only up to that normalization.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "loom/tokenizers/tokenizer.h"

namespace loom {

struct WordPieceOptions {
  // BertNormalizer.
  bool clean_text = true;
  bool handle_chinese_chars = true;
  // Unset: strip accents exactly when lower-casing (BERT's rule).
  std::optional<bool> strip_accents;
  bool lowercase = true;
  // WordPiece model.
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  int64_t max_input_chars_per_word = 100;
};

class WordPiece final : public Tokenizer {
 public:
  // A tokenizer over `vocab` (id = position). Errors: an empty entry, a duplicate (naming
  // both positions), or an unk_token that is not in the vocabulary.
  static StatusOr<WordPiece> from_vocab(std::vector<std::string> vocab, WordPieceOptions options);
  // BERT's vocab.txt: one entry per line, id = line number - 1 (a trailing "\r" is dropped).
  // Errors name the file and the line: not found, invalid UTF-8, an empty line, a
  // duplicate entry (and the line of its first occurrence), no unk_token.
  static StatusOr<WordPiece> load_vocab_txt(const std::string& path, WordPieceOptions options);
  // From a parsed tokenizer.json whose model is WordPiece (errors name the field; the
  // caller adds the file). Reads BertNormalizer (or none) and BertPreTokenizer; other
  // normalizers or pre-tokenizers are unimplemented errors that name them.
  static StatusOr<WordPiece> from_json(const nlohmann::json& doc);

  std::string_view type_name() const override { return "wordpiece"; }
  int32_t vocab_size() const override { return static_cast<int32_t>(vocab_.size()); }
  // Errors only for invalid UTF-8 (naming the byte offset).
  StatusOr<std::vector<int32_t>> encode(std::string_view text) const override;
  // Tokens joined by spaces, "##" continuations glued to the previous token, then the
  // WordPiece decoder's clean-up (" ." -> ".", " n't" -> "n't", ...).
  std::string decode(std::span<const int32_t> ids) const override;
  // "##ing" -> "ing", any other token -> " " + token.
  std::string decode_token(int32_t id) const override;
  std::optional<std::string> id_to_token(int32_t id) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  SpecialTokens special_tokens() const override;
  nlohmann::json to_json() const override;

  const WordPieceOptions& options() const { return options_; }
  // Writes vocab.txt (one entry per line, in id order), atomically.
  Status save_vocab_txt(const std::string& path) const;

  // The normalized text and its words, as the model sees them (for tests and `loom tokenize`).
  StatusOr<std::string> normalize(std::string_view text) const;
  std::vector<std::string_view> pre_tokenize(std::string_view normalized) const;

 private:
  WordPiece() = default;
  // from_vocab's checks, naming entry i as "<unit> <i + first_number>" in errors.
  static StatusOr<WordPiece> from_entries(std::vector<std::string> vocab, WordPieceOptions options,
                                          const char* unit, size_t first_number);
  void encode_word(std::string_view word, std::vector<int32_t>* out) const;

  WordPieceOptions options_;
  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int32_t> ids_;
  int32_t unk_id_ = 0;
};

}  // namespace loom
