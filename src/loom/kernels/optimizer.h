// Fused optimizer update kernels over one flat parameter array (float); maths in
// reference/optimizer.h.
#pragma once

#include <cstdint>

namespace loom::kernels {

// AdamW when decoupled, Adam with L2 (weight decay added to the gradient) otherwise. Both
// updates read the gradient as grad * grad_scale (global-norm clipping folded into the
// update, instead of a separate pass that rewrites every gradient).
void adamw_update(float* param, const float* grad, float* m, float* v, int64_t n, float lr,
                  float beta1, float beta2, float eps, float weight_decay, int64_t step, bool decoupled,
                  float grad_scale = 1.0f);
void sgd_update(float* param, const float* grad, float* momentum_buf, int64_t n, float lr,
                float momentum, float weight_decay, bool first_step, float grad_scale = 1.0f);
// Sum of squares in double, summed over fixed chunks in order (deterministic).
double sum_squares(const float* x, int64_t n);
// x *= s.
void scale_inplace(float* x, int64_t n, float s);

}  // namespace loom::kernels
