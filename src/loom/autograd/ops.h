// The coarse differentiable ops loom's models are built from. Each one calls a forward
// kernel, and when the tape is recording and an input needs a gradient, records the matching
// backward kernel with the tensors it must keep. One file per op (`<op>_op.cc`) holds the
// maths in its header comment. Shapes are checked with LOOM_CHECK: the layers above
// validate configs and inputs, so a bad shape here is a loom bug.
#pragma once

#include "loom/autograd/tape.h"
#include "loom/autograd/variable.h"
#include "loom/kernels/reference/matmul.h"

namespace loom {

using kernels::WeightLayout;

// ids (B, T) I32, wte (V, C), pos (T_max >= T, C) learned Variable or fixed table (may be
// undefined). Returns (B, T, C) = wte[ids] + pos[t].
Variable embedding(Tape& tape, const Tensor& ids, Variable& wte, Variable& pos);

// x (..., C) @ W + b -> (..., OC); W is (C, OC) for kInOut, (OC, C) for kOutIn; b may be
// undefined.
Variable linear(Tape& tape, Variable& x, Variable& weight, Variable& bias, WeightLayout layout);

// LayerNorm over the last dim; bias may be undefined.
// out_dtype kBF16 writes y rounded to bf16, for a y that only feeds bf16 matmuls
// (Tape::matmul_input_dtype); its gradient is fp32 either way.
Variable layernorm(Tape& tape, Variable& x, Variable& weight, Variable& bias, float eps,
                   DType out_dtype = DType::kF32);

// GELU: the tanh approximation (GPT-2) or the exact erf form (BERT).
enum class GeluForm { kTanh, kErf };
// out_dtype as for layernorm (kBF16 with the tanh form only).
Variable gelu(Tape& tape, Variable& x, GeluForm form = GeluForm::kTanh, DType out_dtype = DType::kF32);

// Elementwise tanh (BERT's pooler).
Variable tanh_activation(Tape& tape, Variable& x);

// Fused causal self-attention: qkv (B, T, 3C) -> (B, T, C).
Variable causal_attention(Tape& tape, Variable& qkv, int64_t n_head);

// Multi-head attention of separate q, k, v (B, T, C) -> (B, T, C): causal or bidirectional,
// and with key_mask (B, T) I32 (0 = padding, never attended to) unless it is undefined.
Variable attention(Tape& tape, Variable& q, Variable& k, Variable& v, int64_t n_head, bool causal,
                   const Tensor& key_mask);

// Rows of x viewed as (N, C) (C = its last dim): rows (M) I32 in [0, N) -> (M, C). The
// backward adds each output row's gradient back into its source row.
Variable gather_rows(Tape& tape, Variable& x, const Tensor& rows);

// a + b (same shape).
Variable add(Tape& tape, Variable& a, Variable& b);

// Inverted dropout with probability p; identity when p == 0 (returns x itself).
Variable dropout(Tape& tape, Variable& x, float p);

// Mean cross-entropy of logits (N, V) against targets (N) I32 (-1 = ignore) -> scalar.
// With every target ignored the loss is 0.
Variable cross_entropy(Tape& tape, Variable& logits, const Tensor& targets);

}  // namespace loom

namespace loom {

// Inference-only attention against a KV cache: qkv (B, Tq, 3C) for positions
// past .. past+Tq-1; their keys and values are written into kcache/vcache (B, S, C) at
// those positions, then each query attends to positions <= its own. Returns (B, Tq, C).
// The tape must not be recording.
Variable cached_attention(Tape& tape, Variable& qkv, Tensor& kcache, Tensor& vcache, int64_t past,
                          int64_t n_head);

}  // namespace loom
