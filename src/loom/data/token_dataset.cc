// Token split and window sampling.
#include "loom/data/token_dataset.h"

#include "loom/base/rng.h"

namespace loom::data {

StatusOr<TokenSplit> split_tokens(std::vector<int32_t> tokens, double val_fraction, int64_t block_size,
                                  const std::string& source) {
  if (!(val_fraction > 0.0 && val_fraction < 1.0))
    return invalid_argument("val_fraction is " + std::to_string(val_fraction) + "; it must be in (0, 1)");
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t n_train = static_cast<int64_t>(static_cast<double>(n) * (1.0 - val_fraction));
  const int64_t need = block_size + 1;
  if (n_train < need || n - n_train < need) {
    const int64_t min_total = static_cast<int64_t>(static_cast<double>(need) / std::min(val_fraction, 1.0 - val_fraction)) + 1;
    return invalid_argument("corpus '" + source + "' has " + std::to_string(n) +
                            " tokens; with block_size " + std::to_string(block_size) + " and val_fraction " +
                            std::to_string(val_fraction) + " each split needs at least " + std::to_string(need) +
                            " tokens, so about " + std::to_string(min_total) +
                            " in total. Use a longer text or a smaller block_size");
  }
  TokenSplit s;
  s.val.assign(tokens.begin() + n_train, tokens.end());
  tokens.resize(static_cast<size_t>(n_train));
  s.train = std::move(tokens);
  return s;
}

void VectorStream::read(uint64_t start, uint64_t n, int32_t* out) const {
  LOOM_CHECK_LE(start + n, ids_->size());
  std::copy(ids_->begin() + static_cast<int64_t>(start), ids_->begin() + static_cast<int64_t>(start + n), out);
}

WindowSampler::WindowSampler(const TokenStream* tokens, int64_t batch_size, int64_t block_size, uint64_t seed)
    : tokens_(tokens), batch_size_(batch_size), block_size_(block_size), seed_(seed) {
  LOOM_CHECK_GT(static_cast<int64_t>(tokens->size()), block_size);
}

int64_t WindowSampler::num_windows() const { return static_cast<int64_t>(tokens_->size()) - block_size_; }

void WindowSampler::batch(uint64_t batch_index, Batch* out) const {
  out->batch_size = batch_size_;
  out->block_size = block_size_;
  out->inputs.resize(static_cast<size_t>(batch_size_ * block_size_));
  out->targets.resize(out->inputs.size());
  const uint64_t range = static_cast<uint64_t>(num_windows());
  std::vector<int32_t> window(static_cast<size_t>(block_size_ + 1));
  for (int64_t b = 0; b < batch_size_; ++b) {
    const uint64_t h = mix64(seed_ ^ mix64(batch_index * static_cast<uint64_t>(batch_size_) + static_cast<uint64_t>(b)));
    tokens_->read(h % range, static_cast<uint64_t>(block_size_ + 1), window.data());
    std::copy(window.begin(), window.end() - 1, out->inputs.begin() + b * block_size_);
    std::copy(window.begin() + 1, window.end(), out->targets.begin() + b * block_size_);
  }
}

}  // namespace loom::data
