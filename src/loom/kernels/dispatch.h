// Which implementation the kernels run. Every kernel has a scalar reference version
// (kernels/reference/, templated so the gradient checks can run it in double precision)
// and an optimized version (threaded over loom's one pool, vectorizable inner loops,
// oneDNN's JIT-compiled GEMM which picks AVX-512/AVX2/SSE code for the CPU it runs on).
//
// The path is chosen once by the program (the CLI or a test main reads LOOM_KERNELS via
// base/env.h and calls set_kernel_path); kernels themselves never read the environment.
#pragma once

#include <string_view>

namespace loom::kernels {

enum class KernelPath {
  kReference,  // scalar, single-threaded, the definition of each kernel's maths
  kOptimized,  // threaded, vectorized, oneDNN GEMM with run-time CPU dispatch
};

void set_kernel_path(KernelPath path);
KernelPath kernel_path();
// "reference" | "optimized" | "auto" (= optimized). False if the name is unknown.
bool parse_kernel_path(std::string_view name, KernelPath* out);
const char* kernel_path_name(KernelPath path);

inline bool use_reference() { return kernel_path() == KernelPath::kReference; }

}  // namespace loom::kernels
