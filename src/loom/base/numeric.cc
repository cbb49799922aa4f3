// Numeric helpers.
#include "loom/base/numeric.h"

#include <cstdio>
#include <cstdlib>

namespace loom {

double shortest_double(float f) {
  char buf[32];
  for (int prec = 6; prec <= 9; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, static_cast<double>(f));
    if (std::strtof(buf, nullptr) == f) break;
  }
  return std::strtod(buf, nullptr);
}

}  // namespace loom
