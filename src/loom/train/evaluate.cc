// Whole-text evaluation.
#include "loom/train/evaluate.h"

#include <chrono>
#include <cmath>

#include "loom/autograd/tape.h"

namespace loom::train {

StatusOr<TextEvalResult> evaluate_text(models::GPT& model, const Tokenizer& tokenizer, const std::string& text,
                                       int64_t batch_size, const std::string& source) {
  if (batch_size <= 0) return invalid_argument("batch_size is " + std::to_string(batch_size) + "; it must be > 0");
  const auto t0 = std::chrono::steady_clock::now();
  auto enc = tokenizer.encode(text);
  if (!enc.ok()) return enc.status().with_context("tokenizing '" + source + "'");
  const std::vector<int32_t>& ids = *enc;
  if (ids.size() < 2)
    return invalid_argument("'" + source + "' has " + std::to_string(ids.size()) +
                            " tokens; at least 2 are needed to measure a loss");
  for (int32_t id : ids)
    if (id >= model.config().vocab_size)
      return invalid_argument("token id " + std::to_string(id) + " is outside the model's vocab_size " +
                              std::to_string(model.config().vocab_size));
  const int64_t T = model.config().block_size;
  const int64_t n = static_cast<int64_t>(ids.size());
  // Window w covers inputs [w*T, w*T + len) and targets shifted by one.
  const int64_t n_windows = (n - 1 + T - 1) / T;
  model.set_training(false);
  Arena arena;
  Tape tape(&arena, false);
  double nll_sum = 0;
  int64_t counted = 0;
  for (int64_t w0 = 0; w0 < n_windows; w0 += batch_size) {
    const int64_t nb = std::min(batch_size, n_windows - w0);
    Tensor inp = Tensor::empty({nb, T}, DType::kI32, &arena);
    Tensor tgt = Tensor::empty({nb * T}, DType::kI32, &arena);
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t t = 0; t < T; ++t) {
        const int64_t pos = (w0 + b) * T + t;
        const bool valid = pos + 1 < n;
        inp.i32()[b * T + t] = valid ? ids[static_cast<size_t>(pos)] : 0;
        tgt.i32()[b * T + t] = valid ? ids[static_cast<size_t>(pos + 1)] : -1;
        counted += valid;
      }
    // The op returns the mean over valid targets; weight it back to a sum.
    int64_t valid_here = 0;
    for (int64_t i = 0; i < nb * T; ++i) valid_here += tgt.i32()[i] >= 0;
    nll_sum += static_cast<double>(model.loss(tape, inp, tgt).value().f32()[0]) * static_cast<double>(valid_here);
    arena.reset();
  }
  TextEvalResult r;
  r.tokens = counted;
  r.loss = nll_sum / static_cast<double>(counted);
  r.perplexity = std::exp(r.loss);
  r.bits_per_byte = nll_sum / std::log(2.0) / static_cast<double>(text.size());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace loom::train
