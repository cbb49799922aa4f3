// Reference GELU, tanh form (GPT-2): y = 0.5 x (1 + tanh(k (x + 0.044715 x^3))), k = sqrt(2/pi).
// dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 * 0.044715 x^2), t = tanh(...).
// Exact (erf) form (BERT): y = 0.5 x (1 + erf(x / sqrt 2)),
// dy/dx = 0.5 (1 + erf(x / sqrt 2)) + x exp(-x^2 / 2) / sqrt(2 pi).
// tanh(x) (BERT's pooler): dy/dx = 1 - y^2.
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
void gelu_backward(T* dinp, const T* inp, const T* dout, int64_t n, bool overwrite = false) {
  if (overwrite)
    for (int64_t i = 0; i < n; ++i) dinp[i] = T(0);
  const T k = static_cast<T>(0.7978845608028654);
  for (int64_t i = 0; i < n; ++i) {
    T x = inp[i];
    T t = std::tanh(k * (x + T(0.044715) * x * x * x));
    T d = T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * k * (T(1) + T(3) * T(0.044715) * x * x);
    dinp[i] += d * dout[i];
  }
}

template <typename T>
void gelu_erf_forward(T* out, const T* inp, int64_t n) {
  const T r = static_cast<T>(0.7071067811865476);  // 1 / sqrt 2
  for (int64_t i = 0; i < n; ++i) out[i] = T(0.5) * inp[i] * (T(1) + std::erf(inp[i] * r));
}

// Accumulates into dinp.
template <typename T>
void gelu_erf_backward(T* dinp, const T* inp, const T* dout, int64_t n, bool overwrite = false) {
  if (overwrite)
    for (int64_t i = 0; i < n; ++i) dinp[i] = T(0);
  const T r = static_cast<T>(0.7071067811865476), c = static_cast<T>(0.3989422804014327);  // 1/sqrt(2 pi)
  for (int64_t i = 0; i < n; ++i) {
    const T x = inp[i];
    dinp[i] += (T(0.5) * (T(1) + std::erf(x * r)) + x * c * std::exp(T(-0.5) * x * x)) * dout[i];
  }
}

template <typename T>
void tanh_forward(T* out, const T* inp, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = std::tanh(inp[i]);
}

// From the saved output; accumulates into dinp.
template <typename T>
void tanh_backward(T* dinp, const T* out, const T* dout, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dinp[i] += (T(1) - out[i] * out[i]) * dout[i];
}

}  // namespace loom::kernels::reference
