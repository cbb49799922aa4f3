// Environment access, kept in one file so every variable loom reads is easy to find.
#include "loom/base/env.h"

#include <cstdlib>

namespace loom {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return v;
}

}  // namespace loom
