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

// A read-only sequence of token ids: an in-memory vector or memory-mapped shards.
class TokenStream {
 public:
  virtual ~TokenStream() = default;
  virtual uint64_t size() const = 0;
  // Copies ids [start, start + n). REQUIRES: start + n <= size().
  virtual void read(uint64_t start, uint64_t n, int32_t* out) const = 0;
};

class VectorStream final : public TokenStream {
 public:
  explicit VectorStream(const std::vector<int32_t>* ids) : ids_(ids) {}
  uint64_t size() const override { return ids_->size(); }
  void read(uint64_t start, uint64_t n, int32_t* out) const override;

 private:
  const std::vector<int32_t>* ids_;
};

// One batch: inputs (B * T) and next-token targets (B * T), row-major.
struct Batch {
  int64_t batch_size = 0;
  int64_t block_size = 0;
  std::vector<int32_t> inputs;
  std::vector<int32_t> targets;
};

// Random windows from one split. REQUIRES: tokens->size() > block_size.
class WindowSampler {
 public:
  WindowSampler(const TokenStream* tokens, int64_t batch_size, int64_t block_size, uint64_t seed);
  // The batch with index `batch_index` (0, 1, 2, ...): the same index always gives the same batch.
  void batch(uint64_t batch_index, Batch* out) const;
  // Number of distinct window starts.
  int64_t num_windows() const;

 private:
  const TokenStream* tokens_;
  int64_t batch_size_;
  int64_t block_size_;
  uint64_t seed_;
};

}  // namespace loom::data
