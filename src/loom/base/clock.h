// Wall time for progress and throughput reports: seconds on the monotonic clock (only
// differences mean anything).
#pragma once

#include <chrono>

namespace loom {

inline double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace loom
