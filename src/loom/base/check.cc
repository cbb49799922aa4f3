// Failure path of LOOM_CHECK: print and abort.
#include "loom/base/check.h"

#include <cstdio>
#include <cstdlib>

namespace loom::detail {

CheckFailure::CheckFailure(const char* file, int line, const char* condition) {
  stream_ << file << ":" << line << ": check failed: " << condition << " ";
}

CheckFailure::~CheckFailure() {
  std::fprintf(stderr, "%s\n", stream_.str().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace loom::detail
