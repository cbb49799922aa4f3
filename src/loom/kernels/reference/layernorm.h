// Reference LayerNorm: y = (x - mean) * rstd * w + b over the last dimension C.
// Backward (per row, xhat = (x - mean) * rstd, g = dy * w):
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  dw += dy * xhat,  db += dy.
#pragma once

#include <cmath>
#include <cstdint>

namespace loom::kernels::reference {

// out (N, C); mean, rstd (N) are saved for backward; bias may be null.
template <typename T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                       int64_t N, int64_t C, T eps) {
  for (int64_t n = 0; n < N; ++n) {
    const T* x = inp + n * C;
    T m = 0;
    for (int64_t i = 0; i < C; ++i) m += x[i];
    m /= static_cast<T>(C);
    T v = 0;
    for (int64_t i = 0; i < C; ++i) v += (x[i] - m) * (x[i] - m);
    v /= static_cast<T>(C);
    T s = T(1) / std::sqrt(v + eps);
    T* y = out + n * C;
    for (int64_t i = 0; i < C; ++i) y[i] = (x[i] - m) * s * weight[i] + (bias ? bias[i] : T(0));
    mean[n] = m;
    rstd[n] = s;
  }
}

// Accumulates into dinp (N, C), dweight (C), dbias (C, may be null).
template <typename T>
void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                        const T* weight, const T* mean, const T* rstd, int64_t N, int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    const T* x = inp + n * C;
    const T* dy = dout + n * C;
    T m = mean[n], s = rstd[n];
    T g_mean = 0, gx_mean = 0;
    for (int64_t i = 0; i < C; ++i) {
      T xhat = (x[i] - m) * s;
      T g = dy[i] * weight[i];
      g_mean += g;
      gx_mean += g * xhat;
    }
    g_mean /= static_cast<T>(C);
    gx_mean /= static_cast<T>(C);
    for (int64_t i = 0; i < C; ++i) {
      T xhat = (x[i] - m) * s;
      T g = dy[i] * weight[i];
      if (dbias) dbias[i] += dy[i];
      dweight[i] += dy[i] * xhat;
      dinp[n * C + i] += s * (g - g_mean - xhat * gx_mean);
    }
  }
}

}  // namespace loom::kernels::reference
