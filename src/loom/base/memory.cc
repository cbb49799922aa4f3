// Aligned allocation; see memory.h.
#include "loom/base/memory.h"

#include <cstdlib>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace loom {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kHugeFrom = size_t{4} << 20;
size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }
}  // namespace

void* allocate_aligned(size_t bytes) {
  if (bytes == 0) bytes = 64;
  if (bytes < kHugeFrom) return std::aligned_alloc(64, round_up(bytes, 64));
  const size_t size = round_up(bytes, kHugePage);
  void* p = std::aligned_alloc(kHugePage, size);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p) ::madvise(p, size, MADV_HUGEPAGE);  // advice only: failure leaves ordinary pages
#endif
  return p;
}

void free_aligned(void* p) { std::free(p); }

}  // namespace loom
