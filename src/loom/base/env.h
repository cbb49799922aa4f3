// The few environment variables loom reads, read in one place (the CLI and the tests call
// these once at start-up; no layer below reads the environment). All are listed in
// docs/environment.md.
//   LOOM_KERNELS   which kernel path to force: "auto" (default), "reference", "avx2", "avx512"
//   LOOM_DATA_DIR  where tests and benchmarks find ../shared/data-style corpora
#pragma once

#include <string>

namespace loom {

// The value of an environment variable, or `fallback` if unset or empty.
std::string env_or(const char* name, const std::string& fallback);

}  // namespace loom
