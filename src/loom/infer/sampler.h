// Next-token sampling from a row of logits: repetition penalty, temperature, top-k, top-p
// (nucleus), or greedy argmax when temperature is 0. All randomness comes from the Rng
// passed in, so a seed fixes the whole generation.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "loom/base/rng.h"
#include "loom/base/status.h"

namespace loom::infer {

struct SamplingOptions {
  // 0 = greedy (argmax). REQUIRES: >= 0.
  float temperature = 0.8f;
  // Keep only the k most likely tokens; 0 = no limit. REQUIRES: >= 0.
  int64_t top_k = 0;
  // Keep the smallest set of tokens whose probability reaches top_p; 1 = no limit.
  // REQUIRES: (0, 1].
  float top_p = 1.0f;
  // CTRL-style penalty on tokens already present in the context: positive logits are
  // divided by it, negative ones multiplied. 1 = off. REQUIRES: > 0.
  float repetition_penalty = 1.0f;

  Status validate() const;
};

// Picks a token id from `logits` (V). `history` are the ids seen so far (for the
// repetition penalty). `scratch` is reused between calls to avoid allocation.
int32_t sample_token(std::span<const float> logits, std::span<const int32_t> history,
                     const SamplingOptions& options, Rng& rng, std::vector<float>* scratch);

}  // namespace loom::infer
