// Optimized GELU: the reference loop split across threads in fixed chunks.
#include "loom/kernels/gelu.h"

#include "loom/kernels/dispatch.h"
#include "loom/kernels/reference/gelu.h"

namespace loom::kernels {

namespace {
constexpr int64_t kChunk = 4096;
}

void gelu_forward(float* out, const float* inp, int64_t n) {
  if (use_reference()) return reference::gelu_forward<float>(out, inp, n);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < n; c += kChunk)
    reference::gelu_forward<float>(out + c, inp + c, c + kChunk < n ? kChunk : n - c);
}

void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t n) {
  if (use_reference()) return reference::gelu_backward<float>(dinp, inp, dout, n);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < n; c += kChunk)
    reference::gelu_backward<float>(dinp + c, inp + c, dout + c, c + kChunk < n ? kChunk : n - c);
}

}  // namespace loom::kernels
