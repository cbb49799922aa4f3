// BERT against PyTorch: tools/make_bert_fixture.py builds the same model in PyTorch
// (Debian's python3-torch, tools/torch_bert.py) on a padded batch and stores the last hidden
// states, pooled output, MLM and NSP logits and losses, every parameter gradient by name,
// the losses of 5 clipped AdamW steps and the parameters after them (and for a
// classification head its logits, loss and gradients). This test rebuilds the models from
// the stored parameters and compares everything on both kernel paths.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "loom/autograd/tape.h"
#include "loom/io/bert_dir.h"
#include "loom/io/model_dir.h"
#include "loom/kernels/dispatch.h"
#include "loom/models/bert.h"
#include "loom/models/fixture_compare.h"
#include "loom/optim/optimizer.h"

namespace loom::models {
namespace {

using fixture::expect_close;
using fixture::Tolerance;

Tensor i32_tensor(const SafetensorsFile& f, const std::string& name) {
  const SafetensorsEntry* e = f.find(name);
  LOOM_CHECK(e != nullptr && e->dtype == DType::kI32) << "fixture lacks I32 " << name;
  Tensor t = Tensor::empty(e->shape, DType::kI32);
  std::memcpy(t.i32(), e->data, e->nbytes);
  return t;
}

// Loads the fixture's parameters into `model` and checks there is no extra or missing one.
void load_params(const SafetensorsFile& f, nn::Module& model) {
  auto params = model.named_parameters();
  Status s = io::load_parameters(f, params, "param.");
  ASSERT_TRUE(s.ok()) << s.to_string();
  size_t n_fixture_params = 0;
  for (const auto& e : f.entries()) n_fixture_params += e.name.rfind("param.", 0) == 0;
  EXPECT_EQ(n_fixture_params, params.size());
}

void expect_grads(const SafetensorsFile& f, nn::Module& model) {
  for (const auto& [pname, v] : model.named_parameters()) {
    const SafetensorsEntry* g = f.find("grad." + pname);
    ASSERT_NE(g, nullptr) << "fixture lacks grad." << pname;
    ASSERT_EQ(g->shape, v.value().shape()) << pname;
    if (!v.has_grad()) {  // never reached by the backward: PyTorch's must be zero
      const float* e = reinterpret_cast<const float*>(g->data);
      for (int64_t i = 0; i < v.value().numel(); ++i) EXPECT_EQ(e[i], 0.0f) << pname;
      continue;
    }
    expect_close(v.grad().f32(), *g, v.grad().numel(), {1e-6, 1e-3}, "grad of " + pname);
  }
}

class BertFixture : public ::testing::TestWithParam<std::tuple<std::string, kernels::KernelPath>> {};

TEST_P(BertFixture, MatchesPyTorch) {
  const auto& [name, path] = GetParam();
  kernels::KernelPath saved_path = kernels::kernel_path();
  kernels::set_kernel_path(path);
  const std::string file = std::string(LOOM_SOURCE_DIR) + "/tests/fixtures/" + name + ".safetensors";
  auto f = SafetensorsFile::open(file);
  ASSERT_TRUE(f.ok()) << f.status().to_string() << " (regenerate with /usr/bin/python3 tools/make_bert_fixture.py)";
  // The fixture's config is a loom config.json; loom's own reader parses it.
  auto parsed = io::bert_config_from_json(nlohmann::json::parse(f->metadata().at("config")), file);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  const BertConfig cfg = *parsed;
  BertInputs in{i32_tensor(*f, "ids"), i32_tensor(*f, "token_types"), i32_tensor(*f, "attention_mask")};
  Arena arena;
  Tape tape(&arena, true);

  if (f->metadata().at("head") != "pretraining") {
    BertForSequenceClassification model(cfg, 3);
    model.set_training(false);
    load_params(*f, model);
    Tensor labels = i32_tensor(*f, "labels");
    Variable logits = model.forward(tape, in);
    expect_close(logits.value().f32(), *f->find("logits"), logits.value().numel(), {1e-5, 1e-4}, "class logits");
    Variable loss = cross_entropy(tape, logits, labels);
    expect_close(loss.value().f32(), *f->find("loss"), 1, {1e-6, 1e-5}, "loss");
    tape.backward(loss);
    expect_grads(*f, model);
    kernels::set_kernel_path(saved_path);
    return;
  }

  BertForPreTraining model(cfg);
  model.set_training(false);  // dropout is 0 anyway
  load_params(*f, model);
  Tensor positions = i32_tensor(*f, "mlm_positions"), mlm_labels = i32_tensor(*f, "mlm_labels"),
         nsp_labels = i32_tensor(*f, "nsp_labels");
  {
    // The encoder alone: hidden states at every position (padded ones too) and the pooler.
    Tape probe(&arena, false);
    Variable hidden = model.bert().forward(probe, in);
    expect_close(hidden.value().f32(), *f->find("hidden"), hidden.value().numel(), {1e-5, 1e-4}, "hidden states");
    Variable pooled = model.bert().pool(probe, hidden);
    expect_close(pooled.value().f32(), *f->find("pooled"), pooled.value().numel(), {1e-5, 1e-4}, "pooled");
  }
  PretrainingOutput out = model.forward(tape, in, positions, mlm_labels, nsp_labels);
  expect_close(out.mlm_logits.value().f32(), *f->find("mlm_logits"), out.mlm_logits.value().numel(), {1e-5, 1e-4},
               "MLM logits");
  expect_close(out.nsp_logits.value().f32(), *f->find("nsp_logits"), out.nsp_logits.value().numel(), {1e-5, 1e-4},
               "NSP logits");
  expect_close(out.mlm_loss.value().f32(), *f->find("mlm_loss"), 1, {1e-6, 1e-5}, "MLM loss");
  expect_close(out.nsp_loss.value().f32(), *f->find("nsp_loss"), 1, {1e-6, 1e-5}, "NSP loss");
  expect_close(out.loss.value().f32(), *f->find("loss"), 1, {1e-6, 1e-5}, "loss");
  tape.backward(out.loss);
  expect_grads(*f, model);

  // 5 AdamW steps on the same batch, clipping to norm 1 before each.
  const fixture::FixtureOptimizer fo = fixture::optimizer_from(*f);
  const float lr = fo.lr;
  const double clip = fo.grad_clip;
  auto params = model.named_parameters();
  optim::Optimizer opt(fo.options, params, model.parameter_kinds());
  opt.zero_grad();
  const SafetensorsEntry* step_losses = f->find("step_losses");
  ASSERT_NE(step_losses, nullptr);
  const int64_t n_steps = step_losses->shape[0];
  std::vector<float> losses;
  for (int64_t s = 0; s < n_steps; ++s) {
    tape.reset();
    PretrainingOutput o = model.forward(tape, in, positions, mlm_labels, nsp_labels);
    losses.push_back(o.loss.value().f32()[0]);
    tape.backward(o.loss);
    optim::clip_grad_norm(params, clip);
    opt.step(lr);
    opt.zero_grad();
  }
  expect_close(losses.data(), *step_losses, n_steps, {1e-5, 1e-4}, "losses of the AdamW steps");
  for (const auto& [pname, v] : params) {
    const SafetensorsEntry* fin = f->find("final." + pname);
    ASSERT_NE(fin, nullptr) << pname;
    // The key bias has an exactly zero true gradient (it adds one constant to every score of
    // a softmax row); its float gradient is rounding noise that Adam turns into steps of up
    // to lr, so PyTorch's own float32 and float64 runs differ there by ~2e-4.
    const bool noise = pname.find("attention.self.key.bias") != std::string::npos;
    expect_close(v.value().f32(), *fin, v.value().numel(), noise ? Tolerance{2e-3, 0} : Tolerance{2e-5, 1e-4},
                 "after 5 steps: " + pname);
  }
  kernels::set_kernel_path(saved_path);
}

INSTANTIATE_TEST_SUITE_P(Models, BertFixture,
                         ::testing::Combine(::testing::Values("bert_postln", "bert_preln_sinusoidal", "bert_classify"),
                                            ::testing::Values(kernels::KernelPath::kReference,
                                                              kernels::KernelPath::kOptimized)),
                         [](const auto& test_info) {
                           return std::get<0>(test_info.param) + "_" +
                                  kernels::kernel_path_name(std::get<1>(test_info.param));
                         });

}  // namespace
}  // namespace loom::models
