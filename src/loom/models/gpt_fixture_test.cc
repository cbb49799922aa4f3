// The GPT model against PyTorch: tools/make_gpt_fixture.py builds the same model in
// PyTorch (Debian's python3-torch) and stores inputs, logits, loss, every parameter
// gradient by name, the losses of 5 AdamW steps (with clipping) and the parameters after
// them. This test rebuilds the model from the stored parameters and compares everything,
// on both kernel paths. Tolerances are for float32 against float32 with different
// summation orders; the script reports how far float32 is from float64 on the same inputs.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "loom/autograd/tape.h"
#include "loom/io/model_dir.h"
#include "loom/kernels/dispatch.h"
#include "loom/kernels/matmul.h"
#include "loom/models/fixture_compare.h"
#include "loom/models/gpt.h"
#include "loom/optim/optimizer.h"

namespace loom::models {
namespace {

using fixture::expect_close;
using fixture::Tolerance;

class GptFixture : public ::testing::TestWithParam<std::tuple<std::string, kernels::KernelPath>> {};

// The fixture's model configuration and its batch (inputs, flattened targets).
GPTConfig config_of(const SafetensorsFile& f) {
  auto cfg_json = nlohmann::json::parse(f.metadata().at("config"));
  GPTConfig cfg;
  cfg.vocab_size = cfg_json["vocab_size"];
  cfg.block_size = cfg_json["block_size"];
  cfg.n_layer = cfg_json["n_layer"];
  cfg.n_head = cfg_json["n_head"];
  cfg.n_embd = cfg_json["n_embd"];
  cfg.dropout = cfg_json["dropout"];
  cfg.bias = cfg_json["bias"];
  cfg.tie_word_embeddings = cfg_json["tie_word_embeddings"];
  EXPECT_TRUE(parse_pos_encoding(cfg_json["pos_encoding"], &cfg.pos_encoding));
  return cfg;
}

std::pair<Tensor, Tensor> batch_of(const SafetensorsFile& f) {
  const SafetensorsEntry* in = f.find("inputs");
  const SafetensorsEntry* tg = f.find("targets");
  LOOM_CHECK(in && tg) << "fixture lacks inputs or targets";
  Tensor ids = Tensor::empty({in->shape[0], in->shape[1]}, DType::kI32);
  Tensor targets = Tensor::empty({in->shape[0] * in->shape[1]}, DType::kI32);
  std::memcpy(ids.i32(), in->data, in->nbytes);
  std::memcpy(targets.i32(), tg->data, tg->nbytes);
  return {ids, targets};
}

TEST_P(GptFixture, MatchesPyTorch) {
  const auto& [name, path] = GetParam();
  kernels::KernelPath saved_path = kernels::kernel_path();
  kernels::set_kernel_path(path);
  const std::string file = std::string(LOOM_SOURCE_DIR) + "/tests/fixtures/" + name + ".safetensors";
  auto f = SafetensorsFile::open(file);
  ASSERT_TRUE(f.ok()) << f.status().to_string() << " (regenerate with /usr/bin/python3 tools/make_gpt_fixture.py)";
  const GPTConfig cfg = config_of(*f);
  GPT model(cfg);
  auto params = model.named_parameters();
  ASSERT_TRUE(io::load_parameters(*f, params, "param.").ok());
  // Every PyTorch parameter is one of ours (no extra, no missing).
  size_t n_fixture_params = 0;
  for (const auto& e : f->entries()) n_fixture_params += e.name.rfind("param.", 0) == 0;
  EXPECT_EQ(n_fixture_params, params.size());

  const auto [ids, targets] = batch_of(*f);

  Arena arena;
  Tape tape(&arena, true);
  Variable logits = model.forward(tape, ids);
  expect_close(logits.value().f32(), *f->find("logits"), logits.value().numel(), {1e-5, 1e-4}, "logits");
  Variable loss = cross_entropy(tape, logits, targets);
  expect_close(loss.value().f32(), *f->find("loss"), 1, {1e-6, 1e-5}, "loss");
  tape.backward(loss);
  for (const auto& [pname, v] : params) {
    const SafetensorsEntry* g = f->find("grad." + pname);
    ASSERT_NE(g, nullptr) << "fixture lacks grad." << pname;
    ASSERT_EQ(g->shape, v.value().shape()) << pname;
    expect_close(v.grad().f32(), *g, v.grad().numel(), {1e-6, 1e-3}, "grad of " + pname);
  }

  // 5 AdamW steps on the same batch, clipping to norm 1 before each.
  const fixture::FixtureOptimizer fo = fixture::optimizer_from(*f);
  const float lr = fo.lr;
  const double clip = fo.grad_clip;
  optim::Optimizer opt(fo.options, params, model.parameter_kinds());
  opt.zero_grad();
  const SafetensorsEntry* step_losses = f->find("step_losses");
  ASSERT_NE(step_losses, nullptr);
  const int64_t n_steps = step_losses->shape[0];
  std::vector<float> losses;
  for (int64_t s = 0; s < n_steps; ++s) {
    tape.reset();
    Variable l = model.loss(tape, ids, targets);
    losses.push_back(l.value().f32()[0]);
    tape.backward(l);
    optim::clip_grad_norm(params, clip);
    opt.step(lr);
    opt.zero_grad();
  }
  expect_close(losses.data(), *step_losses, n_steps, {1e-5, 1e-4}, "losses of the AdamW steps");
  for (const auto& [pname, v] : params) {
    const SafetensorsEntry* fin = f->find("final." + pname);
    if (pname.find("attn.c_attn.bias") != std::string::npos) {
      // The key part [C, 2C) of this bias has an exactly zero true gradient (it adds a
      // constant to every score of a softmax row); its float gradient is rounding noise
      // that Adam turns into small steps, so PyTorch's float32 and float64 runs already
      // differ there by ~4e-5. Compare q and v parts tightly and the k part loosely.
      const int64_t C = cfg.n_embd;
      const float* got = v.value().f32();
      const float* want = reinterpret_cast<const float*>(fin->data);
      for (int64_t i = 0; i < 3 * C; ++i) {
        const double tol = (i >= C && i < 2 * C) ? 5e-4 : 2e-5 + 1e-4 * std::abs(want[i]);
        EXPECT_NEAR(got[i], want[i], tol) << "after 5 steps: " << pname << " element " << i;
      }
      continue;
    }
    expect_close(v.value().f32(), *fin, v.value().numel(), {2e-5, 1e-4}, "after 5 steps: " + pname);
  }
  kernels::set_kernel_path(saved_path);
}

// With bf16 products, LayerNorm and GELU outputs that feed only matmuls may be stored in bf16
// (Tape::matmul_input_dtype): the matmuls would round them to the same bits, so logits, loss,
// every gradient and the parameters after AdamW steps are the same bit for bit as with those
// outputs in fp32.
TEST(GptBf16, MatmulInputsInBf16ChangeNoNumber) {
  if (!kernels::bf16_operands_native()) GTEST_SKIP() << "bf16 matmul inputs are not used on this CPU";
  const std::string file = std::string(LOOM_SOURCE_DIR) + "/tests/fixtures/gpt_learned.safetensors";
  auto f = SafetensorsFile::open(file);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  const GPTConfig cfg = config_of(*f);
  const auto [ids, targets] = batch_of(*f);

  struct Run {
    std::vector<float> losses;
    std::vector<std::vector<float>> grads, params;
  };
  auto run = [&](bool bf16_inputs) {
    GPT model(cfg);
    auto params = model.named_parameters();
    EXPECT_TRUE(io::load_parameters(*f, params, "param.").ok());
    optim::OptimizerOptions options;
    optim::Optimizer opt(options, params, model.parameter_kinds());
    Arena arena;
    Tape tape(&arena, true);
    tape.set_matmul_precision(kernels::MatmulPrecision::kBF16);
    tape.set_bf16_matmul_inputs(bf16_inputs);
    EXPECT_EQ(tape.matmul_input_dtype(), bf16_inputs ? DType::kBF16 : DType::kF32);
    Run r;
    opt.zero_grad();
    for (int step = 0; step < 3; ++step) {
      tape.reset();
      Variable l = model.loss(tape, ids, targets);
      r.losses.push_back(l.value().f32()[0]);
      tape.backward(l);
      if (step == 0)
        for (const auto& [name, v] : params) r.grads.emplace_back(v.grad().f32(), v.grad().f32() + v.grad().numel());
      optim::clip_grad_norm(params, 1.0);
      opt.step(1e-3f);
      opt.zero_grad();
    }
    for (const auto& [name, v] : params) r.params.emplace_back(v.value().f32(), v.value().f32() + v.value().numel());
    return r;
  };
  const Run fp32_inputs = run(false), bf16_inputs = run(true);
  EXPECT_EQ(bf16_inputs.losses, fp32_inputs.losses);
  ASSERT_EQ(bf16_inputs.grads.size(), fp32_inputs.grads.size());
  for (size_t i = 0; i < fp32_inputs.grads.size(); ++i) {
    EXPECT_EQ(bf16_inputs.grads[i], fp32_inputs.grads[i]) << "gradient of parameter " << i;
    EXPECT_EQ(bf16_inputs.params[i], fp32_inputs.params[i]) << "parameter " << i << " after 3 steps";
  }
}

INSTANTIATE_TEST_SUITE_P(Models, GptFixture,
                         ::testing::Combine(::testing::Values("gpt_learned", "gpt_sinusoidal"),
                                            ::testing::Values(kernels::KernelPath::kReference,
                                                              kernels::KernelPath::kOptimized)),
                         [](const auto& test_info) {
                           return std::get<0>(test_info.param) + "_" +
                                  kernels::kernel_path_name(std::get<1>(test_info.param));
                         });

}  // namespace
}  // namespace loom::models
