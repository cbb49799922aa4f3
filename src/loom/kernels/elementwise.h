// Embedding, dropout, residual add and gradient accumulation kernels (float); maths in
// reference/elementwise.h.
#pragma once

#include <cstdint>

namespace loom::kernels {

// out (B, T, C) = wte[ids] + wpe[t] (wpe may be null).
void embedding_forward(float* out, const int32_t* ids, const float* wte, const float* wpe, int64_t B,
                       int64_t T, int64_t C);
// Accumulates into dwte (V, C) and dwpe (T, C), either may be null.
void embedding_backward(float* dwte, float* dwpe, const float* dout, const int32_t* ids, int64_t B,
                        int64_t T, int64_t C);
void dropout_forward(float* out, const float* inp, int64_t n, float p, uint64_t seed);
// Accumulates into dinp.
void dropout_backward(float* dinp, const float* dout, int64_t n, float p, uint64_t seed);
void add_forward(float* out, const float* a, const float* b, int64_t n);
// dst += src.
void accumulate(float* dst, const float* src, int64_t n);
// dst = src (non-overlapping), split over the pool: a gradient's first contribution.
void copy(float* dst, const float* src, int64_t n);

}  // namespace loom::kernels
