// GELU (tanh form) kernels (float); maths in reference/gelu.h.
#pragma once

#include <cstdint>

namespace loom::kernels {

void gelu_forward(float* out, const float* inp, int64_t n);
// Accumulates into dinp.
void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t n);

}  // namespace loom::kernels
