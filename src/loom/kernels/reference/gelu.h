// Reference GELU, tanh form (GPT-2): y = 0.5 x (1 + tanh(k (x + 0.044715 x^3))), k = sqrt(2/pi).
// dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 * 0.044715 x^2), t = tanh(...).
#pragma once

#include <cmath>
#include <cstdint>

namespace loom::kernels::reference {

template <typename T>
void gelu_forward(T* out, const T* inp, int64_t n) {
  const T k = static_cast<T>(0.7978845608028654);
  for (int64_t i = 0; i < n; ++i) {
    T x = inp[i];
    out[i] = T(0.5) * x * (T(1) + std::tanh(k * (x + T(0.044715) * x * x * x)));
  }
}

// Accumulates into dinp.
template <typename T>
void gelu_backward(T* dinp, const T* inp, const T* dout, int64_t n) {
  const T k = static_cast<T>(0.7978845608028654);
  for (int64_t i = 0; i < n; ++i) {
    T x = inp[i];
    T t = std::tanh(k * (x + T(0.044715) * x * x * x));
    T d = T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * k * (T(1) + T(3) * T(0.044715) * x * x);
    dinp[i] += d * dout[i];
  }
}

}  // namespace loom::kernels::reference
