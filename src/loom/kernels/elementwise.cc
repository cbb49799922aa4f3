// Optimized elementwise kernels: fixed chunks over threads. The embedding backward splits
// the channel dimension across threads, so every dwte element is summed by one thread in
// token order (deterministic, no atomics).
#include "loom/kernels/elementwise.h"

#include "loom/kernels/dispatch.h"
#include "loom/kernels/reference/elementwise.h"

namespace loom::kernels {

namespace {
constexpr int64_t kChunk = 8192;
inline int64_t len(int64_t c, int64_t n) { return c + kChunk < n ? kChunk : n - c; }
}  // namespace

void embedding_forward(float* out, const int32_t* ids, const float* wte, const float* wpe, int64_t B,
                       int64_t T, int64_t C) {
  if (use_reference()) return reference::embedding_forward<float>(out, ids, wte, wpe, B, T, C);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      float* o = out + (b * T + t) * C;
      const float* e = wte + static_cast<int64_t>(ids[b * T + t]) * C;
      if (wpe) {
#pragma omp simd
        for (int64_t i = 0; i < C; ++i) o[i] = e[i] + wpe[t * C + i];
      } else {
        for (int64_t i = 0; i < C; ++i) o[i] = e[i];
      }
    }
}

void embedding_backward(float* dwte, float* dwpe, const float* dout, const int32_t* ids, int64_t B,
                        int64_t T, int64_t C) {
  if (use_reference()) return reference::embedding_backward<float>(dwte, dwpe, dout, ids, B, T, C);
  constexpr int64_t kCols = 32;
  const int64_t n_blocks = (C + kCols - 1) / kCols;
#pragma omp parallel for schedule(static)
  for (int64_t blk = 0; blk < n_blocks; ++blk) {
    const int64_t c0 = blk * kCols, c1 = c0 + kCols < C ? c0 + kCols : C;
    for (int64_t bt = 0; bt < B * T; ++bt) {
      const float* d = dout + bt * C;
      if (dwte) {
        float* e = dwte + static_cast<int64_t>(ids[bt]) * C;
        for (int64_t i = c0; i < c1; ++i) e[i] += d[i];
      }
      if (dwpe) {
        float* p = dwpe + (bt % T) * C;
        for (int64_t i = c0; i < c1; ++i) p[i] += d[i];
      }
    }
  }
}

void dropout_forward(float* out, const float* inp, int64_t n, float p, uint64_t seed) {
  if (use_reference()) return reference::dropout_forward<float>(out, inp, n, p, seed);
  const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    out[i] = counter_uniform(seed, static_cast<uint64_t>(i)) >= p ? inp[i] * scale : 0.0f;
}

void dropout_backward(float* dinp, const float* dout, int64_t n, float p, uint64_t seed) {
  if (use_reference()) return reference::dropout_backward<float>(dinp, dout, n, p, seed);
  const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    if (counter_uniform(seed, static_cast<uint64_t>(i)) >= p) dinp[i] += dout[i] * scale;
}

void add_forward(float* out, const float* a, const float* b, int64_t n) {
  if (use_reference()) return reference::add_forward<float>(out, a, b, n);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < n; c += kChunk) reference::add_forward<float>(out + c, a + c, b + c, len(c, n));
}

void accumulate(float* dst, const float* src, int64_t n) {
  if (use_reference()) return reference::accumulate<float>(dst, src, n);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < n; c += kChunk) reference::accumulate<float>(dst + c, src + c, len(c, n));
}

}  // namespace loom::kernels
