// Corpus preparation: text files (plain text, or JSONL with a text field) are streamed in
// chunks, tokenized in parallel, and written as token shards plus a validation split, with
// the tokenizer's end-of-text id between documents. Memory use is bounded by the chunk
// size, so corpora larger than RAM work. Output directory:
//   train_00000.bin ...  val_00000.bin ...  tokenizer.json  meta.json
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "loom/base/status.h"
#include "loom/tokenizers/tokenizer.h"

namespace loom::data {

enum class InputFormat { kAuto, kText, kJsonl };

struct PrepareOptions {
  // Text or JSONL files, read in order.
  std::vector<std::string> inputs;
  // kAuto: ".jsonl" files are JSONL, everything else plain text.
  InputFormat format = InputFormat::kAuto;
  // The field of each JSONL object that holds the document text.
  std::string jsonl_field = "text";
  std::string out_dir;
  // The last fraction of the corpus (by bytes) becomes the validation split. REQUIRES: [0, 1).
  double val_fraction = 0.1;
  // Ids per shard file before a new one is started.
  uint64_t shard_tokens = 100'000'000;
  // Bytes of text tokenized per parallel work item.
  size_t chunk_bytes = 1 << 20;

  Status validate() const;
};

struct PrepareResult {
  uint64_t documents = 0;
  uint64_t bytes = 0;
  uint64_t train_tokens = 0;
  uint64_t val_tokens = 0;
  std::vector<std::string> shards;
  double seconds = 0;
};

// Progress callback: (bytes done, bytes total).
using PrepareProgress = std::function<void(uint64_t, uint64_t)>;

StatusOr<PrepareResult> prepare_corpus(const Tokenizer& tokenizer, const PrepareOptions& options,
                                       const PrepareProgress& progress = nullptr);

// Where to cut plain text so that tokenization of the pieces equals tokenization of the
// whole for GPT-2-style pre-tokenizers: after a lone '\n' with a non-whitespace character
// on each side. Returns a position in (0, text.size()] no later than `max`, or
// text.size() if no cut point exists before it.
size_t safe_cut(std::string_view text, size_t max);

}  // namespace loom::data
