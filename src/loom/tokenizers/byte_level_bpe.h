// ByteLevelBpe: byte-level BPE, the tokenizer of GPT-2 and of most decoder-only models since,
// id for id the same as Hugging Face `tokenizers` and OpenAI's encoder.py on GPT-2's files.
//
// Encoding runs in three steps. (1) With parse_special, the added tokens (e.g.
// "<|endoftext|>") are cut out of the text first, leftmost-longest, and emitted as their ids.
// (2) The pre-tokenizer (pre_tokenizer.h) cuts the rest into pieces. (3) Each piece starts as
// its bytes, one single-byte token each, and merges are applied lowest rank first (leftmost
// first among equal ranks) until no adjacent pair has a merge. Step 3 keeps the symbols in a
// linked list with a min-heap of candidate pairs, so a piece of n bytes costs O(n log n), and
// an encode call caches the ids of the pieces it has seen, so the repeated words of real text
// are merged once.
//
// Byte-level means every byte string encodes, invalid UTF-8 included (as long as the vocabulary
// has all 256 single-byte tokens, as every trained byte-level vocabulary does), and
// decode(encode(x)) == x byte for byte. decode() therefore returns raw bytes, which are not
// valid UTF-8 when the ids split a character (see Tokenizer::decode).
//
// Added tokens are only matched when the caller asks (encode_with_special, or parse_special in
// BpeEncodeOptions); plain encode() reads "<|endoftext|>" as the 7 pieces of ordinary text it
// is, so text from outside cannot forge a document boundary. special_tokens().eos is
// "<|endoftext|>" when the vocabulary has it.
//
// Files: tokenizer.json (read and written; model BPE with a ByteLevel pre-tokenizer and
// decoder), GPT-2's vocab.json + merges.txt from Hugging Face and encoder.json + vocab.bpe from
// OpenAI (the same two formats under two names; read and written). Training is in
// bpe_trainer.h.
//
//   LOOM_ASSIGN_OR_RETURN(ByteLevelBpe gpt2, ByteLevelBpe::load_vocab_and_merges(
//       "gpt2/vocab.json", "gpt2/merges.txt"));
//   LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> ids, gpt2.encode("Hello world"));  // 15496 995
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "loom/base/status.h"
#include "loom/tokenizers/pre_tokenizer.h"
#include "loom/tokenizers/tokenizer.h"

namespace loom {

// A token matched in the raw text before pre-tokenization: an entry of tokenizer.json's
// added_tokens, with Hugging Face's fields.
struct AddedToken {
  int32_t id = 0;
  // The literal text it stands for (not byte-level spelled), e.g. "<|endoftext|>". Not empty.
  std::string content = {};
  // A control token (end of text, padding, ...) rather than an added word. Both kinds are
  // matched the same way; HF's decode(skip_special_tokens=True) drops the special ones.
  bool special = true;
  // A match also swallows the whitespace on its left / right.
  bool lstrip = false;
  bool rstrip = false;
  // HF matches it after normalization; loom's byte-level BPE has no normalizer, so this is
  // only kept for the file.
  bool normalized = false;
  // HF only matches it as a whole word. Not supported: building a tokenizer with it set is an
  // unimplemented error.
  bool single_word = false;
};

// Options of one encode call.
struct BpeEncodeOptions {
  // Match the added tokens (e.g. "<|endoftext|>") in the text and emit their ids. Default:
  // false, so the text is plain text however it is spelled.
  bool parse_special = false;
};

// Everything that defines a byte-level BPE tokenizer, as the loaders, the trainer and (for
// GGUF files) the io layer produce it. ByteLevelBpe::create() checks it.
struct ByteLevelBpeParts {
  // The model vocabulary: (spelling, id) with tokens spelled as vocab.json spells them, GPT-2's
  // byte-to-unicode characters (byte_unicode.h). An entry with a character outside that map
  // (e.g. a special token "<s> x" with a raw space) stands for its own UTF-8 bytes.
  std::vector<std::pair<std::string, int32_t>> vocab;
  // The merges in rank order (first = applied first), as pairs of spellings. Both tokens and
  // their concatenation must be in `vocab`.
  std::vector<std::pair<std::string, std::string>> merges;
  // Added tokens. An id already in `vocab` must be spelled there as `content`; other ids extend
  // the vocabulary. Together the ids must cover 0..V-1 with none missing.
  std::vector<AddedToken> added_tokens;
  PreTokenizerKind pre_tokenizer = PreTokenizerKind::kGpt2;
  // Hugging Face's BPE.ignore_merges (Llama 3): a piece that is itself a vocabulary entry
  // becomes that one token without merging. Default false (GPT-2).
  bool ignore_merges = false;
  // The ids of special roles. Unset eos defaults to "<|endoftext|>" when that is a token.
  SpecialTokens special;
  // How error messages name where merge `rank` and vocabulary entry `spelling` came from, e.g.
  // "'gpt2/merges.txt' line 7". Default: "merge 7" and "vocab entry 'x'".
  std::function<std::string(size_t rank)> merge_location;
  std::function<std::string(const std::string& spelling)> vocab_location;
  // Prefixes the messages about the vocabulary as a whole (ids missing, added tokens), e.g.
  // "'gpt2/vocab.json'"; none if empty.
  std::string source;
};

class ByteLevelBpe final : public Tokenizer {
 public:
  static constexpr std::string_view kTypeName = "byte_bpe";

  // Checks `parts` and builds the tokenizer. Errors (data loss, naming the entry through the
  // location functions): duplicate ids or spellings, ids that are not 0..V-1, a merge naming a
  // token that is not in the vocabulary or making one that is not, a merge listed twice, an
  // added token that contradicts the vocabulary; (unimplemented) single_word added tokens.
  static StatusOr<ByteLevelBpe> create(ByteLevelBpeParts parts);

  // Reads GPT-2's two files: Hugging Face vocab.json + merges.txt or OpenAI encoder.json +
  // vocab.bpe (the same formats). The merges file may start with a "#version" line; each other
  // line is two tokens separated by one space. Errors name the file and, where there is one,
  // the line: not found, empty, not valid JSON, duplicate ids, an unknown token in a merge, a
  // line that is not two tokens.
  static StatusOr<ByteLevelBpe> load_vocab_and_merges(const std::string& vocab_path,
                                                      const std::string& merges_path);
  // The same on file contents held in memory; the names are used in messages.
  static StatusOr<ByteLevelBpe> from_vocab_and_merges(std::string_view vocab_json, std::string_view merges_txt,
                                                      const std::string& vocab_name,
                                                      const std::string& merges_name);

  // Reads a parsed tokenizer.json whose model is a BPE with a ByteLevel pre-tokenizer (or a
  // Split with a regex loom implements followed by a ByteLevel without regex) and a ByteLevel
  // decoder. Errors: unimplemented for a component loom cannot honour (a normalizer,
  // add_prefix_space, byte_fallback, dropout, a post-processor other than ByteLevel, a
  // subword prefix/suffix, ...), data loss for an inconsistent vocabulary or merge list. The
  // messages do not name the file; load_tokenizer() adds that.
  static StatusOr<ByteLevelBpe> from_json(const nlohmann::json& tokenizer_json);

  // Writes `dir`/vocab.json and `dir`/merges.txt (atomically each), the Hugging Face GPT-2
  // layout, which OpenAI's encoder.py also reads as encoder.json + vocab.bpe. vocab.json holds
  // every id, added tokens included (spelled as their content); the added-token flags and the
  // special roles other than "<|endoftext|>" are not part of this format. `dir` must exist.
  Status save_vocab_and_merges(const std::string& dir) const;
  // The two files' contents. merges.txt cannot hold a token with a space or a line break, or
  // a line starting "#version" (possible only in hand-made vocabularies): invalid argument,
  // naming the merge.
  std::string vocab_json() const;
  StatusOr<std::string> merges_txt() const;

  // --- Tokenizer ---
  std::string_view type_name() const override { return kTypeName; }
  int32_t vocab_size() const override { return static_cast<int32_t>(bytes_.size()); }
  // Plain text: added tokens are not matched. Errors (invalid argument) only for a byte whose
  // single-byte token is missing from the vocabulary, naming the byte and its offset.
  StatusOr<std::vector<int32_t>> encode(std::string_view text) const override;
  // The raw bytes of the tokens; out-of-range ids give U+FFFD.
  std::string decode(std::span<const int32_t> ids) const override;
  std::string decode_token(int32_t id) const override;
  std::optional<std::string> id_to_token(int32_t id) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  SpecialTokens special_tokens() const override { return special_; }
  nlohmann::json to_json() const override;
  // One cache of pieces per pool thread across all texts of the batch.
  StatusOr<std::vector<std::vector<int32_t>>> encode_batch(std::span<const std::string_view> texts) const override;

  // --- beyond the interface ---
  StatusOr<std::vector<int32_t>> encode(std::string_view text, const BpeEncodeOptions& options) const;
  // encode() with the added tokens matched: "a<|endoftext|>b" -> [64, 50256, 65] for GPT-2.
  StatusOr<std::vector<int32_t>> encode_with_special(std::string_view text) const;
  StatusOr<std::vector<std::vector<int32_t>>> encode_batch(std::span<const std::string_view> texts,
                                                           const BpeEncodeOptions& options) const;

  PreTokenizerKind pre_tokenizer() const { return pre_tokenizer_; }
  bool ignore_merges() const { return ignore_merges_; }
  int32_t num_merges() const { return static_cast<int32_t>(merges_.size()); }
  // The ids merged by merge `rank`. REQUIRES: 0 <= rank < num_merges().
  std::pair<int32_t, int32_t> merge(int32_t rank) const;
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  // The raw bytes token `id` stands for. REQUIRES: 0 <= id < vocab_size().
  const std::string& token_bytes(int32_t id) const;

 private:
  struct EncodeState;  // per call (or per thread of a batch): the piece cache and scratch
  struct MergeSlot {
    uint64_t key;    // (left << 32) | right; kEmptyKey when unused
    int32_t rank;
    int32_t result;
  };

  ByteLevelBpe() = default;

  // The merge of the pair (left, right), or nullptr.
  const MergeSlot* find_merge(int32_t left, int32_t right) const;
  Status encode_into(std::string_view text, bool parse_special, EncodeState& state, std::vector<int32_t>* ids) const;
  Status encode_plain(std::string_view text, size_t offset, EncodeState& state, std::vector<int32_t>* ids) const;
  Status encode_piece(std::string_view piece, size_t offset, EncodeState& state, std::vector<int32_t>* ids) const;
  Status missing_byte_error(std::string_view piece, size_t offset, size_t i) const;

  std::vector<std::string> bytes_;      // (V,) id -> the raw bytes it stands for
  std::vector<std::string> spellings_;  // (V,) id -> vocab spelling, or the content of an added token
  std::vector<bool> in_model_;          // (V,) in the model vocabulary (else only an added token)
  std::unordered_map<std::string, int32_t> ids_;  // spelling -> id (token_to_id)
  std::unordered_map<std::string, int32_t> ids_by_bytes_;  // raw bytes -> id of model tokens; only with ignore_merges
  std::array<int32_t, 256> byte_ids_{};  // byte -> id of its single-byte token, or -1
  std::vector<std::pair<int32_t, int32_t>> merges_;  // (M,) rank -> (left, right)
  std::vector<MergeSlot> merge_table_;  // open addressing over merges_, size a power of two
  std::vector<AddedToken> added_;        // sorted by id
  // First byte -> indices into added_, longest content first (leftmost-longest matching).
  std::array<std::vector<uint32_t>, 256> added_by_first_byte_;
  PreTokenizerKind pre_tokenizer_ = PreTokenizerKind::kGpt2;
  bool ignore_merges_ = false;
  SpecialTokens special_;
};

}  // namespace loom
