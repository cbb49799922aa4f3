// Tape: records, for one forward pass, the backward function of each coarse op, and runs
// them in reverse. Activations and their gradients live in the tape's arena and die at
// reset(). An activation's gradient is dead once the op that produced the activation has
// run its backward (every consumer ran before it), so the tape then hands its buffer back
// to the arena for the next gradient of that size: the backward pass holds a few layers'
// gradients at a time, not all of them (keep_activation_grads(true) keeps them, to inspect). A tape that is not recording (inference mode) stores nothing and allocates no
// gradient memory: ops see `recording() == false` and skip saving anything.
//
// Typical step:
//   tape.reset(); tape.set_seed(step_seed);
//   Variable loss = model.forward(tape, ids, targets);
//   tape.backward(loss);      // parameter grads += dloss/dparam
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "loom/autograd/variable.h"
#include "loom/base/rng.h"
#include "loom/kernels/matmul.h"
#include "loom/tensor/arena.h"

namespace loom {

class Tape {
 public:
  // `arena` holds activations; it must outlive the tape's use.
  Tape(Arena* arena, bool recording);
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  bool recording() const { return recording_; }
  Arena* arena() const { return arena_; }

  // An activation tensor in the arena (uninitialised / zeroed).
  Tensor empty(const std::vector<int64_t>& shape, DType dtype = DType::kF32) const;
  Tensor zeros(const std::vector<int64_t>& shape, DType dtype = DType::kF32) const;

  // True if any of these needs a gradient and we are recording.
  bool needs_grad(std::initializer_list<const Variable*> inputs) const;
  // Records the backward function of the op that produced `out` (run in reverse order by
  // backward()). `name` (a string literal, e.g. "linear.backward") labels its time when
  // profiling is on (base/profile.h). After it runs, out's gradient is released.
  void record(const char* name, const Variable& out, std::function<void()> backward_fn);
  // The gradient tensor of `v`, created zeroed in the arena on first use. For parameters
  // it is their persistent heap gradient.
  Tensor& grad_of(Variable& v);
  // For a backward that writes its whole contribution to v's gradient in one pass (a GEMM
  // with beta 0 or 1): if v has no gradient yet (an activation: created uninitialised in the
  // arena) or its gradient is logically zero (a parameter after Optimizer::zero_grad), *overwrite
  // is true, so the caller writes instead of adding and the zero fill and its read are
  // skipped; otherwise this is grad_of(v) and *overwrite is false.
  Tensor& grad_to_write(Variable& v, bool* overwrite);
  // Keep every activation's gradient until reset() (for tests and debugging).
  void keep_activation_grads(bool keep) { keep_activation_grads_ = keep; }
  // Whether v's first gradient may be the buffer of the gradient an op's backward is reading
  // (taken over instead of copied): v is an activation without a gradient yet and activation
  // gradients are not being kept (the op's output gradient is read by nothing after it).
  bool can_take_grad(const Variable& v) const {
    return !keep_activation_grads_ && !v.is_parameter() && !v.has_grad();
  }
  // The precision of every matmul (linear op) recorded on this tape, forward and backward:
  // kBF16 is mixed precision (bf16 products, fp32 sums, fp32 weights and activations).
  void set_matmul_precision(kernels::MatmulPrecision p) { matmul_precision_ = p; }
  kernels::MatmulPrecision matmul_precision() const { return matmul_precision_; }
  // The dtype in which a layer whose output feeds only matmuls (a LayerNorm or GELU before a
  // linear) writes it: kBF16 with bf16 products where the kernels read bf16 operands natively
  // (kernels::bf16_operands_native) - the matmul would round that input to the same bf16
  // anyway, so only the bytes change - else kF32. Its gradient stays fp32.
  DType matmul_input_dtype() const;
  // Off: matmul inputs stay fp32 whatever the precision (tests compare the two).
  void set_bf16_matmul_inputs(bool on) { bf16_matmul_inputs_ = on; }

  // Seeds d(loss)/d(loss) = `seed_grad` and runs the recorded backward functions.
  // `loss` must be a scalar produced while recording.
  void backward(Variable& loss, float seed_grad = 1.0f);
  // Forgets the recorded ops and frees the activations (arena reset).
  void reset();

  // Per-step seed for stochastic ops (dropout); each call returns a new stream id.
  void set_seed(uint64_t seed) {
    seed_ = seed;
    calls_ = 0;
  }
  uint64_t next_seed() { return mix64(seed_ ^ mix64(++calls_)); }

 private:
  Arena* arena_;
  bool recording_;
  struct Entry {
    const char* name;
    Variable out;
    std::function<void()> fn;
  };
  std::vector<Entry> backward_fns_;
  bool keep_activation_grads_ = false;
  kernels::MatmulPrecision matmul_precision_ = kernels::MatmulPrecision::kF32;
  bool bf16_matmul_inputs_ = true;
  uint64_t seed_ = 0;
  uint64_t calls_ = 0;
};

}  // namespace loom
