// BERT's input framing: [CLS] A [SEP] for one text, [CLS] A [SEP] B [SEP] for a pair, with
// token type ids (0 up to and including the first [SEP], 1 after), longest-first truncation
// to a maximum length, optional padding with [PAD] and the attention mask that tells real
// tokens (1) from padding (0). Works with any tokenizer that defines [CLS], [SEP] (and [PAD]
// when padding), e.g. WordPiece.
//
//   BertEncodeOptions o;
//   o.max_length = 128;
//   o.pad = true;
//   LOOM_ASSIGN_OR_RETURN(BertEncoding e, encode_for_bert(tokenizer, "a premise", "a hypothesis", o));
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "loom/base/status.h"
#include "loom/tokenizers/tokenizer.h"

namespace loom {

struct BertEncodeOptions {
  // Total length including [CLS] and [SEP]s. REQUIRES: >= 2 (one text) or 3 (a pair).
  int64_t max_length = 512;
  // Pad to max_length with [PAD] (attention mask 0, token type 0).
  bool pad = false;
};

struct BertEncoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> token_type_ids;
  std::vector<int32_t> attention_mask;
  // Tokens of the texts dropped by truncation (0 if everything fit).
  int64_t truncated = 0;
};

// Longest-first truncation as Hugging Face's (Rust) tokenizers do it: if the shorter text
// fits in half the room, only the longer one is cut to the rest; otherwise the shorter (the
// first, when they are equally long) keeps half the room, rounded down, and the other the
// rest. Tokens are cut from the end. Errors:
// a tokenizer without [CLS]/[SEP] (or [PAD] when padding), max_length too small for the
// special tokens, or text the tokenizer cannot encode.
StatusOr<BertEncoding> encode_for_bert(const Tokenizer& tokenizer, std::string_view text,
                                       std::optional<std::string_view> pair, const BertEncodeOptions& options);

}  // namespace loom
