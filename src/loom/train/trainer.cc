// Training loop implementation.
#include "loom/train/trainer.h"

#include <cmath>
#include <memory>

#include "loom/base/clock.h"
#include "loom/autograd/tape.h"
#include "loom/base/file.h"
#include "loom/base/threads.h"
#include "loom/data/token_dataset.h"
#include "loom/data/token_shards.h"
#include "loom/io/gguf_tokenizer.h"
#include "loom/io/model_dir.h"
#include "loom/tokenizers/char_tokenizer.h"
#include "loom/train/plot.h"
#include "loom/train/progress.h"
#include "loom/train/training_state.h"

namespace loom::train {

using nlohmann::json;

namespace {

double now() { return monotonic_seconds(); }

constexpr char kStateFormat[] = "loom-training-state-1";
constexpr uint64_t kEvalSeedSalt = 0x6576616cULL;  // eval batches are fixed per split

// Everything the loop works on.
struct Run {
  TrainConfig config;
  std::unique_ptr<Tokenizer> tokenizer;
  data::TokenSplit split;  // text input: the encoded corpus
  std::unique_ptr<data::TokenStream> train_stream, val_stream;
  std::unique_ptr<models::GPT> model;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::string state_path;
};

Status save_checkpoint(Run& run, int64_t next_step) {
  // The state file first: it alone is what --resume reads, and it is written atomically.
  LOOM_RETURN_IF_ERROR(write_training_state(run.state_path, kStateFormat, next_step, run.model->named_parameters(),
                                            *run.optimizer, io::gpt_config_to_json(run.model->config()).dump(),
                                            {{"train_config", config_to_json(run.config).dump()}}));
  return io::save_model_dir(run.config.out_dir, *run.model, *run.tokenizer).with_context("saving model");
}

// Restores weights, optimizer state and the step counter; returns the step to continue at.
StatusOr<int64_t> load_checkpoint(Run& run) {
  return read_training_state(run.state_path, kStateFormat, io::gpt_config_to_json(run.model->config()).dump(),
                             run.model->named_parameters(), *run.optimizer);
}

// Mean loss over eval_iters fixed batches of one split, in inference mode.
float estimate_loss(Run& run, const data::TokenStream& tokens, uint64_t salt) {
  const TrainConfig& c = run.config;
  data::WindowSampler sampler(&tokens, c.batch_size, c.model.block_size, static_cast<uint64_t>(c.seed) ^ salt);
  Arena arena;
  Tape tape(&arena, false);
  tape.set_matmul_precision(c.matmul);
  run.model->set_training(false);
  Tensor ids = Tensor::empty({c.batch_size, c.model.block_size}, DType::kI32);
  Tensor targets = Tensor::empty({c.batch_size * c.model.block_size}, DType::kI32);
  data::Batch batch;
  double sum = 0;
  for (int64_t i = 0; i < c.eval_iters; ++i) {
    sampler.batch(static_cast<uint64_t>(i), &batch);
    std::copy(batch.inputs.begin(), batch.inputs.end(), ids.i32());
    std::copy(batch.targets.begin(), batch.targets.end(), targets.i32());
    sum += run.model->loss(tape, ids, targets).value().f32()[0];
    tape.reset();
  }
  run.model->set_training(true);
  return static_cast<float>(sum / static_cast<double>(c.eval_iters));
}

// --data is a directory written by `loom prepare`: memory-map its shards.
Status open_prepared(Run& run) {
  TrainConfig& c = run.config;
  LOOM_ASSIGN_OR_RETURN(std::vector<data::Shard> train, data::open_split(c.data, "train"));
  LOOM_ASSIGN_OR_RETURN(std::vector<data::Shard> val, data::open_split(c.data, "val"));
  for (const auto* split : {&train, &val})
    for (const auto& s : *split)
      if (s.header().vocab_size > static_cast<uint32_t>(run.tokenizer->vocab_size()))
        return invalid_argument("shard '" + s.path() + "' was written with a vocabulary of " +
                                std::to_string(s.header().vocab_size) + " ids but the tokenizer has " +
                                std::to_string(run.tokenizer->vocab_size()) + "; prepare the data with this tokenizer");
  run.train_stream = std::make_unique<data::ShardStream>(std::move(train));
  run.val_stream = std::make_unique<data::ShardStream>(std::move(val));
  const uint64_t need = static_cast<uint64_t>(c.model.block_size) + 1;
  if (run.train_stream->size() < need || run.val_stream->size() < need)
    return invalid_argument("prepared data '" + c.data + "' has " + std::to_string(run.train_stream->size()) + " train and " +
                            std::to_string(run.val_stream->size()) + " val tokens; each split needs at least block_size + 1 = " +
                            std::to_string(need));
  return ok_status();
}

Status prepare(Run& run, bool resume) {
  TrainConfig& c = run.config;
  const bool prepared = is_directory(c.data);
  if (prepared && !file_exists(join_path(c.data, "meta.json")))
    return invalid_argument("training data '" + c.data +
                            "' is a directory without meta.json; give a text file, or a directory written by 'loom prepare'");
  std::string text;
  if (!prepared) {
    LOOM_ASSIGN_OR_RETURN(text, read_file(c.data));
    if (text.empty()) return invalid_argument("training data '" + c.data + "' is empty; give a text file with content");
  } else if (c.tokenizer == "char") {
    c.tokenizer = join_path(c.data, "tokenizer.json");  // the tokenizer the shards were made with
  }
  run.state_path = join_path(c.out_dir, kTrainingStateFileName);
  if (resume) {
    if (!file_exists(run.state_path))
      return not_found("cannot resume: no checkpoint '" + run.state_path + "'; run without --resume to start training");
    LOOM_ASSIGN_OR_RETURN(run.tokenizer, load_tokenizer(c.out_dir));
  } else {
    if (file_exists(run.state_path))
      return failed_precondition("run directory '" + c.out_dir +
                                 "' already holds a checkpoint; pass --resume to continue it, or choose another --out_dir");
    if (c.tokenizer == "char" && !prepared) {
      auto tok = CharTokenizer::train(text);
      if (!tok.ok()) return tok.status().with_context("building a character vocabulary from '" + c.data + "'");
      run.tokenizer = std::make_unique<CharTokenizer>(std::move(tok).value());
    } else {
      LOOM_ASSIGN_OR_RETURN(run.tokenizer, load_tokenizer_any(c.tokenizer));
    }
  }
  if (c.model.vocab_size == 0) c.model.vocab_size = run.tokenizer->vocab_size();
  if (c.model.vocab_size < run.tokenizer->vocab_size())
    return invalid_argument("vocab_size is " + std::to_string(c.model.vocab_size) + " but the tokenizer has " +
                            std::to_string(run.tokenizer->vocab_size()) + " tokens; set vocab_size 0 to take the tokenizer's");
  if (prepared) {
    LOOM_RETURN_IF_ERROR(open_prepared(run));
  } else {
    auto ids = run.tokenizer->encode(text);
    if (!ids.ok()) return ids.status().with_context("tokenizing '" + c.data + "'");
    LOOM_ASSIGN_OR_RETURN(run.split, data::split_tokens(std::move(ids).value(), c.val_fraction, c.model.block_size, c.data));
    run.train_stream = std::make_unique<data::VectorStream>(&run.split.train);
    run.val_stream = std::make_unique<data::VectorStream>(&run.split.val);
  }
  run.model = std::make_unique<models::GPT>(c.model);
  Rng init_rng(static_cast<uint64_t>(c.seed));
  run.model->init_weights(init_rng);
  run.optimizer = std::make_unique<optim::Optimizer>(c.optimizer, run.model->named_parameters(),
                                                     run.model->parameter_kinds());
  return ok_status();
}

}  // namespace

StatusOr<TrainResult> run_training(const TrainConfig& config_in, bool resume, const TrainHooks& hooks) {
  Run run;
  run.config = config_in;
  TrainConfig& c = run.config;
  LOOM_RETURN_IF_ERROR(c.validate());
  if (c.schedule.decay_iters == 0) c.schedule.decay_iters = c.max_iters;
  if (c.checkpoint_interval == 0) c.checkpoint_interval = c.eval_interval;
  if (c.threads > 0) set_num_threads(static_cast<int>(c.threads));
  LOOM_RETURN_IF_ERROR(make_directories(c.out_dir));
  LOOM_RETURN_IF_ERROR(prepare(run, resume));
  int64_t start_step = 0;
  if (resume) {
    LOOM_ASSIGN_OR_RETURN(start_step, load_checkpoint(run));
  }

  const std::string metrics_path = join_path(c.out_dir, kMetricsFileName);
  const json resolved = config_to_json(c);
  LOOM_RETURN_IF_ERROR(write_file_atomic(join_path(c.out_dir, kTrainConfigFileName), resolved.dump(2) + "\n"));
  std::unique_ptr<Progress> progress;
  if (hooks.progress) {
    progress = std::make_unique<Progress>(hooks.progress, hooks.interactive, c.max_iters);
    progress->line("config: " + resolved.dump());
    progress->line("model: " + std::to_string(run.model->num_parameters()) + " parameters; data: " +
                   std::to_string(run.train_stream->size()) + " train / " + std::to_string(run.val_stream->size()) +
                   " val tokens; " + std::to_string(num_threads()) + " threads" +
                   (resume ? "; resuming at step " + std::to_string(start_step) : ""));
  }

  const int64_t B = c.batch_size, T = c.model.block_size;
  data::WindowSampler sampler(run.train_stream.get(), B, T, static_cast<uint64_t>(c.seed));
  Arena arena;
  Tape tape(&arena, true);
  tape.set_matmul_precision(c.matmul);
  Tensor ids = Tensor::empty({B, T}, DType::kI32);
  Tensor targets = Tensor::empty({B * T}, DType::kI32);
  data::Batch batch;
  auto params = run.model->named_parameters();
  run.model->set_training(true);

  TrainResult result;
  const double t_start = now();
  double t_log = now();
  int64_t steps_since_log = 0;
  int64_t last_saved = start_step;
  double paused_seconds = 0;  // evaluation and checkpoints, excluded from tokens/s

  auto evaluate = [&](int64_t step) -> Status {
    const float tl = estimate_loss(run, *run.train_stream, kEvalSeedSalt);
    const float vl = estimate_loss(run, *run.val_stream, kEvalSeedSalt + 1);
    result.val_loss = vl;
    char buf[160];
    std::snprintf(buf, sizeof buf, "step %lld: train loss %.4f, val loss %.4f", static_cast<long long>(step), tl, vl);
    if (progress) progress->line(buf);
    json m = {{"event", "eval"}, {"step", step}, {"train_loss", tl}, {"val_loss", vl}, {"elapsed_s", now() - t_start}};
    return append_line(metrics_path, m.dump());
  };
  auto checkpoint = [&](int64_t next_step) -> Status {
    LOOM_RETURN_IF_ERROR(save_checkpoint(run, next_step));
    last_saved = next_step;
    // The loss plot is a convenience: a failure to draw it must not stop training.
    if (auto svg = loss_plot_svg(metrics_path, "loom train: " + c.out_dir); svg.ok()) {
      Status s = write_file_atomic(join_path(c.out_dir, kLossPlotFileName), *svg);
      if (!s.ok() && progress) progress->line("warning: " + s.message());
    }
    if (progress) progress->line("saved checkpoint at step " + std::to_string(next_step) + " in '" + c.out_dir + "'");
    return ok_status();
  };

  for (int64_t step = start_step; step < c.max_iters; ++step) {
    const double t_pause = now();
    if (step % c.eval_interval == 0) LOOM_RETURN_IF_ERROR(evaluate(step));
    if (step > start_step && step % c.checkpoint_interval == 0) LOOM_RETURN_IF_ERROR(checkpoint(step));
    t_log += now() - t_pause;  // tokens/s measures training steps only
    paused_seconds += now() - t_pause;

    const float lr = c.schedule.at(step);
    double loss_sum = 0;
    for (int64_t micro = 0; micro < c.grad_accum; ++micro) {
      const uint64_t index = static_cast<uint64_t>(step * c.grad_accum + micro);
      sampler.batch(index, &batch);
      std::copy(batch.inputs.begin(), batch.inputs.end(), ids.i32());
      std::copy(batch.targets.begin(), batch.targets.end(), targets.i32());
      tape.reset();
      tape.set_seed(mix64(static_cast<uint64_t>(c.seed) ^ mix64(index)));
      Variable loss = run.model->loss(tape, ids, targets);
      loss_sum += loss.value().f32()[0];
      tape.backward(loss, 1.0f / static_cast<float>(c.grad_accum));
    }
    tape.reset();
    const float loss = static_cast<float>(loss_sum / static_cast<double>(c.grad_accum));
    const double norm = optim::grad_norm(params);
    if (!std::isfinite(loss) || !std::isfinite(norm)) {
      if (progress) progress->finish();
      return failed_precondition("the loss became " + std::string(std::isfinite(loss) ? "finite but the gradient norm " : "") +
                                 (std::isnan(loss) || std::isnan(norm) ? "NaN" : "infinite") + " at step " +
                                 std::to_string(step) + "; training stopped without saving. The last good checkpoint (step " +
                                 std::to_string(last_saved) + ") in '" + c.out_dir +
                                 "' is kept. Try a lower --learning_rate or --grad_clip 1.0");
    }
    run.optimizer->step(lr, optim::clip_coefficient(norm, c.grad_clip));
    run.optimizer->zero_grad();
    result.last_loss = loss;
    result.steps_done = step + 1;
    if (hooks.on_step) hooks.on_step(step, loss);
    ++steps_since_log;

    if ((step + 1) % c.log_interval == 0 || step + 1 == c.max_iters) {
      const double dt = now() - t_log;
      const double tps = static_cast<double>(steps_since_log * B * T * c.grad_accum) / dt;
      if (progress) progress->update(step + 1, loss, lr, tps, dt / static_cast<double>(steps_since_log));
      json m = {{"event", "train"}, {"step", step + 1}, {"loss", loss}, {"lr", lr}, {"grad_norm", norm},
                {"tokens_per_sec", tps}, {"elapsed_s", now() - t_start}};
      LOOM_RETURN_IF_ERROR(append_line(metrics_path, m.dump()));
      t_log = now();
      steps_since_log = 0;
    }
    if (hooks.stop_requested && hooks.stop_requested->load()) {
      if (progress) progress->finish();
      LOOM_RETURN_IF_ERROR(checkpoint(step + 1));
      return cancelled("interrupted at step " + std::to_string(step + 1) + "; checkpoint saved in '" + c.out_dir +
                       "'. Continue with: loom train --out_dir " + c.out_dir + " --resume");
    }
  }
  if (progress) progress->finish();
  const double train_seconds = now() - t_start - paused_seconds;
  LOOM_RETURN_IF_ERROR(evaluate(c.max_iters));
  if (last_saved != c.max_iters) LOOM_RETURN_IF_ERROR(checkpoint(c.max_iters));
  result.seconds = now() - t_start;
  result.tokens_per_second =
      static_cast<double>((c.max_iters - start_step) * B * T * c.grad_accum) / std::max(train_seconds, 1e-9);
  return result;
}

}  // namespace loom::train
