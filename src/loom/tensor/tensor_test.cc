// Tests for Tensor views and the Arena (reuse after warm-up, use-after-reset detection).
#include <gtest/gtest.h>

#include "loom/tensor/tensor.h"

namespace loom {
namespace {

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::from_vector({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor v = t.view({3, -1});
  EXPECT_EQ(v.shape(), (std::vector<int64_t>{3, 2}));
  v.f32()[0] = 9;
  EXPECT_EQ(t.f32()[0], 9);
  Tensor row = t.slice(0, 1, 2);
  EXPECT_EQ(row.f32()[0], 3);
  Tensor col = t.slice(1, 1, 3);
  EXPECT_FALSE(col.is_contiguous());
  Tensor c = col.clone();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.f32()[0], 1);
  EXPECT_EQ(c.f32()[3], 5);
}

TEST(Arena, ReusesMemoryAfterWarmup) {
  Arena arena(128);
  for (int step = 0; step < 5; ++step) {
    for (int i = 0; i < 10; ++i) Tensor::empty({100, 10}, DType::kF32, &arena);
    arena.reset();
  }
  const int64_t after_warmup = arena.system_allocations();
  for (int step = 0; step < 5; ++step) {
    for (int i = 0; i < 10; ++i) Tensor::empty({100, 10}, DType::kF32, &arena);
    arena.reset();
  }
  EXPECT_EQ(arena.system_allocations(), after_warmup);
  EXPECT_GE(arena.capacity(), 10u * 4000u);
}

TEST(ArenaDeath, UseAfterResetAborts) {
  Arena arena(1024);
  Tensor t = Tensor::zeros({4}, DType::kF32, &arena);
  arena.reset();
  EXPECT_DEATH((void)t.f32(), "used after its arena was reset");
}

}  // namespace
}  // namespace loom
