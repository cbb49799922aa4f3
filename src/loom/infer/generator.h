// Text generation with a GPT: encode the prompt, prefill the KV cache with it, then sample
// one token at a time, streaming text to a callback as soon as it is complete UTF-8 and
// cannot be the start of a stop string. When the context fills up, the cache is rebuilt
// from the most recent half-context so generation can continue past block_size.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "loom/base/status.h"
#include "loom/infer/sampler.h"
#include "loom/models/gpt.h"
#include "loom/tokenizers/tokenizer.h"

namespace loom::infer {

struct GenerateOptions {
  // Number of tokens to generate at most. REQUIRES: >= 0.
  int64_t max_new_tokens = 256;
  SamplingOptions sampling;
  // Generation stops when the text produced contains one of these; the stop string itself
  // is not emitted.
  std::vector<std::string> stop;
  // Stop at the tokenizer's end-of-text token, if it has one.
  bool stop_at_eos = true;
  uint64_t seed = 1337;
  // false recomputes the whole context for each token (slow; for testing the cache).
  bool use_kv_cache = true;
  // Pass the prompt itself to the text callback first (once it has been validated).
  bool echo_prompt = false;

  Status validate() const;
};

struct GenerateResult {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> new_ids;
  std::string text;  // what was emitted (prompt excluded)
  std::string stop_reason;  // "length", "stop", "eos"
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

// Errors: empty prompt, a prompt the tokenizer cannot encode, a prompt longer than the
// model's context (message gives both lengths).
StatusOr<GenerateResult> generate(models::GPT& model, const Tokenizer& tokenizer, const std::string& prompt,
                                  const GenerateOptions& options,
                                  const std::function<void(const std::string&)>& on_text = nullptr);

}  // namespace loom::infer
