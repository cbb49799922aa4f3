// The one thread pool. loom runs all parallel work (its own kernels and oneDNN's GEMM) on
// the OpenMP runtime, so there is never a second pool spinning against the first.
#pragma once

namespace loom {

// Sets the number of threads for all later parallel regions. n >= 1.
void set_num_threads(int n);
int num_threads();

}  // namespace loom
