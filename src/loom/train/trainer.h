// The training loop for causal language models: data preparation, evaluation, logging,
// checkpoints and exact resume.
//
// Run directory (TrainConfig::out_dir):
//   config.json, model.safetensors, tokenizer.json   the model (Hugging Face layout)
//   train_config.json                                 the resolved settings of the run
//   training_state.safetensors                        weights + optimizer moments + step,
//                                                     one file, written atomically
//   metrics.jsonl                                     one JSON object per log/eval event
//   loss.svg                                          the loss curves so far
//
// Resume reads only training_state.safetensors (plus the tokenizer), so the model files and
// the state can never disagree. Because batches are a function of (seed, batch index) and
// dropout masks of (seed, step), the losses after a resume equal those of an uninterrupted
// run bit for bit (same thread count).
#pragma once

#include <atomic>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "loom/base/status.h"
#include "loom/train/train_config.h"

namespace loom::train {

inline constexpr char kTrainingStateFileName[] = "training_state.safetensors";
inline constexpr char kTrainConfigFileName[] = "train_config.json";
inline constexpr char kMetricsFileName[] = "metrics.jsonl";

struct TrainHooks {
  // Polled after every step; when it becomes true the trainer saves a checkpoint and
  // returns a `cancelled` status. (The CLI sets it from SIGINT.)
  const std::atomic<bool>* stop_requested = nullptr;
  // Where progress goes; null = silent.
  std::FILE* progress = stdout;
  bool interactive = false;
  // Called with the loss of every optimizer step (for tests).
  std::function<void(int64_t step, float loss)> on_step;
};

struct TrainResult {
  int64_t steps_done = 0;
  float last_loss = 0;
  float val_loss = 0;   // last evaluation
  double tokens_per_second = 0;  // over the training steps of this invocation (eval excluded)
  double seconds = 0;
};

// Runs (or, with resume, continues) the training described by `config`.
// Errors: unreadable or too-short data, invalid settings, a checkpoint that does not match
// the config, NaN loss (the last good checkpoint is kept), a failed checkpoint write.
StatusOr<TrainResult> run_training(const TrainConfig& config, bool resume, const TrainHooks& hooks);

}  // namespace loom::train
