// OpenMP-backed thread settings.
#include "loom/base/threads.h"

#include <omp.h>

#include "loom/base/check.h"

namespace loom {

void set_num_threads(int n) {
  LOOM_CHECK_GE(n, 1);
  omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace loom
