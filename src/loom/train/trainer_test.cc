// Training tests: overfitting one batch, exact resume, NaN handling, a full disk during a
// checkpoint, bad inputs, config handling, and corrupt model directories.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "loom/autograd/tape.h"
#include "loom/base/file.h"
#include "loom/io/model_dir.h"
#include "loom/data/prepare.h"
#include "loom/tokenizers/char_tokenizer.h"
#include "loom/train/bert_train.h"
#include "loom/train/trainer.h"
#include "loom/testing/test_support.h"

namespace loom::train {
namespace {

std::string temp_dir(const std::string& name) { return testing::fresh_temp_dir("train_test", name); }

// A small corpus with structure to learn.
std::string corpus() {
  std::string s;
  const char* lines[] = {"the quick brown fox jumps over the lazy dog.\n", "to be or not to be, that is the question.\n",
                         "all the world's a stage, and all the men and women merely players.\n"};
  for (int i = 0; i < 60; ++i) s += lines[i % 3];
  return s;
}

TrainConfig small_config(const std::string& dir) {
  TrainConfig c;
  c.data = join_path(dir, "input.txt");
  EXPECT_TRUE(write_file_atomic(c.data, corpus()).ok());
  c.out_dir = join_path(dir, "run");
  c.model.block_size = 16;
  c.model.n_layer = 2;
  c.model.n_head = 2;
  c.model.n_embd = 16;
  c.model.vocab_size = 0;
  c.batch_size = 4;
  c.max_iters = 30;
  c.eval_interval = 10;
  c.eval_iters = 2;
  c.log_interval = 5;
  c.schedule.lr = 3e-3f;
  c.schedule.min_lr = 3e-4f;
  c.schedule.warmup_iters = 5;
  return c;
}

TEST(Trainer, OverfitsOneBatch) {
  models::GPTConfig cfg;
  cfg.vocab_size = 11;
  cfg.block_size = 12;
  cfg.n_layer = 2;
  cfg.n_head = 2;
  cfg.n_embd = 32;
  models::GPT model(cfg);
  Rng rng(1);
  model.init_weights(rng);
  optim::Optimizer opt({}, model.named_parameters(), model.parameter_kinds());
  Tensor ids = Tensor::empty({2, 12}, DType::kI32), targets = Tensor::empty({24}, DType::kI32);
  for (int i = 0; i < 24; ++i) {
    ids.i32()[i] = static_cast<int32_t>(rng.below(11));
    targets.i32()[i] = static_cast<int32_t>(rng.below(11));
  }
  Arena arena;
  Tape tape(&arena, true);
  float first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    tape.reset();
    Variable loss = model.loss(tape, ids, targets);
    if (step == 0) first = loss.value().f32()[0];
    last = loss.value().f32()[0];
    tape.backward(loss);
    opt.step(3e-3f);
    opt.zero_grad();
  }
  EXPECT_NEAR(first, std::log(11.0f), 0.2f);
  EXPECT_LT(last, 0.05f);
}

TEST(Trainer, ResumeEqualsUninterruptedRun) {
  std::string dir = temp_dir("resume");
  TrainConfig c = small_config(dir);
  c.model.dropout = 0.1f;  // dropout masks must also be reproduced
  c.grad_accum = 2;
  TrainHooks hooks;
  hooks.progress = nullptr;
  std::vector<float> full;
  hooks.on_step = [&](int64_t, float loss) { full.push_back(loss); };
  c.out_dir = join_path(dir, "full");
  ASSERT_TRUE(run_training(c, false, hooks).ok());
  ASSERT_EQ(full.size(), 30u);

  c.out_dir = join_path(dir, "interrupted");
  std::atomic<bool> stop{false};
  std::vector<float> part;
  hooks.stop_requested = &stop;
  hooks.on_step = [&](int64_t step, float loss) {
    part.push_back(loss);
    if (step == 12) stop = true;  // interrupt after 13 steps (not at a checkpoint boundary)
  };
  auto r = run_training(c, false, hooks);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  ASSERT_EQ(part.size(), 13u);
  stop = false;
  auto r2 = run_training(c, true, hooks);
  ASSERT_TRUE(r2.ok()) << r2.status().to_string();
  ASSERT_EQ(part.size(), 30u);
  for (size_t i = 0; i < 30; ++i) EXPECT_EQ(part[i], full[i]) << "step " << i;  // bit for bit

  // Starting again over an existing run without --resume is refused (nothing is overwritten).
  auto again = run_training(c, false, hooks);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("--resume"), std::string::npos);
}

TEST(Trainer, LossDecreasesAndModelDirectoryLoads) {
  std::string dir = temp_dir("learn");
  TrainConfig c = small_config(dir);
  c.max_iters = 200;
  c.schedule.lr = 1e-2f;
  c.schedule.min_lr = 1e-3f;
  TrainHooks hooks;
  hooks.progress = nullptr;
  auto r = run_training(c, false, hooks);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_LT(r->val_loss, 1.5f);  // uniform over ~30 chars would be ~3.4
  auto loaded = io::load_model_dir(c.out_dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->model->config().n_layer, 2);
  auto metrics = read_file(join_path(c.out_dir, kMetricsFileName));
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->find("\"val_loss\""), std::string::npos);
  EXPECT_TRUE(file_exists(join_path(c.out_dir, kTrainConfigFileName)));
}

TEST(Trainer, NanLossStopsAndKeepsLastCheckpoint) {
  std::string dir = temp_dir("nan");
  TrainConfig c = small_config(dir);
  c.max_iters = 10;
  TrainHooks hooks;
  hooks.progress = nullptr;
  ASSERT_TRUE(run_training(c, false, hooks).ok());
  const std::string state = join_path(c.out_dir, kTrainingStateFileName);
  auto before = read_file(state);
  ASSERT_TRUE(before.ok());
  c.max_iters = 200;
  c.schedule.lr = 1e30f;
  c.schedule.min_lr = 0;
  c.grad_clip = 0;
  auto r = run_training(c, true, hooks);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("last good checkpoint"), std::string::npos) << r.status().message();
  EXPECT_EQ(*read_file(state), *before);
}

TEST(Trainer, FullDiskDuringCheckpointKeepsThePreviousOne) {
  std::string dir = temp_dir("disk");
  TrainConfig c = small_config(dir);
  c.max_iters = 10;
  TrainHooks hooks;
  hooks.progress = nullptr;
  ASSERT_TRUE(run_training(c, false, hooks).ok());
  const std::string state = join_path(c.out_dir, kTrainingStateFileName);
  auto before = read_file(state);
  ASSERT_TRUE(before.ok());
  // Simulate a full disk: cap the size of any file this process writes.
  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = before->size() / 2;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  c.max_iters = 20;
  auto r = run_training(c, true, hooks);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError) << r.status().to_string();
  EXPECT_EQ(*read_file(state), *before);
  // And the surviving checkpoint still resumes.
  ASSERT_TRUE(run_training(c, true, hooks).ok());
}

TEST(Trainer, BadInputsGiveClearErrors) {
  std::string dir = temp_dir("bad");
  TrainHooks hooks;
  hooks.progress = nullptr;
  struct Case {
    std::function<void(TrainConfig&)> edit;
    std::string expect;
  };
  std::vector<Case> cases = {
      {[&](TrainConfig& c) { c.data = join_path(dir, "missing.txt"); }, "does not exist"},
      {[&](TrainConfig& c) { (void)write_file_atomic(c.data, ""); }, "is empty"},
      {[&](TrainConfig& c) { (void)write_file_atomic(c.data, "short text"); }, "tokens"},
      {[&](TrainConfig& c) { c.model.n_head = 3; }, "not divisible by n_head"},
      {[&](TrainConfig& c) { c.model.n_layer = 0; }, "n_layer is 0"},
      {[&](TrainConfig& c) { c.batch_size = -2; }, "batch_size is -2"},
      {[&](TrainConfig& c) { c.data = ""; }, "--data"},
      {[&](TrainConfig& c) { c.data = dir; }, "directory"},
      {[&](TrainConfig& c) { (void)write_file_atomic(c.data, std::string("ab\xff\xfe", 4)); }, "UTF-8"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    TrainConfig c = small_config(dir);
    c.out_dir = join_path(dir, "run" + std::to_string(i));
    cases[i].edit(c);
    auto r = run_training(c, false, hooks);
    ASSERT_FALSE(r.ok()) << "case " << i;
    EXPECT_NE(r.status().message().find(cases[i].expect), std::string::npos)
        << "case " << i << ": " << r.status().message();
  }
}

TEST(Trainer, TrainsFromPreparedShards) {
  std::string dir = temp_dir("prepared");
  TrainConfig c = small_config(dir);
  CharTokenizer tok = CharTokenizer::train(corpus()).value();
  data::PrepareOptions po;
  po.inputs = {c.data};
  po.out_dir = join_path(dir, "prepared");
  po.chunk_bytes = 256;
  ASSERT_TRUE(data::prepare_corpus(tok, po).ok());
  c.data = po.out_dir;
  c.max_iters = 40;
  TrainHooks hooks;
  hooks.progress = nullptr;
  auto r = run_training(c, false, hooks);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_LT(r->val_loss, 3.0f);
  // The run directory gets the tokenizer the shards were made with.
  auto loaded = io::load_model_dir(c.out_dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->tokenizer->vocab_size(), tok.vocab_size());
}

TEST(TrainConfig, JsonAndFlagsWithUnknownKeysRejected) {
  TrainConfig c;
  ASSERT_TRUE(apply_config_json(nlohmann::json{{"n_layer", 6}, {"learning_rate", 0.01}, {"pos_encoding", "sinusoidal"}},
                                "test", &c).ok());
  EXPECT_EQ(c.model.n_layer, 6);
  EXPECT_FLOAT_EQ(c.schedule.lr, 0.01f);
  EXPECT_EQ(c.model.pos_encoding, models::PosEncoding::kSinusoidal);
  Status s = apply_config_json(nlohmann::json{{"n_layers", 6}}, "config file 'x.json'", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown setting 'n_layers'"), std::string::npos);
  EXPECT_FALSE(apply_config_json(nlohmann::json{{"n_layer", "six"}}, "f", &c).ok());
  EXPECT_FALSE(apply_config_json(nlohmann::json{{"optimizer", "lion"}}, "f", &c).ok());
  const ConfigField* n_layer = nullptr;
  for (const auto& f : train_config_fields())
    if (f.key == "n_layer") n_layer = &f;
  ASSERT_NE(n_layer, nullptr);
  EXPECT_TRUE(parse_flag_value(*n_layer, "8").ok());
  EXPECT_FALSE(parse_flag_value(*n_layer, "8x").ok());
  // Round trip through JSON.
  TrainConfig d;
  ASSERT_TRUE(apply_config_json(config_to_json(c), "round trip", &d).ok());
  EXPECT_EQ(config_to_json(c), config_to_json(d));
}

TEST(ModelDir, CorruptFilesAreRejectedWithClearMessages) {
  std::string dir = temp_dir("corrupt");
  TrainConfig c = small_config(dir);
  c.max_iters = 2;
  TrainHooks hooks;
  hooks.progress = nullptr;
  ASSERT_TRUE(run_training(c, false, hooks).ok());
  auto good = io::load_model_dir(c.out_dir);
  ASSERT_TRUE(good.ok());
  const std::string weights = join_path(c.out_dir, io::kWeightsFileName);
  const std::string original = *read_file(weights);
  auto params = good->model->named_parameters();

  auto expect_error = [&](const std::string& what, const std::string& needle) {
    auto r = io::load_model_dir(c.out_dir);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << what << ": " << r.status().message();
  };
  // Truncated.
  ASSERT_TRUE(write_file_atomic(weights, original.substr(0, original.size() / 2)).ok());
  expect_error("truncated", io::kWeightsFileName);
  // Bad header JSON.
  std::string bad = original;
  bad[9] = '#';
  ASSERT_TRUE(write_file_atomic(weights, bad).ok());
  expect_error("bad header", io::kWeightsFileName);
  // Wrong shape, wrong dtype, missing tensor.
  auto tensors = io::parameters_to_write(params);
  auto shaped = tensors;
  shaped[0].shape = {shaped[0].shape[1], shaped[0].shape[0]};
  ASSERT_TRUE(write_safetensors(weights, shaped, {}).ok());
  expect_error("wrong shape", "has shape");
  auto typed = tensors;
  typed[1].dtype = DType::kI32;
  ASSERT_TRUE(write_safetensors(weights, typed, {}).ok());
  expect_error("wrong dtype", "dtype I32");
  auto missing = tensors;
  const std::string gone = missing.back().name;
  missing.pop_back();
  ASSERT_TRUE(write_safetensors(weights, missing, {}).ok());
  expect_error("missing", gone);
  // Missing directory.
  auto none = io::load_model_dir(join_path(dir, "nope"));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("does not exist"), std::string::npos);
}

// Layer-wise learning-rate decay over a real classifier's parameter names: the heads at the
// full rate, layer i of L at decay^(L - i), the embeddings at decay^(L + 1).
TEST(Finetune, LayerLrScalesFollowDepth) {
  models::BertConfig c;
  c.vocab_size = 20;
  c.hidden_size = 8;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 2;
  c.intermediate_size = 16;
  c.max_position_embeddings = 16;
  c.pre_layernorm = true;
  models::BertForSequenceClassification model(c, 2);
  const float d = 0.5f;
  int64_t embeddings = 0, layers = 0, heads = 0;
  for (const auto& [name, v] : model.named_parameters()) {
    const float s = layer_lr_scale(name, 3, d);
    if (name.rfind("bert.embeddings.", 0) == 0) {
      EXPECT_FLOAT_EQ(s, 0.0625f) << name;
      ++embeddings;
    } else if (name.rfind("bert.encoder.layer.", 0) == 0) {
      const int64_t i = name[19] - '0';
      EXPECT_FLOAT_EQ(s, std::pow(d, static_cast<float>(3 - i))) << name;
      ++layers;
    } else {
      EXPECT_FLOAT_EQ(s, 1.0f) << name;  // encoder.LayerNorm, pooler, classifier
      ++heads;
    }
  }
  EXPECT_GT(embeddings, 0);
  EXPECT_GT(layers, 0);
  EXPECT_GE(heads, 6);
  EXPECT_FLOAT_EQ(layer_lr_scale("classifier.weight", 3, 1.0f), 1.0f);
  EXPECT_FLOAT_EQ(layer_lr_scale("bert.embeddings.word_embeddings.weight", 3, 1.0f), 1.0f);
}

}  // namespace
}  // namespace loom::train
