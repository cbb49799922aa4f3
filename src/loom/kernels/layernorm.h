// LayerNorm kernels (float); maths in reference/layernorm.h. Rows run in parallel.
#pragma once

#include <cstdint>

namespace loom::kernels {

// out (N, C); saves mean, rstd (N); bias may be null.
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int64_t N, int64_t C, float eps);
// The same with y rounded to bf16 (kernels::to_bf16) as it is written: for a y that only
// feeds bf16 matmuls, which would round it anyway (half the bytes written and read).
void layernorm_forward_bf16(uint16_t* out, float* mean, float* rstd, const float* inp, const float* weight,
                            const float* bias, int64_t N, int64_t C, float eps);
// Accumulates into dinp (N, C), dweight (C), dbias (C, may be null).
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C);

}  // namespace loom::kernels
