// Reference parameter updates over flat arrays. Step counts start at 1; g is the gradient
// times grad_scale (the global-norm clipping coefficient, 1 when not clipping).
//   AdamW:  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//           p -= lr * (m / (1-b1^t) / (sqrt(v / (1-b2^t)) + eps) + wd * p)
//   Adam (L2, coupled):  g' = g + wd * p, then the Adam update without the decoupled term.
//   SGD with momentum (PyTorch form):  g' = g + wd * p;  buf = mu buf + g';  p -= lr * buf
#pragma once

#include <cmath>
#include <cstdint>

namespace loom::kernels::reference {

template <typename T>
void adamw_update(T* param, const T* grad, T* m, T* v, int64_t n, float lr, float beta1, float beta2,
                  float eps, float weight_decay, int64_t step, bool decoupled, float grad_scale = 1.0f) {
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i] * static_cast<T>(grad_scale);
    if (!decoupled) g += static_cast<T>(weight_decay) * param[i];
    m[i] = static_cast<T>(beta1) * m[i] + static_cast<T>(1.0f - beta1) * g;
    v[i] = static_cast<T>(beta2) * v[i] + static_cast<T>(1.0f - beta2) * g * g;
    T mhat = m[i] / static_cast<T>(bc1);
    T denom = static_cast<T>(std::sqrt(static_cast<double>(v[i]) / bc2)) + static_cast<T>(eps);
    if (decoupled) param[i] -= static_cast<T>(lr * weight_decay) * param[i];
    param[i] -= static_cast<T>(lr) * mhat / denom;
  }
}

template <typename T>
void sgd_update(T* param, const T* grad, T* momentum_buf, int64_t n, float lr, float momentum,
                float weight_decay, bool first_step, float grad_scale = 1.0f) {
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i] * static_cast<T>(grad_scale) + static_cast<T>(weight_decay) * param[i];
    if (momentum != 0.0f) {
      momentum_buf[i] = first_step ? g : static_cast<T>(momentum) * momentum_buf[i] + g;
      g = momentum_buf[i];
    }
    param[i] -= static_cast<T>(lr) * g;
  }
}

// Sum of squares in double (for the global gradient norm).
template <typename T>
double sum_squares(const T* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return s;
}

}  // namespace loom::kernels::reference
