// Training a byte-level BPE tokenizer from text, GPT-2 style.
//
// Phase 1 counts pre-tokens: the corpus is cut into pieces by the pre-tokenizer and each
// distinct piece is counted, so memory grows with the number of distinct pieces, not with
// the corpus. Files are streamed in blocks cut at pre-token-safe places (find_safe_cut), and
// the blocks are counted in parallel (base/threads.h), one table per thread, merged at the end.
//
// Phase 2 learns merges over that word-count table. Every word starts as its bytes (ids 0..255
// in GPT-2's byte order); a table holds the count of every adjacent pair (weighted by word
// count) and, per pair, the words it occurs in. Each step takes the best pair from a max-heap,
// rewrites only the words that contain it, and updates the counts of only the pairs around each
// rewritten occurrence — no recount of the corpus. Heap entries whose count has changed since
// they were pushed are re-pushed with the current count when they surface (counts of old pairs
// only fall; pairs whose count rises are pushed anew), so the top is always exact.
//
// Tie rule, for a deterministic result: the pair with the highest count wins; among equal
// counts, the pair whose left token's bytes are lexicographically smallest (as unsigned bytes),
// then whose right token's bytes are smallest. A merge whose bytes are already a token reuses
// that token's id, as Hugging Face's trainer does (a safeguard: merges only ever join whole
// symbols left to right, and random searches have not produced such a corpus).
//
// Ids: 0..255 the single bytes in GPT-2's order, then the merged tokens in merge order, then the
// special tokens (GPT-2 puts "<|endoftext|>" last). Training stops when the vocabulary reaches
// vocab_size, when no pair is left, or when the best pair occurs fewer than min_frequency times.
//
//   BpeTrainerOptions options{.vocab_size = 1000, .special_tokens = {"<|endoftext|>"}};
//   LOOM_ASSIGN_OR_RETURN(ByteLevelBpe tok, train_byte_level_bpe_files({"input.txt"}, options));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loom/base/status.h"
#include "loom/tokenizers/byte_level_bpe.h"
#include "loom/tokenizers/pre_tokenizer.h"

namespace loom {

struct BpeTrainerOptions {
  // Size of the vocabulary to build: 256 byte tokens + merges + special tokens. REQUIRES:
  // >= 256 + special_tokens.size(). Default: 1000.
  int32_t vocab_size = 1000;
  // A pair is merged only if it occurs at least this many times (over the whole corpus, each
  // word weighted by its count); training stops early otherwise. REQUIRES: >= 1. Default: 2.
  int64_t min_frequency = 2;
  // Tokens appended after the merges, in this order, e.g. {"<|endoftext|>"}. They are matched
  // only by encode_with_special(). Each must be non-empty UTF-8, distinct, and not the
  // spelling of a learned token.
  std::vector<std::string> special_tokens = {};
  PreTokenizerKind pre_tokenizer = PreTokenizerKind::kGpt2;

  Status validate() const;
};

// What a training run did, for logs and benchmarks.
struct BpeTrainingReport {
  int64_t input_bytes = 0;
  int64_t pre_tokens = 0;           // pieces counted
  int64_t distinct_pre_tokens = 0;  // words in the table
  int32_t merges = 0;
  std::string stop_reason;          // "vocab_size reached", "no pairs left", "min_frequency"
  double count_seconds = 0;
  double merge_seconds = 0;
};

// (piece, count): the word-count table of phase 1, sorted by piece bytes.
using PreTokenCounts = std::vector<std::pair<std::string, int64_t>>;

// Phase 1 on texts in memory / on files (streamed). File errors name the path.
StatusOr<PreTokenCounts> count_pre_tokens(std::span<const std::string_view> texts, PreTokenizerKind kind,
                                          BpeTrainingReport* report = nullptr);
StatusOr<PreTokenCounts> count_pre_tokens_in_files(std::span<const std::string> paths, PreTokenizerKind kind,
                                                   BpeTrainingReport* report = nullptr);

// Phase 2 on a word-count table (counts must be positive; pieces non-empty and distinct).
StatusOr<ByteLevelBpe> train_byte_level_bpe_from_counts(const PreTokenCounts& counts, const BpeTrainerOptions& options,
                                                        BpeTrainingReport* report = nullptr);

// Both phases. Errors: invalid options, unreadable files, an empty corpus.
StatusOr<ByteLevelBpe> train_byte_level_bpe(std::span<const std::string_view> texts, const BpeTrainerOptions& options,
                                            BpeTrainingReport* report = nullptr);
StatusOr<ByteLevelBpe> train_byte_level_bpe_files(std::span<const std::string> paths, const BpeTrainerOptions& options,
                                                  BpeTrainingReport* report = nullptr);

}  // namespace loom
