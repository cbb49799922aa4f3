// Classification metrics against values worked out by hand (and scikit-learn's conventions).
#include <gtest/gtest.h>

#include "loom/train/classify_metrics.h"

namespace loom::train {
namespace {

TEST(ClassifyMetrics, MatchesHandComputedValues) {
  // 3 classes; truth / predicted for 8 examples.
  const std::vector<int32_t> truth = {0, 0, 0, 1, 1, 2, 2, 2};
  const std::vector<int32_t> pred = {0, 0, 1, 1, 2, 2, 2, 0};
  const ClassificationReport r = classification_report(truth, pred, {"neg", "neu", "pos"});
  EXPECT_EQ(r.examples, 8);
  EXPECT_DOUBLE_EQ(r.accuracy, 5.0 / 8.0);
  EXPECT_EQ(r.confusion, (std::vector<std::vector<int64_t>>{{2, 1, 0}, {0, 1, 1}, {1, 0, 2}}));
  // neg: tp 2, fp 1, fn 1; neu: tp 1, fp 1, fn 1; pos: tp 2, fp 1, fn 1.
  EXPECT_DOUBLE_EQ(r.per_class[0].precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.per_class[0].recall, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.per_class[1].precision, 0.5);
  EXPECT_DOUBLE_EQ(r.per_class[1].recall, 0.5);
  EXPECT_EQ(r.per_class[2].support, 3);
  EXPECT_NEAR(r.macro.f1, (2.0 / 3.0 + 0.5 + 2.0 / 3.0) / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(r.micro.precision, r.accuracy);  // single-label: micro = accuracy
  EXPECT_DOUBLE_EQ(r.micro.f1, r.accuracy);
  const auto j = report_to_json(r);
  EXPECT_DOUBLE_EQ(j["per_class"]["neu"]["f1"].get<double>(), 0.5);
  const std::string text = report_to_text(r);
  EXPECT_NE(text.find("accuracy 0.6250 (8 examples)"), std::string::npos) << text;
}

TEST(ClassifyMetrics, NeverPredictedClassScoresZeroNotNaN) {
  const ClassificationReport r = classification_report({0, 1, 1}, {0, 0, 0}, {"a", "b"});
  EXPECT_DOUBLE_EQ(r.per_class[1].precision, 0.0);
  EXPECT_DOUBLE_EQ(r.per_class[1].recall, 0.0);
  EXPECT_DOUBLE_EQ(r.per_class[1].f1, 0.0);
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0 / 3.0);
}

}  // namespace
}  // namespace loom::train
