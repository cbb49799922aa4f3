// Shared by the PyTorch fixture tests of the models: element-wise comparison against a
// stored tensor with an absolute + relative tolerance, and the optimizer settings stored in
// a fixture's metadata.
#pragma once

#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "loom/io/safetensors.h"
#include "loom/optim/optimizer.h"

namespace loom::models::fixture {

struct Tolerance {
  double abs;
  double rel;
};

// Max over elements of |a - b| / (abs + rel * |b|) must be <= 1.
inline void expect_close(const float* a, const SafetensorsEntry& b, int64_t n, Tolerance tol, const std::string& what) {
  ASSERT_EQ(b.dtype, DType::kF32) << what;
  ASSERT_EQ(static_cast<size_t>(n) * 4, b.nbytes) << what;
  const float* e = reinterpret_cast<const float*>(b.data);
  double worst = 0;
  int64_t worst_i = 0;
  for (int64_t i = 0; i < n; ++i) {
    double r = std::abs(static_cast<double>(a[i]) - e[i]) / (tol.abs + tol.rel * std::abs(e[i]));
    if (!(r <= worst)) {
      worst = r;
      worst_i = i;
    }
  }
  EXPECT_LE(worst, 1.0) << what << ": element " << worst_i << " is " << a[worst_i] << ", PyTorch has " << e[worst_i];
}

// The fixture's "optimizer" metadata: AdamW betas, eps, weight decay; lr and clip norm.
struct FixtureOptimizer {
  optim::OptimizerOptions options;
  float lr = 0;
  double grad_clip = 0;
};
inline FixtureOptimizer optimizer_from(const SafetensorsFile& f) {
  auto j = nlohmann::json::parse(f.metadata().at("optimizer"));
  FixtureOptimizer o;
  o.options.beta1 = j["betas"][0];
  o.options.beta2 = j["betas"][1];
  o.options.eps = j["eps"];
  o.options.weight_decay = j["weight_decay"];
  o.lr = j["lr"];
  o.grad_clip = j["grad_clip"];
  return o;
}

}  // namespace loom::models::fixture
