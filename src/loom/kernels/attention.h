// Fused multi-head attention kernels (float): causal (GPT) or bidirectional (BERT), with an
// optional key padding mask; maths and layouts in reference/attention.h. Heads run in
// parallel; only lse (B, NH, T) is saved.
#pragma once

#include <cstdint>

#include "loom/kernels/matmul.h"
#include "loom/kernels/reference/attention.h"

namespace loom::kernels {

using reference::AttentionMask;

// `precision` is that of the products (scores, probabilities times values, and their
// gradients): kBF16 runs them through gemm_bf16 (bf16 operands, fp32 sums), as the linear
// layers of a mixed-precision step do; softmax and its statistics stay fp32. The reference
// path computes in fp32 whatever the precision.
// q, k, v rows at stride ld (B, T, ld) -> out (B, T, C), lse (B, NH, T).
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int64_t ld, int64_t B,
                       int64_t T, int64_t C, int64_t NH, AttentionMask mask,
                       MatmulPrecision precision = MatmulPrecision::kF32);
// Accumulates into dq, dk, dv (layout of q, k, v); with overwrite, writes them instead (each
// head's task zero-fills its own columns before accumulating, in parallel and while they are
// about to be used, rather than a caller's serial fill of the whole buffer).
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, int64_t ld, const float* out, const float* lse, int64_t B, int64_t T,
                        int64_t C, int64_t NH, AttentionMask mask, MatmulPrecision precision = MatmulPrecision::kF32,
                        bool overwrite = false);

// Causal attention on a fused qkv (B, T, 3C) -> out (B, T, C), lse (B, NH, T).
void attention_forward(float* out, float* lse, const float* qkv, int64_t B, int64_t T, int64_t C,
                       int64_t NH, MatmulPrecision precision = MatmulPrecision::kF32);
// Accumulates into dqkv (B, T, 3C), or writes it with overwrite.
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out,
                        const float* lse, int64_t B, int64_t T, int64_t C, int64_t NH,
                        MatmulPrecision precision = MatmulPrecision::kF32, bool overwrite = false);
// Decoding against a KV cache: q (B, Tq, C) at positions past..past+Tq-1, caches (B, S, C).
void attention_cached_forward(float* out, const float* q, const float* kcache, const float* vcache,
                              int64_t B, int64_t Tq, int64_t past, int64_t S, int64_t C, int64_t NH);

}  // namespace loom::kernels
