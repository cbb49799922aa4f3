// GELU (tanh and exact erf forms) and tanh kernels (float); maths in reference/gelu.h.
#pragma once

#include <cstdint>

namespace loom::kernels {

void gelu_forward(float* out, const float* inp, int64_t n);
// The same with y rounded to bf16 (kernels::to_bf16) as it is written, for a y that only
// feeds bf16 matmuls.
void gelu_forward_bf16(uint16_t* out, const float* inp, int64_t n);
// Accumulates into dinp; overwrite: dinp holds garbage and is written, not added to.
void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t n, bool overwrite = false);

void gelu_erf_forward(float* out, const float* inp, int64_t n);
// Accumulates into dinp (overwrite: written, as above).
void gelu_erf_backward(float* dinp, const float* inp, const float* dout, int64_t n, bool overwrite = false);

void tanh_forward(float* out, const float* inp, int64_t n);
// From the saved output; accumulates into dinp.
void tanh_backward(float* dinp, const float* out, const float* dout, int64_t n);

}  // namespace loom::kernels
