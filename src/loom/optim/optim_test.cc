// Optimizer and schedule tests: decay groups, clipping, state round-trip, schedule shape.
#include <gtest/gtest.h>

#include <cmath>

#include "loom/optim/optimizer.h"
#include "loom/optim/schedule.h"

namespace loom::optim {
namespace {

TEST(Schedule, WarmupCosineFloor) {
  LrSchedule s{ScheduleType::kCosine, 1e-3f, 1e-4f, 10, 110};
  ASSERT_TRUE(s.validate().ok());
  EXPECT_FLOAT_EQ(s.at(0), 1e-3f / 11);
  EXPECT_FLOAT_EQ(s.at(10), 1e-3f);
  EXPECT_NEAR(s.at(60), 0.55e-3f, 1e-9);
  EXPECT_FLOAT_EQ(s.at(500), 1e-4f);
  LrSchedule lin{ScheduleType::kLinear, 1.0f, 0.0f, 0, 100};
  EXPECT_NEAR(lin.at(25), 0.75f, 1e-6);
  LrSchedule c{ScheduleType::kConstant, 0.5f, 0.0f, 0, 0};
  EXPECT_TRUE(c.validate().ok());
  EXPECT_EQ(c.at(1000), 0.5f);
  EXPECT_FALSE((LrSchedule{ScheduleType::kCosine, -1.0f, 0.0f, 0, 10}).validate().ok());
}

nn::NamedParameters two_params() {
  return {{"w", Variable::parameter(Tensor::from_vector({2, 2}, {1, 2, 3, 4}))},
          {"b", Variable::parameter(Tensor::from_vector({2}, {1, 1}))}};
}

TEST(Optimizer, WeightDecayOnlyOnWeights) {
  auto params = two_params();
  Optimizer opt({OptimizerType::kAdamW, 0.9f, 0.95f, 1e-8f, 0.5f, false, 0.0f}, params,
                {nn::ParamKind::kWeight, nn::ParamKind::kBias});
  // Zero gradients: AdamW moves only decayed parameters (by lr * wd * p).
  opt.step(0.1f);
  EXPECT_FLOAT_EQ(params[0].second.value().f32()[0], 1.0f * (1 - 0.05f));
  EXPECT_FLOAT_EQ(params[1].second.value().f32()[0], 1.0f);
}

// A parameter with learning-rate scale s moves exactly as it would with lr * s, decay
// included; scale 0 leaves it where it is.
TEST(Optimizer, LrScaleEqualsAScaledLearningRate) {
  for (OptimizerType type : {OptimizerType::kAdamW, OptimizerType::kSGD}) {
    OptimizerOptions o;
    o.type = type;
    o.weight_decay = 0.1f;
    auto scaled = two_params(), plain = two_params();
    Optimizer a(o, scaled, {nn::ParamKind::kWeight, nn::ParamKind::kBias});
    Optimizer b(o, plain, {nn::ParamKind::kWeight, nn::ParamKind::kBias});
    a.set_lr_scale(0, 0.25f);
    a.set_lr_scale(1, 0.0f);
    for (int step = 0; step < 3; ++step) {
      for (auto* ps : {&scaled, &plain})
        for (auto& [name, p] : *ps) {
          p.ensure_grad();
          for (int64_t i = 0; i < p.grad().numel(); ++i)
            p.mutable_grad().f32()[i] = 0.5f * static_cast<float>(i + step) - 0.7f;
        }
      a.step(0.1f);
      b.step(0.025f);
    }
    for (int64_t i = 0; i < 4; ++i)
      EXPECT_FLOAT_EQ(scaled[0].second.value().f32()[i], plain[0].second.value().f32()[i]) << i;
    EXPECT_FLOAT_EQ(scaled[1].second.value().f32()[0], 1.0f);
    EXPECT_FLOAT_EQ(scaled[1].second.value().f32()[1], 1.0f);
    EXPECT_NE(plain[1].second.value().f32()[0], 1.0f);
  }
}

TEST(Optimizer, ClipGradNormScalesToMax) {
  auto params = two_params();
  for (auto& [name, p] : params) p.ensure_grad();
  params[0].second.mutable_grad().fill(3.0f);
  params[1].second.mutable_grad().fill(4.0f);
  double norm = clip_grad_norm(params, 1.0);
  EXPECT_NEAR(norm, std::sqrt(4 * 9.0 + 2 * 16.0), 1e-6);
  EXPECT_NEAR(clip_grad_norm(params, 0.0), 1.0, 1e-5);
}

// Clipping folded into the update (step(lr, clip_coefficient)) moves the parameters as
// clipping the gradients first and stepping with scale 1, for every optimizer type.
TEST(Optimizer, FoldedClipEqualsClipThenStep) {
  for (OptimizerType type : {OptimizerType::kAdamW, OptimizerType::kAdam, OptimizerType::kSGD}) {
    OptimizerOptions o;
    o.type = type;
    o.weight_decay = 0.1f;
    o.momentum = 0.9f;
    std::vector<nn::ParamKind> kinds = {nn::ParamKind::kWeight, nn::ParamKind::kBias};
    auto a = two_params(), b = two_params();
    Optimizer oa(o, a, kinds), ob(o, b, kinds);
    for (int step = 0; step < 3; ++step) {
      for (auto* ps : {&a, &b}) {
        (*ps)[0].second.mutable_grad().fill(3.0f + static_cast<float>(step));
        (*ps)[1].second.mutable_grad().fill(-4.0f);
      }
      const double norm = grad_norm(b);
      EXPECT_NEAR(clip_grad_norm(a, 0.5), norm, 1e-9);
      oa.step(0.01f);
      const float coef = clip_coefficient(norm, 0.5);
      EXPECT_LT(coef, 1.0f);
      ob.step(0.01f, coef);
      for (size_t i = 0; i < a.size(); ++i)
        for (int64_t j = 0; j < a[i].second.value().numel(); ++j)
          ASSERT_NEAR(a[i].second.value().f32()[j], b[i].second.value().f32()[j], 1e-7f)
              << optimizer_type_name(type) << " step " << step;
    }
  }
  EXPECT_EQ(clip_coefficient(0.3, 0.5), 1.0f);
  EXPECT_EQ(clip_coefficient(3.0, 0.0), 1.0f);
}

TEST(Optimizer, StateRoundTripAndMissingState) {
  auto params = two_params();
  std::vector<nn::ParamKind> kinds = {nn::ParamKind::kWeight, nn::ParamKind::kBias};
  Optimizer a({}, params, kinds);
  params[0].second.mutable_grad().fill(1.0f);
  a.step(0.01f);
  auto st = a.state();
  ASSERT_EQ(st.size(), 4u);
  Optimizer b({}, params, kinds);
  ASSERT_TRUE(b.load_state(st, a.steps_taken()).ok());
  EXPECT_EQ(b.steps_taken(), 1);
  EXPECT_EQ(b.state()[0].second.f32()[0], st[0].second.f32()[0]);
  st.pop_back();
  Status s = b.load_state(st, 1);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("optim.v.b"), std::string::npos);
}

}  // namespace
}  // namespace loom::optim
