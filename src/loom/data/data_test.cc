// Data tests: split sizes and errors, sampler determinism, windows are real corpus slices.
#include <gtest/gtest.h>

#include <numeric>

#include "loom/data/token_dataset.h"

namespace loom::data {
namespace {

TEST(TokenSplit, SplitsAndRejectsShortCorpora) {
  std::vector<int32_t> t(1000);
  std::iota(t.begin(), t.end(), 0);
  auto s = split_tokens(t, 0.1, 64, "x.txt");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->train.size(), 900u);
  EXPECT_EQ(s->val.size(), 100u);
  EXPECT_EQ(s->val[0], 900);
  auto bad = split_tokens(std::vector<int32_t>(50), 0.1, 64, "tiny.txt");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tiny.txt"), std::string::npos);
  EXPECT_NE(bad.status().message().find("50 tokens"), std::string::npos);
}

TEST(WindowSampler, DeterministicByIndexAndTargetsShifted) {
  std::vector<int32_t> t(500);
  std::iota(t.begin(), t.end(), 0);
  VectorStream stream(&t);
  WindowSampler s(&stream, 4, 16, 1337);
  Batch a, b, c;
  s.batch(7, &a);
  s.batch(7, &b);
  s.batch(8, &c);
  EXPECT_EQ(a.inputs, b.inputs);
  EXPECT_NE(a.inputs, c.inputs);
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t i = 0; i < 16; ++i) {
      EXPECT_EQ(a.targets[r * 16 + i], a.inputs[r * 16 + i] + 1);
      if (i) {
        EXPECT_EQ(a.inputs[r * 16 + i], a.inputs[r * 16 + i - 1] + 1);
      }
    }
  WindowSampler other(&stream, 4, 16, 1338);
  Batch d;
  other.batch(7, &d);
  EXPECT_NE(a.inputs, d.inputs);
}

}  // namespace
}  // namespace loom::data
