// Fused softmax + cross-entropy kernels (float); maths in reference/cross_entropy.h.
#pragma once

#include <cstdint>

namespace loom::kernels {

// logits (N, V), targets (N, < 0 = ignored) -> losses (N), lse (N).
void cross_entropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                           int64_t N, int64_t V);
// Accumulates into dlogits (N, V). overwrite: dlogits holds garbage and is written (ignored
// rows become zero) without being read: the logits' first and only gradient, written in one
// pass instead of a zero fill plus a read-modify-write (the logits of a vocabulary-sized
// head are the largest tensor of a step).
void cross_entropy_backward(float* dlogits, const float* logits, const float* lse,
                            const int32_t* targets, const float* dlosses, int64_t N, int64_t V,
                            bool overwrite = false);

}  // namespace loom::kernels
