// Arena: a bump allocator for the activations of one training or inference step. Tensors
// built from it cost a pointer increment; reset() frees them all at once. The first steps
// may overflow into extra blocks; reset() then grows the main block to the peak seen, so
// after warm-up a step allocates nothing from the system.
//
// Every reset bumps a generation counter; tensors remember the generation they were made
// in and LOOM_CHECK that it is still current when their data is touched, so a tensor used
// after its arena was reset aborts loudly instead of reading recycled memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace loom {

class Arena {
 public:
  explicit Arena(size_t initial_bytes = 0);
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // 64-byte aligned, uninitialised.
  void* allocate(size_t bytes);
  // Frees everything allocated since the last reset.
  void reset();

  // Like allocate(), but first reuses a block of the same rounded size given back by
  // release() since the last reset. For buffers whose life ends before the step does
  // (activation gradients: dead once the op that produced the activation has run its
  // backward), so the peak holds only the live ones.
  void* allocate_reusable(size_t bytes);
  // Gives back a block from allocate_reusable() for reuse before the next reset. The caller
  // guarantees nothing reads or writes it afterwards.
  void release(void* p, size_t bytes);

  uint64_t generation() const { return generation_; }
  size_t capacity() const { return capacity_; }
  size_t used() const { return used_ + overflow_bytes_; }
  size_t peak() const { return peak_; }
  // Number of times allocate() had to go to the system since construction.
  int64_t system_allocations() const { return system_allocations_; }

 private:
  struct FreeDeleter {
    void operator()(void* p) const;
  };
  using Block = std::unique_ptr<uint8_t, FreeDeleter>;
  static Block allocate_block(size_t bytes);

  Block main_;
  size_t capacity_ = 0;
  size_t used_ = 0;
  std::vector<Block> overflow_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // released blocks by rounded size
  size_t overflow_bytes_ = 0;
  size_t peak_ = 0;
  uint64_t generation_ = 1;
  int64_t system_allocations_ = 0;
};

}  // namespace loom
