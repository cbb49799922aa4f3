// Optimized LayerNorm: rows in parallel; the parameter gradients are reduced over rows in a
// fixed order per thread block so results do not depend on scheduling.
#include "loom/kernels/layernorm.h"

#include <cmath>
#include <vector>

#include "loom/base/threads.h"
#include "loom/kernels/dispatch.h"
#include "loom/kernels/matmul.h"
#include "loom/kernels/reference/layernorm.h"

namespace loom::kernels {

namespace {
// One row of the forward: y[0, C) and the row's mean and rstd.
void layernorm_row(float* y, float* mean, float* rstd, const float* x, const float* weight, const float* bias,
                   int64_t C, float eps) {
  float m = 0;
#pragma omp simd reduction(+ : m)
  for (int64_t i = 0; i < C; ++i) m += x[i];
  m /= static_cast<float>(C);
  float v = 0;
#pragma omp simd reduction(+ : v)
  for (int64_t i = 0; i < C; ++i) v += (x[i] - m) * (x[i] - m);
  v /= static_cast<float>(C);
  const float s = 1.0f / std::sqrt(v + eps);
  if (bias) {
#pragma omp simd
    for (int64_t i = 0; i < C; ++i) y[i] = (x[i] - m) * s * weight[i] + bias[i];
  } else {
#pragma omp simd
    for (int64_t i = 0; i < C; ++i) y[i] = (x[i] - m) * s * weight[i];
  }
  *mean = m;
  *rstd = s;
}
}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int64_t N, int64_t C, float eps) {
  if (use_reference()) {
    reference::layernorm_forward<float>(out, mean, rstd, inp, weight, bias, N, C, eps);
    return;
  }
  parallel_for(N, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) layernorm_row(out + n * C, mean + n, rstd + n, inp + n * C, weight, bias, C, eps);
  }, 4);
}

void layernorm_forward_bf16(uint16_t* out, float* mean, float* rstd, const float* inp, const float* weight,
                            const float* bias, int64_t N, int64_t C, float eps) {
  if (use_reference()) {
    std::vector<float> y(static_cast<size_t>(N * C));
    reference::layernorm_forward<float>(y.data(), mean, rstd, inp, weight, bias, N, C, eps);
    to_bf16(out, y.data(), N * C);
    return;
  }
  parallel_for(N, [&](int64_t lo, int64_t hi) {
    std::vector<float> y(static_cast<size_t>(C));  // one row, in L1 when rounded
    for (int64_t n = lo; n < hi; ++n) {
      layernorm_row(y.data(), mean + n, rstd + n, inp + n * C, weight, bias, C, eps);
      to_bf16(out + n * C, y.data(), C);
    }
  }, 4);
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C) {
  if (use_reference()) {
    reference::layernorm_backward<float>(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
    return;
  }
  // Fixed row partition into kChunks pieces, each with its own partial dweight/dbias,
  // summed in chunk order afterwards: deterministic for any thread count.
  const int64_t kChunks = 16;
  std::vector<float> part(static_cast<size_t>(kChunks * 2 * C), 0.0f);
  parallel_for(kChunks, [&](int64_t ch_lo, int64_t ch_hi) {
  for (int64_t ch = ch_lo; ch < ch_hi; ++ch) {
    float* pw = part.data() + ch * 2 * C;
    float* pb = pw + C;
    const int64_t n0 = N * ch / kChunks, n1 = N * (ch + 1) / kChunks;
    for (int64_t n = n0; n < n1; ++n) {
      const float* x = inp + n * C;
      const float* dy = dout + n * C;
      const float m = mean[n], s = rstd[n];
      float g_mean = 0, gx_mean = 0;
#pragma omp simd reduction(+ : g_mean, gx_mean)
      for (int64_t i = 0; i < C; ++i) {
        const float xhat = (x[i] - m) * s;
        const float g = dy[i] * weight[i];
        g_mean += g;
        gx_mean += g * xhat;
      }
      g_mean /= static_cast<float>(C);
      gx_mean /= static_cast<float>(C);
      float* dx = dinp + n * C;
#pragma omp simd
      for (int64_t i = 0; i < C; ++i) {
        const float xhat = (x[i] - m) * s;
        pb[i] += dy[i];
        pw[i] += dy[i] * xhat;
        dx[i] += s * (dy[i] * weight[i] - g_mean - xhat * gx_mean);
      }
    }
  }
  });
  for (int64_t ch = 0; ch < kChunks; ++ch) {
    const float* pw = part.data() + ch * 2 * C;
    for (int64_t i = 0; i < C; ++i) {
      dweight[i] += pw[i];
      if (dbias) dbias[i] += pw[C + i];
    }
  }
}

}  // namespace loom::kernels
