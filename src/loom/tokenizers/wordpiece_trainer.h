// Training a WordPiece vocabulary from text, the way Hugging Face's WordPieceTrainer does:
// BPE whose symbols carry WordPiece's continuation prefix. Text is normalized and split into
// words by BERT's normalizer and pre-tokenizer (WordPieceOptions: lower-casing, accents, CJK
// characters as words of their own); each distinct word is counted. A word starts as its first
// character followed by "##"-prefixed characters ("play" -> p ##l ##a ##y); the merge learner
// (merge_learner.h, the same tie rule as the byte-level trainer) joins the most frequent
// adjacent pair, dropping the right side's "##" ("p" + "##l" -> "pl", "##a" + "##y" -> "##ay").
// The vocabulary is the special tokens, then every initial symbol (sorted by bytes), then the
// merged tokens in merge order. Training stops at vocab_size, when no pair is left, or when the
// best pair is rarer than min_frequency. Deterministic.
//
//   WordPieceTrainerOptions o;
//   o.vocab_size = 8000;
//   LOOM_ASSIGN_OR_RETURN(WordPiece wp, train_wordpiece_files({"corpus.txt"}, o, nullptr));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loom/base/status.h"
#include "loom/tokenizers/bpe_trainer.h"
#include "loom/tokenizers/wordpiece.h"

namespace loom {

struct WordPieceTrainerOptions {
  // Size of the vocabulary: special tokens + alphabet + merges. REQUIRES: > special tokens.
  int32_t vocab_size = 30000;
  // A pair is merged only if it occurs at least this often. REQUIRES: >= 1.
  int64_t min_frequency = 2;
  // Characters seen fewer times than this are left out of the alphabet (words holding them
  // then encode as [UNK]). REQUIRES: >= 1.
  int64_t min_char_frequency = 1;
  // First in the vocabulary, in this order; must include options.unk_token.
  std::vector<std::string> special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  // Normalizer, pre-tokenizer and model settings of the trained tokenizer.
  WordPieceOptions tokenizer;

  Status validate() const;
};

// Errors: invalid options, unreadable files (named), invalid UTF-8 (file and byte offset), an
// empty corpus, a vocab_size smaller than the special tokens plus the alphabet.
StatusOr<WordPiece> train_wordpiece_files(const std::vector<std::string>& paths, const WordPieceTrainerOptions& options,
                                          BpeTrainingReport* report);

}  // namespace loom
