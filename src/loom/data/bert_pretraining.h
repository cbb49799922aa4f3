// Masked-LM + next-sentence pretraining data, as BERT's create_pretraining_data does it.
//
// Corpus: documents of sentences. Text files are read as BERT's format: one sentence (or
// segment) per line, a blank line between documents; lines that hold several sentences are
// split after ". ", "! ", "? " and after the CJK marks "。！？".
//
// Instances (pairs) are made per document and epoch: sentences are packed into segment A
// until a target length (max_seq_len - 3, or with probability short_seq_prob a random
// shorter one) is reached; A takes a random prefix of the packed sentences; B is the rest
// (label 0, "is next") or, half of the time or when there is only one packed sentence, a
// run of sentences from another random document (label 1, "random"; the unused sentences
// go back to be packed next). The pair is trimmed to max_seq_len - 3 tokens by cutting the
// longer side, from its front or back at random.
//
// Masking is dynamic: every (epoch, instance) draws its own. 15% of the tokens (at least
// one, at most max_predictions) are chosen among all but [CLS]/[SEP] (with whole-word
// masking, a word and its "##" pieces together), then 80% become [MASK], 10% a random
// token, 10% stay. Everything is a pure function of (seed, epoch, index), so a resumed run
// sees exactly the same batches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loom/base/status.h"
#include "loom/tokenizers/tokenizer.h"

namespace loom::data {

// A document: its sentences as token ids (no special tokens).
using Document = std::vector<std::vector<int32_t>>;

struct PretrainCorpusStats {
  int64_t documents = 0;
  int64_t sentences = 0;
  int64_t tokens = 0;
};

// Reads BERT-format text files (see the file comment) and tokenizes every sentence.
// Errors name the file: unreadable, invalid UTF-8 (with the line), or no sentence at all.
StatusOr<std::vector<Document>> read_pretraining_documents(const std::vector<std::string>& paths,
                                                           const Tokenizer& tokenizer, PretrainCorpusStats* stats);

// One line's sentences (split after ". ", "! ", "? ", "。", "！", "？"), trimmed, empty ones dropped.
std::vector<std::string> split_sentences(const std::string& line);

struct PretrainOptions {
  int64_t max_seq_len = 128;
  // Chance of a shorter random target length (BERT: 0.1).
  float short_seq_prob = 0.1f;
  float mask_prob = 0.15f;
  int64_t max_predictions = 20;
  bool whole_word_masking = false;
  // Next-sentence pairs; without NSP every instance is a single segment A.
  bool nsp = true;
  uint64_t seed = 1234;
};

struct PretrainInstance {
  std::vector<int32_t> ids;          // [CLS] A [SEP] B [SEP], masked
  std::vector<int32_t> token_types;  // 0 for [CLS] A [SEP], 1 for B [SEP]
  std::vector<int32_t> positions;    // masked positions, ascending
  std::vector<int32_t> labels;       // original ids at those positions
  int32_t is_random_next = 0;
};

// The special-token ids the pipeline needs; errors if the tokenizer lacks one.
struct BertSpecialIds {
  int32_t cls = 0, sep = 0, mask = 0, pad = 0;
  int32_t vocab_size = 0;
  static StatusOr<BertSpecialIds> from(const Tokenizer& tokenizer);
};

// Builds one epoch's instances from `docs` (deterministic in options.seed and epoch).
// `continues_word[id]` is true for "##" pieces (used by whole-word masking; may be empty).
std::vector<PretrainInstance> make_instances(const std::vector<Document>& docs, const PretrainOptions& options,
                                             const BertSpecialIds& special, const std::vector<bool>& continues_word,
                                             int64_t epoch);

// For each id of `tokenizer`, whether it is a word continuation ("##..." for WordPiece).
std::vector<bool> continuation_pieces(const Tokenizer& tokenizer);

// A padded batch of instances (B, T) with T the longest instance.
struct PretrainBatch {
  int64_t batch = 0, seq_len = 0;
  std::vector<int32_t> ids, token_types, attention_mask;  // B * T
  std::vector<int32_t> mlm_positions;                     // flat b * T + t
  std::vector<int32_t> mlm_labels;
  std::vector<int32_t> nsp_labels;                        // B
};
PretrainBatch collate(const std::vector<PretrainInstance>& instances, size_t begin, size_t end, int32_t pad_id);

}  // namespace loom::data
