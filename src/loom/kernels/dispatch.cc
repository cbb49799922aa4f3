// Process-wide kernel path. Set once at start-up, before any parallel work.
#include "loom/kernels/dispatch.h"

#include <atomic>

namespace loom::kernels {

namespace {
std::atomic<KernelPath> g_path{KernelPath::kOptimized};
}

void set_kernel_path(KernelPath path) { g_path.store(path, std::memory_order_relaxed); }
KernelPath kernel_path() { return g_path.load(std::memory_order_relaxed); }

bool parse_kernel_path(std::string_view name, KernelPath* out) {
  if (name == "reference") {
    *out = KernelPath::kReference;
    return true;
  }
  if (name == "optimized" || name == "auto") {
    *out = KernelPath::kOptimized;
    return true;
  }
  return false;
}

const char* kernel_path_name(KernelPath path) {
  return path == KernelPath::kReference ? "reference" : "optimized";
}

}  // namespace loom::kernels
