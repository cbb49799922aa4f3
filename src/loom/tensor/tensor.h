// Tensor: an n-dimensional view (shape, strides, offset, dtype) of a Storage. Storage is
// either owned heap memory (parameters, optimizer state, anything that outlives a step) or
// a slice of an Arena (activations of one step). Tensors are cheap to copy; copies share
// storage. Kernels receive raw pointers from data<T>() after the caller has checked shapes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "loom/base/check.h"
#include "loom/base/dtype.h"
#include "loom/tensor/arena.h"

namespace loom {

class Storage {
 public:
  // Zero-initialised heap memory.
  explicit Storage(size_t nbytes);
  // Uninitialised memory from `arena`, valid until its next reset. `reusable` takes it with
  // Arena::allocate_reusable (see Tensor::release_to_arena).
  Storage(Arena* arena, size_t nbytes, bool reusable = false);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const {
    if (arena_) LOOM_CHECK_EQ(arena_->generation(), generation_) << "tensor used after its arena was reset";
    return data_;
  }
  size_t nbytes() const { return nbytes_; }
  bool in_arena() const { return arena_ != nullptr; }
  bool reusable() const { return reusable_; }
  Arena* arena() const { return arena_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Arena* arena_ = nullptr;
  uint64_t generation_ = 0;
  bool reusable_ = false;
};

class Tensor {
 public:
  Tensor() = default;

  // Heap tensors are zero-filled; arena tensors are not (use zeros() for that).
  static Tensor empty(const std::vector<int64_t>& shape, DType dtype = DType::kF32, Arena* arena = nullptr);
  static Tensor zeros(const std::vector<int64_t>& shape, DType dtype = DType::kF32, Arena* arena = nullptr);
  // Zero-filled memory from arena->allocate_reusable(): a buffer that may be handed back
  // before the arena's reset with release_to_arena().
  static Tensor zeros_reusable(const std::vector<int64_t>& shape, DType dtype, Arena* arena);
  // The same, uninitialised: for a buffer its first writer fills completely.
  static Tensor empty_reusable(const std::vector<int64_t>& shape, DType dtype, Arena* arena);
  // A heap f32 tensor holding a copy of `values` (size must equal the shape's numel).
  static Tensor from_vector(const std::vector<int64_t>& shape, const std::vector<float>& values);

  bool defined() const { return storage_ != nullptr; }
  const std::vector<int64_t>& shape() const { return shape_; }
  const std::vector<int64_t>& strides() const { return strides_; }
  int64_t dim(int i) const;
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  DType dtype() const { return dtype_; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;
  std::string shape_str() const { return shape_to_string(shape_); }

  template <typename T>
  T* data() const {
    LOOM_CHECK(defined()) << "data() of an undefined tensor";
    return reinterpret_cast<T*>(static_cast<uint8_t*>(storage_->data()) +
                                offset_ * static_cast<int64_t>(dtype_size(dtype_)));
  }
  float* f32() const {
    LOOM_CHECK(dtype_ == DType::kF32) << "tensor is " << dtype_name(dtype_) << ", expected F32";
    return data<float>();
  }
  // bf16 as bit patterns (kernels::to_bf16 / from_bf16 convert).
  uint16_t* bf16() const {
    LOOM_CHECK(dtype_ == DType::kBF16) << "tensor is " << dtype_name(dtype_) << ", expected BF16";
    return data<uint16_t>();
  }
  int32_t* i32() const {
    LOOM_CHECK(dtype_ == DType::kI32) << "tensor is " << dtype_name(dtype_) << ", expected I32";
    return data<int32_t>();
  }

  // Same data, new shape (contiguous tensors only; numel must match; one dim may be -1).
  Tensor view(std::vector<int64_t> shape) const;
  // Sub-range [start, end) of dimension `d`, sharing storage.
  Tensor slice(int d, int64_t start, int64_t end) const;
  // Copy into new contiguous storage (heap, or `arena` if given).
  Tensor clone(Arena* arena = nullptr) const;
  // Copies the elements of `src` (same shape and dtype) into this tensor.
  void copy_from(const Tensor& src);
  void fill(float value);
  void zero();
  bool shares_storage_with(const Tensor& other) const { return storage_ == other.storage_; }
  // Makes this tensor undefined. If it was the only handle to a zeros_reusable() buffer, the
  // buffer goes back to its arena for reuse; if other handles share it, it is just dropped.
  void release_to_arena();

 private:
  // empty()'s body: from `arena` (reusable: through allocate_reusable) or the heap (zeroed).
  static Tensor allocate(const std::vector<int64_t>& shape, DType dtype, Arena* arena, bool reusable);

  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;  // in elements
  std::vector<int64_t> shape_;
  std::vector<int64_t> strides_;  // in elements
  DType dtype_ = DType::kF32;
};

}  // namespace loom
