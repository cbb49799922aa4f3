// BERT's [CLS]/[SEP] framing, truncation, padding and masks (see bert_encoding.h).
#include "loom/tokenizers/bert_encoding.h"

#include <string>

namespace loom {

StatusOr<BertEncoding> encode_for_bert(const Tokenizer& tokenizer, std::string_view text,
                                       std::optional<std::string_view> pair, const BertEncodeOptions& options) {
  const SpecialTokens special = tokenizer.special_tokens();
  if (!special.cls || !special.sep)
    return invalid_argument(std::string("the ") + std::string(tokenizer.type_name()) +
                            " tokenizer has no [CLS] or [SEP] token; BERT inputs need both");
  if (options.pad && !special.pad)
    return invalid_argument(std::string("padding was asked for, but the ") + std::string(tokenizer.type_name()) +
                            " tokenizer has no [PAD] token");
  const int64_t n_special = pair ? 3 : 2;
  if (options.max_length < n_special)
    return invalid_argument("max_length is " + std::to_string(options.max_length) + "; it must be at least " +
                            std::to_string(n_special) + " to hold [CLS] and the [SEP] token" +
                            (pair ? "s of a text pair" : ""));
  LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> a, tokenizer.encode(text));
  std::vector<int32_t> b;
  if (pair) {
    StatusOr<std::vector<int32_t>> encoded = tokenizer.encode(*pair);
    if (!encoded.ok()) return encoded.status().with_context("the second text of the pair");
    b = std::move(encoded).value();
  }
  BertEncoding e;
  const int64_t budget = options.max_length - n_special;
  auto len = [](const std::vector<int32_t>& v) { return static_cast<int64_t>(v.size()); };
  if (len(a) + len(b) > budget) {
    // Shorter s and longer l (the first text counts as shorter when they are equal).
    const bool swap = len(a) > len(b);
    int64_t s = swap ? len(b) : len(a), l = swap ? len(a) : len(b);
    if (s <= budget / 2) {
      l = budget - s;  // only the longer one is cut
    } else {
      s = budget / 2;  // both are cut; the longer one keeps the odd token
      l = s + budget % 2;
    }
    const int64_t keep_a = swap ? l : s, keep_b = swap ? s : l;
    e.truncated = len(a) - keep_a + len(b) - keep_b;
    a.resize(static_cast<size_t>(keep_a));
    b.resize(static_cast<size_t>(keep_b));
  }
  const size_t total = static_cast<size_t>(options.pad ? options.max_length : len(a) + len(b) + n_special);
  e.ids.reserve(total);
  e.ids.push_back(*special.cls);
  e.ids.insert(e.ids.end(), a.begin(), a.end());
  e.ids.push_back(*special.sep);
  e.token_type_ids.assign(e.ids.size(), 0);
  if (pair) {
    e.ids.insert(e.ids.end(), b.begin(), b.end());
    e.ids.push_back(*special.sep);
    e.token_type_ids.resize(e.ids.size(), 1);
  }
  e.attention_mask.assign(e.ids.size(), 1);
  if (options.pad) {
    e.ids.resize(total, *special.pad);
    e.token_type_ids.resize(total, 0);
    e.attention_mask.resize(total, 0);
  }
  return e;
}

}  // namespace loom
