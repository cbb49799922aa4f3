// Reference embedding lookup (+ positional rows), dropout and residual add.
#pragma once

#include <cstdint>

#include "loom/base/rng.h"

namespace loom::kernels::reference {

// out (B, T, C) = wte[ids[b, t]] + (wpe ? wpe[t] : 0). ids must be in [0, V) (checked by caller).
template <typename T>
void embedding_forward(T* out, const int32_t* ids, const T* wte, const T* wpe, int64_t B, int64_t Tn,
                       int64_t C) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < Tn; ++t) {
      T* o = out + (b * Tn + t) * C;
      const T* e = wte + static_cast<int64_t>(ids[b * Tn + t]) * C;
      for (int64_t i = 0; i < C; ++i) o[i] = e[i] + (wpe ? wpe[t * C + i] : T(0));
    }
}

// Accumulates into dwte (V, C) and dwpe (T, C) (either may be null).
template <typename T>
void embedding_backward(T* dwte, T* dwpe, const T* dout, const int32_t* ids, int64_t B, int64_t Tn,
                        int64_t C) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < Tn; ++t) {
      const T* d = dout + (b * Tn + t) * C;
      if (dwte) {
        T* e = dwte + static_cast<int64_t>(ids[b * Tn + t]) * C;
        for (int64_t i = 0; i < C; ++i) e[i] += d[i];
      }
      if (dwpe)
        for (int64_t i = 0; i < C; ++i) dwpe[t * C + i] += d[i];
    }
}

// Inverted dropout: element i is kept iff counter_uniform(seed, i) >= p, and scaled 1/(1-p).
// The mask is a pure function of (seed, i), so the backward recomputes it.
template <typename T>
void dropout_forward(T* out, const T* inp, int64_t n, float p, uint64_t seed) {
  const T scale = T(1) / (T(1) - static_cast<T>(p));
  for (int64_t i = 0; i < n; ++i)
    out[i] = counter_uniform(seed, static_cast<uint64_t>(i)) >= p ? inp[i] * scale : T(0);
}

template <typename T>
void dropout_backward(T* dinp, const T* dout, int64_t n, float p, uint64_t seed) {
  const T scale = T(1) / (T(1) - static_cast<T>(p));
  for (int64_t i = 0; i < n; ++i)
    if (counter_uniform(seed, static_cast<uint64_t>(i)) >= p) dinp[i] += dout[i] * scale;
}

// out = a + b.
template <typename T>
void add_forward(T* out, const T* a, const T* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

// dst += src (the backward of add for each input, and general gradient accumulation).
template <typename T>
void accumulate(T* dst, const T* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

}  // namespace loom::kernels::reference
