// Token datasets and deterministic batch sampling for causal language modelling.
//
// A TokenDataset is one long sequence of token ids (the encoded corpus), split into a
// training and a validation part. Batches are random windows, as in nanoGPT, but each
// window's start is a pure function of (seed, batch index, row): the sampler keeps no
// hidden state, so "where the data stream is" is just the batch counter, a checkpoint
// stores that one number, and a resumed run reads exactly the batches an uninterrupted run
// would have read, on any thread count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loom/base/status.h"

namespace loom::data {

struct TokenSplit {
  std::vector<int32_t> train;
  std::vector<int32_t> val;
};

// Splits `tokens` into the first (1 - val_fraction) for training and the rest for
// validation. Errors if either part is too short to hold one window of block_size + 1
// tokens (the message says how long the corpus is and how long it must be).
StatusOr<TokenSplit> split_tokens(std::vector<int32_t> tokens, double val_fraction, int64_t block_size,
                                  const std::string& source);

// One batch: inputs (B * T) and next-token targets (B * T), row-major.
struct Batch {
  int64_t batch_size = 0;
  int64_t block_size = 0;
  std::vector<int32_t> inputs;
  std::vector<int32_t> targets;
};

// Random windows from one split. REQUIRES: tokens.size() > block_size.
class WindowSampler {
 public:
  WindowSampler(const std::vector<int32_t>* tokens, int64_t batch_size, int64_t block_size, uint64_t seed);
  // The batch with index `batch_index` (0, 1, 2, ...): the same index always gives the same batch.
  void batch(uint64_t batch_index, Batch* out) const;
  // Number of distinct window starts.
  int64_t num_windows() const;

 private:
  const std::vector<int32_t>* tokens_;
  int64_t batch_size_;
  int64_t block_size_;
  uint64_t seed_;
};

}  // namespace loom::data
