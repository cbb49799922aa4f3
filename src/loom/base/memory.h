// Aligned allocation for tensors and arenas. Large blocks (>= 4 MiB) are aligned to 2 MiB and
// marked for transparent huge pages (madvise), so the big matrices of a training step are
// covered by few TLB entries; on systems without THP the advice is ignored.
#pragma once

#include <cstddef>

namespace loom {

// At least 64-byte aligned; nullptr if out of memory. Free with free_aligned.
void* allocate_aligned(size_t bytes);
void free_aligned(void* p);

}  // namespace loom
