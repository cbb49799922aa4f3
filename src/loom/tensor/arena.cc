// Arena implementation.
#include "loom/tensor/arena.h"

#include <cstdlib>

#include "loom/base/check.h"
#include "loom/base/memory.h"

namespace loom {

namespace {
constexpr size_t kAlign = 64;
size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

void Arena::FreeDeleter::operator()(void* p) const { free_aligned(p); }

Arena::Block Arena::allocate_block(size_t bytes) {
  void* p = allocate_aligned(round_up(bytes == 0 ? kAlign : bytes));
  LOOM_CHECK(p != nullptr) << "out of memory allocating " << bytes << " bytes";
  return Block(static_cast<uint8_t*>(p));
}

Arena::Arena(size_t initial_bytes) {
  if (initial_bytes > 0) {
    capacity_ = round_up(initial_bytes);
    main_ = allocate_block(capacity_);
  }
}

void* Arena::allocate(size_t bytes) {
  bytes = round_up(bytes == 0 ? 1 : bytes);
  void* p;
  if (used_ + bytes <= capacity_) {
    p = main_.get() + used_;
    used_ += bytes;
  } else {
    overflow_.push_back(allocate_block(bytes));
    overflow_bytes_ += bytes;
    ++system_allocations_;
    p = overflow_.back().get();
  }
  if (used() > peak_) peak_ = used();
  return p;
}

void* Arena::allocate_reusable(size_t bytes) {
  bytes = round_up(bytes == 0 ? 1 : bytes);
  auto it = free_.find(bytes);
  if (it != free_.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    return p;
  }
  return allocate(bytes);
}

void Arena::release(void* p, size_t bytes) {
  LOOM_CHECK(p != nullptr);
  free_[round_up(bytes == 0 ? 1 : bytes)].push_back(p);
}

void Arena::reset() {
  free_.clear();
  if (!overflow_.empty()) {
    overflow_.clear();
    overflow_bytes_ = 0;
    // Grow to the peak so the next step of the same shape fits in one block.
    capacity_ = round_up(peak_ + peak_ / 8);
    main_ = allocate_block(capacity_);
    ++system_allocations_;
  }
  used_ = 0;
  ++generation_;
}

}  // namespace loom
