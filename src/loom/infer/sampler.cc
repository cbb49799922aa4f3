// Sampling implementation.
#include "loom/infer/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace loom::infer {

Status SamplingOptions::validate() const {
  if (!(temperature >= 0.0f))
    return invalid_argument("temperature is " + std::to_string(temperature) + "; it must be >= 0 (0 = greedy)");
  if (top_k < 0) return invalid_argument("top_k is " + std::to_string(top_k) + "; it must be >= 0 (0 = off)");
  if (!(top_p > 0.0f && top_p <= 1.0f))
    return invalid_argument("top_p is " + std::to_string(top_p) + "; it must be in (0, 1]");
  if (!(repetition_penalty > 0.0f))
    return invalid_argument("repetition_penalty is " + std::to_string(repetition_penalty) +
                            "; it must be > 0 (1 = off)");
  return ok_status();
}

int32_t sample_token(std::span<const float> logits, std::span<const int32_t> history,
                     const SamplingOptions& o, Rng& rng, std::vector<float>* scratch) {
  const int64_t V = static_cast<int64_t>(logits.size());
  std::vector<float>& x = *scratch;
  x.assign(logits.begin(), logits.end());
  if (o.repetition_penalty != 1.0f) {
    std::vector<bool> seen(static_cast<size_t>(V), false);
    for (int32_t id : history)
      if (id >= 0 && id < V) seen[static_cast<size_t>(id)] = true;
    for (int64_t i = 0; i < V; ++i)
      if (seen[static_cast<size_t>(i)]) x[i] = x[i] > 0 ? x[i] / o.repetition_penalty : x[i] * o.repetition_penalty;
  }
  if (o.temperature == 0.0f)
    return static_cast<int32_t>(std::max_element(x.begin(), x.end()) - x.begin());

  // Candidates sorted by logit, descending (ties by id, for determinism).
  std::vector<int32_t> idx(static_cast<size_t>(V));
  std::iota(idx.begin(), idx.end(), 0);
  int64_t keep = V;
  if (o.top_k > 0 && o.top_k < V) keep = o.top_k;
  auto by_logit = [&](int32_t a, int32_t b) { return x[a] > x[b] || (x[a] == x[b] && a < b); };
  std::partial_sort(idx.begin(), idx.begin() + keep, idx.end(), by_logit);
  idx.resize(static_cast<size_t>(keep));

  std::vector<double> p(idx.size());
  const double m = x[idx[0]];
  double sum = 0;
  for (size_t i = 0; i < idx.size(); ++i) {
    p[i] = std::exp((x[idx[i]] - m) / o.temperature);
    sum += p[i];
  }
  for (double& v : p) v /= sum;
  if (o.top_p < 1.0f) {
    double cum = 0;
    size_t n = 0;
    while (n < p.size()) {
      cum += p[n++];
      if (cum >= o.top_p) break;
    }
    p.resize(n);
    idx.resize(n);
    double s2 = std::accumulate(p.begin(), p.end(), 0.0);
    for (double& v : p) v /= s2;
  }
  double u = static_cast<double>(rng.uniform());
  for (size_t i = 0; i < p.size(); ++i) {
    u -= p[i];
    if (u < 0) return idx[i];
  }
  return idx.back();
}

}  // namespace loom::infer
