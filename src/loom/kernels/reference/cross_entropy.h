// Reference fused softmax + cross-entropy over the vocabulary. The forward saves only the
// log-sum-exp per row; probabilities are never stored.
//   loss_n = lse_n - logit[n, target_n]     (0 for ignored rows, target < 0)
//   dlogit[n, i] += dloss_n * (exp(logit[n, i] - lse_n) - [i == target_n])
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace loom::kernels::reference {

// logits (N, V), targets (N); writes losses (N) and lse (N).
template <typename T>
void cross_entropy_forward(T* losses, T* lse, const T* logits, const int32_t* targets, int64_t N,
                           int64_t V) {
  for (int64_t n = 0; n < N; ++n) {
    const T* x = logits + n * V;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t i = 0; i < V; ++i) m = x[i] > m ? x[i] : m;
    T s = 0;
    for (int64_t i = 0; i < V; ++i) s += std::exp(x[i] - m);
    lse[n] = m + std::log(s);
    losses[n] = targets[n] < 0 ? T(0) : lse[n] - x[targets[n]];
  }
}

// Accumulates into dlogits (N, V); dlosses (N) is the upstream gradient of each row's loss.
// overwrite: dlogits holds garbage and is written (ignored rows become zero), not added to.
template <typename T>
void cross_entropy_backward(T* dlogits, const T* logits, const T* lse, const int32_t* targets,
                            const T* dlosses, int64_t N, int64_t V, bool overwrite = false) {
  if (overwrite)
    for (int64_t i = 0; i < N * V; ++i) dlogits[i] = T(0);
  for (int64_t n = 0; n < N; ++n) {
    if (targets[n] < 0) continue;
    for (int64_t i = 0; i < V; ++i) {
      T p = std::exp(logits[n * V + i] - lse[n]);
      dlogits[n * V + i] += dlosses[n] * (p - (i == targets[n] ? T(1) : T(0)));
    }
  }
}

}  // namespace loom::kernels::reference
