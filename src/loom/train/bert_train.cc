// BERT pretraining, fine-tuning, prediction (see bert_train.h).
#include "loom/train/bert_train.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "loom/base/clock.h"
#include "loom/autograd/tape.h"
#include "loom/base/file.h"
#include "loom/base/rng.h"
#include "loom/base/threads.h"
#include "loom/io/bert_dir.h"
#include "loom/io/gguf_tokenizer.h"
#include "loom/io/model_dir.h"
#include "loom/optim/optimizer.h"
#include "loom/optim/schedule.h"
#include "loom/tokenizers/bert_encoding.h"
#include "loom/train/progress.h"
#include "loom/train/trainer.h"
#include "loom/train/training_state.h"

namespace loom::train {

using nlohmann::json;

namespace {

double now() { return monotonic_seconds(); }

constexpr char kBertStateFormat[] = "loom-bert-pretraining-state-1";
// Longer documents are cut into documents of this many sentences, so corpora written one
// sentence per line without blank lines still have other documents to draw random next
// segments from.
constexpr size_t kMaxDocumentSentences = 64;

Tensor i32_tensor(const std::vector<int64_t>& shape, const std::vector<int32_t>& values) {
  Tensor t = Tensor::empty(shape, DType::kI32);
  std::copy(values.begin(), values.end(), t.i32());
  return t;
}

optim::LrSchedule linear_schedule(float lr, int64_t warmup, int64_t total) {
  optim::LrSchedule s;
  s.type = optim::ScheduleType::kLinear;
  s.lr = lr;
  s.min_lr = 0.0f;
  s.warmup_iters = warmup;
  s.decay_iters = std::max<int64_t>(total, warmup + 1);
  return s;
}

optim::OptimizerOptions bert_adamw(float weight_decay) {
  optim::OptimizerOptions o;  // BERT's AdamW: beta2 0.999, eps 1e-6
  o.beta1 = 0.9f;
  o.beta2 = 0.999f;
  o.eps = 1e-6f;
  o.weight_decay = weight_decay;
  return o;
}

// The parameters that train (frozen ones excluded) and their kinds.
std::pair<nn::NamedParameters, std::vector<nn::ParamKind>> trainable(const nn::Module& m) {
  nn::NamedParameters params;
  std::vector<nn::ParamKind> kinds;
  auto all = m.named_parameters();
  auto all_kinds = m.parameter_kinds();
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].second.requires_grad()) {
      params.push_back(all[i]);
      kinds.push_back(all_kinds[i]);
    }
  return {params, kinds};
}

std::string nan_message(float loss, int64_t step, const std::string& out_dir) {
  return "the loss became " + std::string(std::isnan(loss) ? "NaN" : "infinite") + " at step " + std::to_string(step) +
         "; training stopped. The last good checkpoint in '" + out_dir + "' is kept. Try a lower learning rate";
}

}  // namespace

Status check_tokenizer_with_init(const std::string& init, const TokenizerSpec& tokenizer) {
  if (init.empty()) return ok_status();
  if (!tokenizer.path.empty())
    return invalid_argument("both --init ('" + init + "') and --tokenizer ('" + tokenizer.path +
                            "') given; a pretrained directory brings its own tokenizer, drop --tokenizer");
  if (tokenizer.lowercase.has_value())
    return invalid_argument("--cased was given with --init ('" + init +
                            "'); the directory's tokenizer decides case and accents (its tokenizer.json, or "
                            "do_lower_case in tokenizer_config.json), drop --cased");
  return ok_status();
}

StatusOr<std::unique_ptr<Tokenizer>> load_bert_tokenizer(const TokenizerSpec& spec) {
  if (spec.path.empty())
    return invalid_argument("no tokenizer given; pass --tokenizer with a BERT vocab.txt, a tokenizer.json or a model "
                            "directory");
  return load_tokenizer_any(spec.path, spec.lowercase);
}

Status BertPretrainConfig::validate() const {
  if (data.empty()) return invalid_argument("no pretraining text given; pass --data FILE (one sentence per line)");
  if (!mlm && !nsp) return invalid_argument("--objective names no objective; use mlm, nsp or mlm,nsp");
  LOOM_RETURN_IF_ERROR(require_positive("batch_size", batch_size));
  LOOM_RETURN_IF_ERROR(require_positive("max_steps", max_steps));
  LOOM_RETURN_IF_ERROR(require_positive("eval_interval", eval_interval));
  LOOM_RETURN_IF_ERROR(require_positive("eval_batches", eval_batches));
  LOOM_RETURN_IF_ERROR(require_positive("log_interval", log_interval));
  if (warmup_steps < 0 || warmup_steps >= max_steps)
    return invalid_argument("--warmup_steps is " + std::to_string(warmup_steps) +
                            "; it must be at least 0 and below --steps (" + std::to_string(max_steps) + ")");
  if (data_options.max_seq_len < 8 || data_options.max_seq_len > model.max_position_embeddings)
    return invalid_argument("max_seq_len is " + std::to_string(data_options.max_seq_len) +
                            "; it must be in [8, max_position_embeddings = " +
                            std::to_string(model.max_position_embeddings) + "]");
  if (!(data_options.mask_prob > 0 && data_options.mask_prob < 1))
    return invalid_argument("mask_prob is " + std::to_string(data_options.mask_prob) + "; it must be in (0, 1)");
  LOOM_RETURN_IF_ERROR(require_positive("max_predictions", data_options.max_predictions));
  if (!(val_fraction > 0 && val_fraction < 0.5))
    return invalid_argument("val_fraction is " + std::to_string(val_fraction) + "; it must be in (0, 0.5)");
  if (!(lr > 0)) return invalid_argument("learning rate is " + std::to_string(lr) + "; it must be > 0");
  models::BertConfig m = model;
  m.vocab_size = 1;
  m.pad_token_id = 0;
  return m.validate();
}

namespace {

// The training instances of every epoch, made on demand; batch i of the run is batch
// (i - first batch of its epoch) of its epoch.
class InstanceStream {
 public:
  InstanceStream(const std::vector<data::Document>* docs, data::PretrainOptions options, data::BertSpecialIds special,
                 std::vector<bool> continues, int64_t batch)
      : docs_(docs), options_(options), special_(special), continues_(std::move(continues)), batch_(batch) {}

  // The instances of batch `index` (0-based over the whole run).
  const std::vector<data::PretrainInstance>& epoch_for(int64_t index, size_t* begin) {
    while (index < epoch_first_ || index >= epoch_first_ + batches_in_epoch()) {
      if (index < epoch_first_) {  // only on a resume that goes back: restart counting
        epoch_ = -1;
        epoch_first_ = 0;
        instances_.clear();
      }
      epoch_first_ += epoch_ < 0 ? 0 : batches_in_epoch();
      ++epoch_;
      instances_ = data::make_instances(*docs_, options_, special_, continues_, epoch_);
      if (batches_in_epoch() == 0) LOOM_CHECK(false) << "an epoch without a full batch";
    }
    *begin = static_cast<size_t>((index - epoch_first_) * batch_);
    return instances_;
  }
  int64_t epoch() const { return epoch_; }
  int64_t batches_in_epoch() const { return static_cast<int64_t>(instances_.size()) / batch_; }

 private:
  const std::vector<data::Document>* docs_;
  data::PretrainOptions options_;
  data::BertSpecialIds special_;
  std::vector<bool> continues_;
  int64_t batch_;
  int64_t epoch_ = -1;
  int64_t epoch_first_ = 0;
  std::vector<data::PretrainInstance> instances_;
};

struct PretrainBatchTensors {
  models::BertInputs in;
  Tensor positions, labels, nsp;
  int64_t tokens = 0;
};

PretrainBatchTensors to_tensors(const data::PretrainBatch& b, bool mlm, bool nsp) {
  PretrainBatchTensors t;
  t.in.ids = i32_tensor({b.batch, b.seq_len}, b.ids);
  t.in.token_types = i32_tensor({b.batch, b.seq_len}, b.token_types);
  t.in.attention_mask = i32_tensor({b.batch, b.seq_len}, b.attention_mask);
  if (mlm) {
    t.positions = i32_tensor({static_cast<int64_t>(b.mlm_positions.size())}, b.mlm_positions);
    t.labels = i32_tensor({static_cast<int64_t>(b.mlm_labels.size())}, b.mlm_labels);
  }
  if (nsp) t.nsp = i32_tensor({b.batch}, b.nsp_labels);
  for (int32_t m : b.attention_mask) t.tokens += m;
  return t;
}

struct PretrainEval {
  float mlm_loss = 0, mlm_accuracy = 0, nsp_accuracy = 0;
};

int32_t argmax_row(const float* row, int64_t n) {
  return static_cast<int32_t>(std::max_element(row, row + n) - row);
}

PretrainEval evaluate_pretraining(models::BertForPreTraining& model, const std::vector<data::PretrainInstance>& val,
                                  const BertPretrainConfig& c) {
  Arena arena;
  Tape tape(&arena, false);
  tape.set_matmul_precision(c.matmul);
  model.set_training(false);
  double loss_sum = 0;
  int64_t predictions = 0, mlm_correct = 0, nsp_correct = 0, pairs = 0;
  const size_t n = std::min(val.size(), static_cast<size_t>(c.eval_batches * c.batch_size));
  for (size_t b0 = 0; b0 < n; b0 += static_cast<size_t>(c.batch_size)) {
    const size_t b1 = std::min(n, b0 + static_cast<size_t>(c.batch_size));
    const data::PretrainBatch batch = data::collate(val, b0, b1, static_cast<int32_t>(model.bert().config().pad_token_id));
    PretrainBatchTensors t = to_tensors(batch, c.mlm, c.nsp);
    tape.reset();
    models::PretrainingOutput out = model.forward(tape, t.in, t.positions, t.labels, t.nsp);
    if (out.mlm_loss.defined()) {
      const int64_t M = out.mlm_logits.value().dim(0), V = out.mlm_logits.value().dim(1);
      loss_sum += static_cast<double>(out.mlm_loss.value().f32()[0]) * static_cast<double>(M);
      predictions += M;
      for (int64_t i = 0; i < M; ++i)
        mlm_correct += argmax_row(out.mlm_logits.value().f32() + i * V, V) == batch.mlm_labels[static_cast<size_t>(i)];
    }
    if (out.nsp_loss.defined()) {
      for (int64_t i = 0; i < batch.batch; ++i)
        nsp_correct += argmax_row(out.nsp_logits.value().f32() + i * 2, 2) == batch.nsp_labels[static_cast<size_t>(i)];
      pairs += batch.batch;
    }
  }
  model.set_training(true);
  PretrainEval e;
  if (predictions > 0) {
    e.mlm_loss = static_cast<float>(loss_sum / static_cast<double>(predictions));
    e.mlm_accuracy = static_cast<float>(mlm_correct) / static_cast<float>(predictions);
  }
  if (pairs > 0) e.nsp_accuracy = static_cast<float>(nsp_correct) / static_cast<float>(pairs);
  return e;
}

}  // namespace

StatusOr<BertPretrainResult> run_bert_pretraining(const BertPretrainConfig& config_in, bool resume,
                                                  const BertHooks& hooks) {
  BertPretrainConfig c = config_in;
  std::unique_ptr<Tokenizer> tokenizer;
  if (!c.init.empty()) {
    // Continued pretraining: the shape and the tokenizer are the directory's; dropout is ours.
    LOOM_RETURN_IF_ERROR(check_tokenizer_with_init(c.init, c.tokenizer));
    LOOM_ASSIGN_OR_RETURN(io::BertDir dir, io::read_bert_dir(c.init));
    const float dropout = c.model.hidden_dropout_prob;
    c.model = dir.config;
    c.model.hidden_dropout_prob = dropout;
    tokenizer = std::move(dir.tokenizer);
  }
  LOOM_RETURN_IF_ERROR(c.validate());
  if (!tokenizer) {
    LOOM_ASSIGN_OR_RETURN(tokenizer, load_bert_tokenizer(c.tokenizer));
  }
  LOOM_ASSIGN_OR_RETURN(data::BertSpecialIds special, data::BertSpecialIds::from(*tokenizer));
  c.model.vocab_size = tokenizer->vocab_size();
  c.model.pad_token_id = special.pad;
  LOOM_RETURN_IF_ERROR(c.model.validate());
  c.data_options.nsp = c.nsp;
  c.data_options.seed = static_cast<uint64_t>(c.seed);

  std::unique_ptr<Progress> progress;
  if (hooks.progress) progress = std::make_unique<Progress>(hooks.progress, hooks.interactive, c.max_steps);
  auto say = [&](const std::string& s) {
    if (progress) progress->line(s);
  };

  data::PretrainCorpusStats stats;
  LOOM_ASSIGN_OR_RETURN(std::vector<data::Document> read, data::read_pretraining_documents(c.data, *tokenizer, &stats));
  std::vector<data::Document> docs;
  for (auto& d : read)
    for (size_t s = 0; s < d.size(); s += kMaxDocumentSentences)
      docs.emplace_back(d.begin() + static_cast<std::ptrdiff_t>(s),
                        d.begin() + static_cast<std::ptrdiff_t>(std::min(d.size(), s + kMaxDocumentSentences)));
  if (docs.size() < 4)
    return invalid_argument("the pretraining text has " + std::to_string(stats.sentences) +
                            " sentences; that is too little to hold out validation documents (need at least " +
                            std::to_string(4 * kMaxDocumentSentences) + " sentences or 4 documents)");
  // Hold out every k-th document for validation (spread over the corpus, not just its end).
  const size_t every = std::max<size_t>(
      2, std::min(static_cast<size_t>(std::lround(1.0 / c.val_fraction)), docs.size() / 2));
  std::vector<data::Document> train_docs, val_docs;
  for (size_t i = 0; i < docs.size(); ++i) (i % every == every - 1 ? val_docs : train_docs).push_back(std::move(docs[i]));
  say("data: " + std::to_string(stats.documents) + " documents, " + std::to_string(stats.sentences) + " sentences, " +
      std::to_string(stats.tokens) + " tokens; " + std::to_string(train_docs.size()) + " train / " +
      std::to_string(val_docs.size()) + " validation documents (of at most " + std::to_string(kMaxDocumentSentences) +
      " sentences)");

  models::BertForPreTraining model(c.model);
  Rng init_rng(static_cast<uint64_t>(c.seed));
  model.init_weights(init_rng);
  if (!c.init.empty()) {
    // The encoder must all be there; heads missing from the directory (a bare BertModel)
    // keep their fresh initialisation.
    LOOM_ASSIGN_OR_RETURN(int64_t n, io::load_bert_weights(c.init, model, "bert."));
    say("initialised " + std::to_string(n) + " of " + std::to_string(model.named_parameters().size()) +
        " tensors from '" + c.init + "'");
  }
  auto [params, kinds] = trainable(model);
  optim::Optimizer optimizer(bert_adamw(c.weight_decay), params, kinds);
  const optim::LrSchedule schedule = linear_schedule(c.lr, c.warmup_steps, c.max_steps);
  LOOM_RETURN_IF_ERROR(make_directories(c.out_dir));
  const std::string state_path = join_path(c.out_dir, kTrainingStateFileName);
  const std::string metrics_path = join_path(c.out_dir, kMetricsFileName);
  const std::string model_json = io::bert_config_to_json(c.model).dump();

  int64_t start_step = 0;
  if (resume) {
    LOOM_ASSIGN_OR_RETURN(start_step, read_training_state(state_path, kBertStateFormat, model_json,
                                                          model.named_parameters(), optimizer));
    say("resuming at step " + std::to_string(start_step));
  }
  auto checkpoint = [&](int64_t next_step) -> Status {
    LOOM_RETURN_IF_ERROR(write_training_state(state_path, kBertStateFormat, next_step, model.named_parameters(),
                                              optimizer, model_json));
    return io::save_bert_dir(c.out_dir, model, c.model, io::BertHead::kPretraining, {}, *tokenizer)
        .with_context("saving model");
  };

  const std::vector<bool> continues = data::continuation_pieces(*tokenizer);
  InstanceStream stream(&train_docs, c.data_options, special, continues, c.batch_size);
  data::PretrainOptions val_options = c.data_options;
  val_options.seed ^= 0x76616c;  // fixed validation instances
  const std::vector<data::PretrainInstance> val =
      data::make_instances(val_docs, val_options, special, continues, 0);
  say("model: BERT " + std::to_string(model.num_parameters()) + " parameters (" +
      std::to_string(c.model.num_hidden_layers) + " layers, hidden " + std::to_string(c.model.hidden_size) + ", " +
      (c.model.pre_layernorm ? "pre-LN" : "post-LN") + "); objectives " + (c.mlm ? "mlm" : "") +
      (c.mlm && c.nsp ? "," : "") + (c.nsp ? "nsp" : "") + "; " + std::to_string(num_threads()) + " threads");

  BertPretrainResult result;
  Arena arena;
  Tape tape(&arena, true);
  tape.set_matmul_precision(c.matmul);
  model.set_training(true);
  const double t_start = now();
  double t_log = now(), paused = 0;
  int64_t tokens_since_log = 0, steps_since_log = 0, tokens_total = 0;
  auto evaluate = [&](int64_t step) -> Status {
    const PretrainEval e = evaluate_pretraining(model, val, c);
    result.val_mlm_loss = e.mlm_loss;
    result.val_mlm_accuracy = e.mlm_accuracy;
    result.val_nsp_accuracy = e.nsp_accuracy;
    char buf[200];
    std::string line = "step " + std::to_string(step) + ": validation";
    json m = {{"event", "eval"}, {"step", step}, {"elapsed_s", now() - t_start}};
    if (c.mlm) {
      std::snprintf(buf, sizeof buf, " MLM loss %.4f, MLM accuracy %.4f", e.mlm_loss, e.mlm_accuracy);
      line += buf;
      m["val_loss"] = e.mlm_loss;
      m["val_mlm_accuracy"] = e.mlm_accuracy;
    }
    if (c.nsp) {
      std::snprintf(buf, sizeof buf, "%s NSP accuracy %.4f", c.mlm ? "," : "", e.nsp_accuracy);
      line += buf;
      m["val_nsp_accuracy"] = e.nsp_accuracy;
    }
    say(line);
    return append_line(metrics_path, m.dump());
  };

  for (int64_t step = start_step; step < c.max_steps; ++step) {
    if (step % c.eval_interval == 0) {
      const double t0 = now();
      LOOM_RETURN_IF_ERROR(evaluate(step));
      if (step > start_step) LOOM_RETURN_IF_ERROR(checkpoint(step));
      paused += now() - t0;
      t_log += now() - t0;
    }
    size_t begin = 0;
    const auto& instances = stream.epoch_for(step, &begin);
    const data::PretrainBatch batch =
        data::collate(instances, begin, begin + static_cast<size_t>(c.batch_size), special.pad);
    PretrainBatchTensors t = to_tensors(batch, c.mlm, c.nsp);
    tape.reset();
    tape.set_seed(mix64(static_cast<uint64_t>(c.seed) ^ mix64(static_cast<uint64_t>(step))));
    models::PretrainingOutput out = model.forward(tape, t.in, t.positions, t.labels, t.nsp);
    const float loss = out.loss.value().f32()[0];
    const float mlm_loss = out.mlm_loss.defined() ? out.mlm_loss.value().f32()[0] : 0.0f;
    const float nsp_loss = out.nsp_loss.defined() ? out.nsp_loss.value().f32()[0] : 0.0f;
    tape.backward(out.loss);
    tape.reset();
    if (!std::isfinite(loss)) {
      if (progress) progress->finish();
      return failed_precondition(nan_message(loss, step, c.out_dir));
    }
    const double norm = optim::grad_norm(params);
    const float lr = schedule.at(step);
    optimizer.step(lr, optim::clip_coefficient(norm, c.grad_clip));
    optimizer.zero_grad();
    result.last_loss = loss;
    result.steps_done = step + 1;
    tokens_since_log += t.tokens;
    tokens_total += t.tokens;
    ++steps_since_log;
    if ((step + 1) % c.log_interval == 0 || step + 1 == c.max_steps) {
      const double dt = now() - t_log;
      const double tps = static_cast<double>(tokens_since_log) / dt;
      if (progress) progress->update(step + 1, loss, lr, tps, dt / static_cast<double>(steps_since_log));
      json m = {{"event", "train"}, {"step", step + 1}, {"loss", loss},
                {"mlm_loss", mlm_loss}, {"nsp_loss", nsp_loss},
                {"lr", lr}, {"grad_norm", norm}, {"epoch", stream.epoch()}, {"tokens_per_sec", tps},
                {"elapsed_s", now() - t_start}};
      LOOM_RETURN_IF_ERROR(append_line(metrics_path, m.dump()));
      t_log = now();
      tokens_since_log = steps_since_log = 0;
    }
    if (hooks.stop_requested && hooks.stop_requested->load()) {
      if (progress) progress->finish();
      LOOM_RETURN_IF_ERROR(checkpoint(step + 1));
      return cancelled("interrupted at step " + std::to_string(step + 1) + "; checkpoint saved in '" + c.out_dir +
                       "'. Continue with the same command and --resume");
    }
  }
  if (progress) progress->finish();
  const double train_seconds = now() - t_start - paused;
  LOOM_RETURN_IF_ERROR(evaluate(c.max_steps));
  LOOM_RETURN_IF_ERROR(checkpoint(c.max_steps));
  result.seconds = now() - t_start;
  result.tokens_per_second = static_cast<double>(tokens_total) / std::max(train_seconds, 1e-9);
  return result;
}

Status FinetuneConfig::validate() const {
  if (train.empty()) return invalid_argument("no training file given; pass --train FILE");
  if (dev.empty()) return invalid_argument("no dev file given; pass --dev FILE (the best checkpoint is chosen on it)");
  LOOM_RETURN_IF_ERROR(require_positive("batch_size", batch_size));
  LOOM_RETURN_IF_ERROR(require_positive("epochs", epochs));
  LOOM_RETURN_IF_ERROR(require_positive("evals_per_epoch", evals_per_epoch));
  LOOM_RETURN_IF_ERROR(require_positive("patience", patience));
  if (max_seq_len < 3) return invalid_argument("max_seq_len is " + std::to_string(max_seq_len) + "; it must be >= 3");
  if (!(lr > 0)) return invalid_argument("learning rate is " + std::to_string(lr) + "; it must be > 0");
  if (!(warmup_ratio >= 0 && warmup_ratio < 1))
    return invalid_argument("warmup_ratio is " + std::to_string(warmup_ratio) + "; it must be in [0, 1)");
  if (!(dropout < 1)) return invalid_argument("dropout is " + std::to_string(dropout) + "; it must be < 1");
  if (metric != "accuracy" && metric != "macro_f1")
    return invalid_argument("metric is '" + metric + "'; choose accuracy or macro_f1");
  if (!(layer_lr_decay > 0 && layer_lr_decay <= 1))
    return invalid_argument("layer_lr_decay is " + std::to_string(layer_lr_decay) +
                            "; it must be in (0, 1] (1 = every layer at --lr; 0.8 is a common choice)");
  if (freeze_layers < -1) return invalid_argument("freeze_layers is " + std::to_string(freeze_layers) + "; use -1 (whole encoder), 0 (none) or N");
  if (init.empty() && tokenizer.path.empty())
    return invalid_argument("neither --init (a pretrained BERT directory) nor --tokenizer (for a model from scratch) given");
  return check_tokenizer_with_init(init, tokenizer);
}

namespace {

struct Encoded {
  std::vector<std::vector<int32_t>> ids, types;
  std::vector<int32_t> labels;
  std::vector<bool> was_truncated;
  int64_t truncated = 0;
  int64_t tokens = 0;
};

StatusOr<Encoded> encode_examples(const Tokenizer& tok, const std::vector<data::ClassifyExample>& ex,
                                  const std::vector<int32_t>& labels, int64_t max_len, const std::string& path) {
  Encoded e;
  BertEncodeOptions o;
  o.max_length = max_len;
  for (size_t i = 0; i < ex.size(); ++i) {
    auto enc = encode_for_bert(tok, ex[i].text, ex[i].pair ? std::optional<std::string_view>(*ex[i].pair) : std::nullopt, o);
    if (!enc.ok())
      return Status(enc.status().code(), path + ":" + std::to_string(ex[i].line) + ": " + enc.status().message());
    e.truncated += enc->truncated > 0;
    e.was_truncated.push_back(enc->truncated > 0);
    e.tokens += static_cast<int64_t>(enc->ids.size());
    e.ids.push_back(std::move(enc->ids));
    e.types.push_back(std::move(enc->token_type_ids));
  }
  e.labels = labels;
  return e;
}

// Rows `order[b0..b1)` of `e` as a padded batch.
models::BertInputs make_batch(const Encoded& e, const std::vector<size_t>& order, size_t b0, size_t b1, int32_t pad) {
  size_t T = 0;
  for (size_t i = b0; i < b1; ++i) T = std::max(T, e.ids[order[i]].size());
  const int64_t B = static_cast<int64_t>(b1 - b0);
  std::vector<int32_t> ids(static_cast<size_t>(B) * T, pad), types(ids.size(), 0), mask(ids.size(), 0);
  for (size_t i = b0; i < b1; ++i) {
    const auto& row = e.ids[order[i]];
    const size_t at = (i - b0) * T;
    for (size_t t = 0; t < row.size(); ++t) {
      ids[at + t] = row[t];
      types[at + t] = e.types[order[i]][t];
      mask[at + t] = 1;
    }
  }
  const int64_t Tn = static_cast<int64_t>(T);
  return {i32_tensor({B, Tn}, ids), i32_tensor({B, Tn}, types), i32_tensor({B, Tn}, mask)};
}

// Probabilities for every example of `e`, in order.
std::vector<std::vector<float>> class_probabilities(models::BertForSequenceClassification& model, const Encoded& e,
                                                    int64_t batch_size, int32_t pad, kernels::MatmulPrecision matmul) {
  Arena arena;
  Tape tape(&arena, false);
  tape.set_matmul_precision(matmul);
  const bool was_training = model.training();
  model.set_training(false);
  std::vector<size_t> order(e.ids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Similar lengths together: less padding.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return e.ids[a].size() < e.ids[b].size(); });
  std::vector<std::vector<float>> out(e.ids.size());
  const int64_t K = model.num_labels();
  for (size_t b0 = 0; b0 < order.size(); b0 += static_cast<size_t>(batch_size)) {
    const size_t b1 = std::min(order.size(), b0 + static_cast<size_t>(batch_size));
    tape.reset();
    Variable logits = model.forward(tape, make_batch(e, order, b0, b1, pad));
    for (size_t i = b0; i < b1; ++i) {
      const float* l = logits.value().f32() + static_cast<int64_t>(i - b0) * K;
      const float m = *std::max_element(l, l + K);
      std::vector<float> p(static_cast<size_t>(K));
      float sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += p[static_cast<size_t>(k)] = std::exp(l[k] - m);
      for (float& v : p) v /= sum;
      out[order[i]] = std::move(p);
    }
  }
  model.set_training(was_training);
  return out;
}

std::vector<int32_t> argmaxes(const std::vector<std::vector<float>>& probs) {
  std::vector<int32_t> out;
  for (const auto& p : probs) out.push_back(static_cast<int32_t>(std::max_element(p.begin(), p.end()) - p.begin()));
  return out;
}

}  // namespace

float layer_lr_scale(const std::string& name, int64_t num_layers, float decay) {
  auto starts = [&name](const std::string& prefix) { return name.rfind(prefix, 0) == 0; };
  int64_t depth = num_layers + 1;  // classifier, pooler, final LayerNorm
  const std::string layer = "bert.encoder.layer.";
  if (starts("bert.embeddings.")) depth = 0;
  else if (starts(layer)) depth = std::stoll(name.substr(layer.size())) + 1;
  return static_cast<float>(std::pow(static_cast<double>(decay), static_cast<double>(num_layers + 1 - depth)));
}

StatusOr<FinetuneResult> run_finetune(const FinetuneConfig& config_in, const BertHooks& hooks) {
  FinetuneConfig c = config_in;
  LOOM_RETURN_IF_ERROR(c.validate());
  LOOM_ASSIGN_OR_RETURN(auto train_ex, data::read_classification_file(c.train, c.format));
  LOOM_ASSIGN_OR_RETURN(auto dev_ex, data::read_classification_file(c.dev, c.format));
  LOOM_ASSIGN_OR_RETURN(data::LabelSet labels, data::label_set_for(train_ex, c.train, c.labels));
  LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> train_y, data::label_ids(train_ex, labels, c.train));
  LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> dev_y, data::label_ids(dev_ex, labels, c.dev));

  std::unique_ptr<Tokenizer> tokenizer;
  models::BertConfig cfg = c.model;
  if (!c.init.empty()) {
    LOOM_ASSIGN_OR_RETURN(io::BertDir dir, io::read_bert_dir(c.init));
    cfg = dir.config;
    tokenizer = std::move(dir.tokenizer);
  } else {
    LOOM_ASSIGN_OR_RETURN(tokenizer, load_bert_tokenizer(c.tokenizer));
    cfg.vocab_size = tokenizer->vocab_size();
    if (auto pad = tokenizer->special_tokens().pad) cfg.pad_token_id = *pad;
  }
  const auto pad = tokenizer->special_tokens().pad;
  if (!pad) return invalid_argument("the tokenizer has no [PAD] token; a BERT vocab.txt has one");
  if (c.dropout >= 0) cfg.hidden_dropout_prob = c.dropout;
  LOOM_RETURN_IF_ERROR(cfg.validate());
  if (c.max_seq_len > cfg.max_position_embeddings)
    return invalid_argument("max_seq_len is " + std::to_string(c.max_seq_len) + " but the model has only " +
                            std::to_string(cfg.max_position_embeddings) + " positions");

  LOOM_ASSIGN_OR_RETURN(Encoded train, encode_examples(*tokenizer, train_ex, train_y, c.max_seq_len, c.train));
  LOOM_ASSIGN_OR_RETURN(Encoded dev, encode_examples(*tokenizer, dev_ex, dev_y, c.max_seq_len, c.dev));

  std::unique_ptr<Progress> progress;
  const int64_t steps_per_epoch = (static_cast<int64_t>(train.ids.size()) + c.batch_size - 1) / c.batch_size;
  const int64_t total_steps = steps_per_epoch * c.epochs;
  if (hooks.progress) progress = std::make_unique<Progress>(hooks.progress, hooks.interactive, total_steps);
  auto say = [&](const std::string& s) {
    if (progress) progress->line(s);
  };
  std::string label_list;
  for (const auto& n : labels.names) label_list += (label_list.empty() ? "" : ", ") + n;
  say("data: " + std::to_string(train.ids.size()) + " train / " + std::to_string(dev.ids.size()) +
      " dev examples; labels {" + label_list + "}; truncated to " + std::to_string(c.max_seq_len) + " tokens: " +
      std::to_string(train.truncated) + " train, " + std::to_string(dev.truncated) + " dev examples");

  models::BertForSequenceClassification model(cfg, static_cast<int64_t>(labels.names.size()));
  Rng init_rng(static_cast<uint64_t>(c.seed));
  model.init_weights(init_rng);
  if (!c.init.empty()) {
    LOOM_ASSIGN_OR_RETURN(int64_t n, io::load_bert_weights(c.init, model, "bert."));
    say("initialised " + std::to_string(n) + " tensors from '" + c.init + "'");
  }
  // Freezing: embeddings and the first N layers (or the whole encoder) keep their values.
  if (c.freeze_layers != 0) {
    int64_t frozen = 0;
    for (auto& [name, v] : model.named_parameters()) {
      bool freeze = name.rfind("bert.embeddings.", 0) == 0;
      if (c.freeze_layers < 0) freeze = freeze || name.rfind("bert.encoder.", 0) == 0;
      const std::string layer = "bert.encoder.layer.";
      if (c.freeze_layers > 0 && name.rfind(layer, 0) == 0)
        freeze = freeze || std::stoll(name.substr(layer.size())) < c.freeze_layers;
      if (freeze) {
        v.set_requires_grad(false);
        ++frozen;
      }
    }
    say("frozen: " + std::to_string(frozen) + " tensors");
  }
  auto [params, kinds] = trainable(model);
  optim::Optimizer optimizer(bert_adamw(c.weight_decay), params, kinds);
  if (c.layer_lr_decay != 1.0f) {
    for (size_t i = 0; i < params.size(); ++i)
      optimizer.set_lr_scale(i, layer_lr_scale(params[i].first, cfg.num_hidden_layers, c.layer_lr_decay));
    char buf[120];
    std::snprintf(buf, sizeof buf, "layer-wise lr decay %.3g: embeddings at %.3g x --lr, top layer at %.3g x",
                  c.layer_lr_decay, layer_lr_scale("bert.embeddings.x", cfg.num_hidden_layers, c.layer_lr_decay),
                  c.layer_lr_decay);
    say(buf);
  }
  const int64_t warmup = static_cast<int64_t>(c.warmup_ratio * static_cast<float>(total_steps));
  const optim::LrSchedule schedule = linear_schedule(c.lr, warmup, total_steps);
  LOOM_RETURN_IF_ERROR(make_directories(c.out_dir));
  const std::string metrics_path = join_path(c.out_dir, kMetricsFileName);
  LOOM_RETURN_IF_ERROR(write_file_atomic(metrics_path, ""));
  say("model: BERT classifier " + std::to_string(model.num_parameters()) + " parameters, " +
      std::to_string(total_steps) + " steps (" + std::to_string(c.epochs) + " epochs of " +
      std::to_string(steps_per_epoch) + "), warmup " + std::to_string(warmup) + "; " + std::to_string(num_threads()) +
      " threads");

  FinetuneResult result;
  result.truncated_train = train.truncated;
  result.truncated_dev = dev.truncated;
  double best = -1;
  int64_t evals_without_gain = 0;
  Arena arena;
  Tape tape(&arena, true);
  tape.set_matmul_precision(c.matmul);
  model.set_training(true);
  const double t_start = now();
  double t_log = now(), paused = 0;
  int64_t tokens_since_log = 0, steps_since_log = 0, tokens_total = 0, step = 0;
  const int64_t eval_every = std::max<int64_t>(1, steps_per_epoch / c.evals_per_epoch);
  bool stop = false;
  auto evaluate = [&](int64_t epoch) -> Status {
    const double t0 = now();
    const std::vector<int32_t> pred = argmaxes(class_probabilities(model, dev, c.batch_size, *pad, c.matmul));
    const ClassificationReport r = classification_report(dev.labels, pred, labels.names);
    const double score = c.metric == "accuracy" ? r.accuracy : r.macro.f1;
    char buf[200];
    std::snprintf(buf, sizeof buf, "step %lld (epoch %lld): dev accuracy %.4f, macro F1 %.4f%s",
                  static_cast<long long>(step), static_cast<long long>(epoch), r.accuracy, r.macro.f1,
                  score > best ? " (best so far, saved)" : "");
    say(buf);
    json m = report_to_json(r);
    m["event"] = "eval";
    m["step"] = step;
    m["epoch"] = epoch;
    m["elapsed_s"] = now() - t_start;
    LOOM_RETURN_IF_ERROR(append_line(metrics_path, m.dump()));
    if (score > best) {
      best = score;
      result.best = r;
      result.best_step = step;
      evals_without_gain = 0;
      LOOM_RETURN_IF_ERROR(io::save_bert_dir(c.out_dir, model, cfg, io::BertHead::kClassification, labels.names,
                                             *tokenizer));
    } else if (++evals_without_gain >= c.patience) {
      say("no better dev " + c.metric + " in " + std::to_string(c.patience) + " evaluations: stopping early");
      stop = true;
    }
    paused += now() - t0;
    t_log += now() - t0;
    return ok_status();
  };

  std::vector<size_t> order(train.ids.size());
  for (int64_t epoch = 0; epoch < c.epochs && !stop; ++epoch) {
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    Rng shuffle(mix64(static_cast<uint64_t>(c.seed) ^ mix64(static_cast<uint64_t>(epoch) + 1)));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle.below(i)]);
    for (int64_t s = 0; s < steps_per_epoch && !stop; ++s) {
      const size_t b0 = static_cast<size_t>(s * c.batch_size), b1 = std::min(order.size(), b0 + static_cast<size_t>(c.batch_size));
      models::BertInputs in = make_batch(train, order, b0, b1, *pad);
      std::vector<int32_t> y;
      for (size_t i = b0; i < b1; ++i) y.push_back(train.labels[order[i]]);
      Tensor targets = i32_tensor({static_cast<int64_t>(y.size())}, y);
      int64_t tokens = 0;
      for (int64_t i = 0; i < in.attention_mask.numel(); ++i) tokens += in.attention_mask.i32()[i];
      tape.reset();
      tape.set_seed(mix64(static_cast<uint64_t>(c.seed) ^ mix64(static_cast<uint64_t>(step) + 77)));
      Variable logits = model.forward(tape, in);
      Variable loss = cross_entropy(tape, logits, targets);
      const float l = loss.value().f32()[0];
      tape.backward(loss);
      tape.reset();
      if (!std::isfinite(l)) {
        if (progress) progress->finish();
        return failed_precondition(nan_message(l, step, c.out_dir));
      }
      const double norm = optim::grad_norm(params);
      const float lr = schedule.at(step);
      optimizer.step(lr, optim::clip_coefficient(norm, c.grad_clip));
      optimizer.zero_grad();
      ++step;
      ++steps_since_log;
      tokens_since_log += tokens;
      tokens_total += tokens;
      result.steps_done = step;
      if (step % 10 == 0 || s + 1 == steps_per_epoch) {
        const double dt = now() - t_log;
        const double tps = static_cast<double>(tokens_since_log) / dt;
        if (progress) progress->update(step, l, lr, tps, dt / static_cast<double>(steps_since_log));
        json m = {{"event", "train"}, {"step", step}, {"loss", l}, {"lr", lr}, {"epoch", epoch},
                  {"tokens_per_sec", tps}, {"elapsed_s", now() - t_start}};
        LOOM_RETURN_IF_ERROR(append_line(metrics_path, m.dump()));
        t_log = now();
        tokens_since_log = steps_since_log = 0;
      }
      if ((s + 1) % eval_every == 0 || s + 1 == steps_per_epoch) {
        if (s + 1 != steps_per_epoch && steps_per_epoch - (s + 1) < eval_every / 2) continue;  // the epoch end is near
        LOOM_RETURN_IF_ERROR(evaluate(epoch));
      }
      if (hooks.stop_requested && hooks.stop_requested->load()) {
        if (progress) progress->finish();
        return cancelled("interrupted at step " + std::to_string(step) + "; the best checkpoint so far is in '" +
                         c.out_dir + "'");
      }
    }
  }
  if (progress) progress->finish();
  result.seconds = now() - t_start;
  result.tokens_per_second = static_cast<double>(tokens_total) / std::max(result.seconds - paused, 1e-9);
  return result;
}

StatusOr<Classifier> Classifier::load(const std::string& dir) {
  LOOM_ASSIGN_OR_RETURN(io::BertDir d, io::read_bert_dir(dir));
  if (d.head != io::BertHead::kClassification)
    return invalid_argument("'" + dir + "' holds a BERT without a classification head (config.json has no "
                            "BertForSequenceClassification and id2label); fine-tune it first with 'loom finetune "
                            "--task classify --init " + dir + "'");
  Classifier c;
  c.config = d.config;
  c.labels = d.labels;
  c.tokenizer = std::move(d.tokenizer);
  c.model = std::make_unique<models::BertForSequenceClassification>(c.config, static_cast<int64_t>(c.labels.size()));
  LOOM_RETURN_IF_ERROR(io::load_bert_weights(dir, *c.model, "").status());
  c.model->set_training(false);
  return c;
}

StatusOr<std::vector<Prediction>> predict(Classifier& c, const std::vector<data::ClassifyExample>& examples,
                                          int64_t max_seq_len, int64_t batch_size, kernels::MatmulPrecision matmul) {
  if (max_seq_len < 3 || max_seq_len > c.config.max_position_embeddings)
    return invalid_argument("max_seq_len is " + std::to_string(max_seq_len) + "; the model takes 3 to " +
                            std::to_string(c.config.max_position_embeddings) +
                            " tokens (its max_position_embeddings); pass a length in that range or leave it out");
  std::vector<int32_t> no_labels(examples.size(), 0);
  LOOM_ASSIGN_OR_RETURN(Encoded e, encode_examples(*c.tokenizer, examples, no_labels, max_seq_len, "<input>"));
  const auto pad = c.tokenizer->special_tokens().pad;
  if (!pad) return invalid_argument("the model's tokenizer has no [PAD] token");
  auto probs = class_probabilities(*c.model, e, batch_size, *pad, matmul);
  std::vector<Prediction> out;
  for (size_t i = 0; i < probs.size(); ++i) {
    Prediction p;
    p.truncated = e.was_truncated[i];
    p.probabilities = std::move(probs[i]);
    p.label = static_cast<int32_t>(std::max_element(p.probabilities.begin(), p.probabilities.end()) -
                                   p.probabilities.begin());
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace loom::train
