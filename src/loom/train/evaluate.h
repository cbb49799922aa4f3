// Loss and perplexity of a causal LM over a whole text: the token stream is cut into
// consecutive windows of block_size + 1 tokens overlapping by one (so every token after the
// first is predicted exactly once), evaluated in batches without recording gradients.
#pragma once

#include <string>

#include "loom/base/status.h"
#include "loom/models/gpt.h"
#include "loom/tokenizers/tokenizer.h"

namespace loom::train {

struct TextEvalResult {
  int64_t tokens = 0;      // predicted tokens
  double loss = 0;         // mean negative log-likelihood per token (nats)
  double perplexity = 0;   // exp(loss)
  double bits_per_byte = 0;
  double seconds = 0;
};

// Errors: text the tokenizer cannot encode, fewer than 2 tokens.
StatusOr<TextEvalResult> evaluate_text(models::GPT& model, const Tokenizer& tokenizer, const std::string& text,
                                       int64_t batch_size, const std::string& source);

}  // namespace loom::train
