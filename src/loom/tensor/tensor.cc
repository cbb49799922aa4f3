// Tensor and Storage implementation.
#include "loom/tensor/tensor.h"

#include <cstdlib>
#include <cstring>

#include "loom/base/memory.h"

namespace loom {

Storage::Storage(size_t nbytes) : nbytes_(nbytes) {
  size_t alloc = (nbytes + 63) / 64 * 64;
  data_ = allocate_aligned(alloc == 0 ? 64 : alloc);
  LOOM_CHECK(data_ != nullptr) << "out of memory allocating " << nbytes << " bytes";
  std::memset(data_, 0, alloc == 0 ? 64 : alloc);
}

Storage::Storage(Arena* arena, size_t nbytes, bool reusable)
    : data_(reusable ? arena->allocate_reusable(nbytes) : arena->allocate(nbytes)),
      nbytes_(nbytes),
      arena_(arena),
      generation_(arena->generation()),
      reusable_(reusable) {}

Storage::~Storage() {
  if (!arena_) free_aligned(data_);
}

namespace {
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}
}  // namespace

Tensor Tensor::allocate(const std::vector<int64_t>& shape, DType dtype, Arena* arena, bool reusable) {
  for (int64_t d : shape) LOOM_CHECK_GE(d, 0) << "negative dimension in " << shape_to_string(shape);
  Tensor t;
  size_t nbytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  t.storage_ = arena ? std::make_shared<Storage>(arena, nbytes, reusable) : std::make_shared<Storage>(nbytes);
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::empty(const std::vector<int64_t>& shape, DType dtype, Arena* arena) {
  return allocate(shape, dtype, arena, /*reusable=*/false);
}

Tensor Tensor::zeros(const std::vector<int64_t>& shape, DType dtype, Arena* arena) {
  Tensor t = empty(shape, dtype, arena);
  if (arena) std::memset(t.data<uint8_t>(), 0, t.nbytes());
  return t;
}

Tensor Tensor::empty_reusable(const std::vector<int64_t>& shape, DType dtype, Arena* arena) {
  LOOM_CHECK(arena != nullptr);
  return allocate(shape, dtype, arena, /*reusable=*/true);
}

Tensor Tensor::zeros_reusable(const std::vector<int64_t>& shape, DType dtype, Arena* arena) {
  Tensor t = empty_reusable(shape, dtype, arena);
  std::memset(t.data<uint8_t>(), 0, t.nbytes());
  return t;
}

void Tensor::release_to_arena() {
  if (storage_ && storage_->reusable() && storage_.use_count() == 1) {
    // data() checks the arena generation: a buffer from before a reset is never given back.
    Arena* arena = storage_->arena();
    arena->release(storage_->data(), storage_->nbytes());
  }
  storage_.reset();
  offset_ = 0;
  shape_.clear();
  strides_.clear();
}

Tensor Tensor::from_vector(const std::vector<int64_t>& shape, const std::vector<float>& values) {
  LOOM_CHECK_EQ(shape_numel(shape), static_cast<int64_t>(values.size()));
  Tensor t = empty(shape);
  if (!values.empty()) std::memcpy(t.f32(), values.data(), values.size() * sizeof(float));
  return t;
}

int64_t Tensor::dim(int i) const {
  if (i < 0) i += ndim();
  LOOM_CHECK(i >= 0 && i < ndim()) << "dim " << i << " of a " << ndim() << "-d tensor";
  return shape_[i];
}

bool Tensor::is_contiguous() const { return strides_ == contiguous_strides(shape_); }

Tensor Tensor::view(std::vector<int64_t> shape) const {
  LOOM_CHECK(is_contiguous()) << "view() of a non-contiguous tensor " << shape_str();
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      LOOM_CHECK_EQ(infer, -1) << "more than one -1 in view shape";
      infer = static_cast<int>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) shape[infer] = known == 0 ? 0 : numel() / known;
  LOOM_CHECK_EQ(shape_numel(shape), numel()) << "view " << shape_to_string(shape) << " of " << shape_str();
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  return t;
}

Tensor Tensor::slice(int d, int64_t start, int64_t end) const {
  if (d < 0) d += ndim();
  LOOM_CHECK(d >= 0 && d < ndim());
  LOOM_CHECK(0 <= start && start <= end && end <= shape_[d])
      << "slice [" << start << ", " << end << ") of dim " << d << " in " << shape_str();
  Tensor t = *this;
  t.offset_ += start * strides_[d];
  t.shape_[d] = end - start;
  return t;
}

Tensor Tensor::clone(Arena* arena) const {
  Tensor t = empty(shape_, dtype_, arena);
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  LOOM_CHECK(shape_ == src.shape_ && dtype_ == src.dtype_)
      << "copy_from " << src.shape_str() << " into " << shape_str();
  const size_t es = dtype_size(dtype_);
  if (is_contiguous() && src.is_contiguous()) {
    if (numel() > 0) std::memmove(data<uint8_t>(), src.data<uint8_t>(), nbytes());
    return;
  }
  // General strided copy, one element at a time (rare; used by slices).
  std::vector<int64_t> idx(shape_.size(), 0);
  const int64_t n = numel();
  uint8_t* dst = static_cast<uint8_t*>(storage_->data());
  const uint8_t* s = static_cast<const uint8_t*>(src.storage_->data());
  for (int64_t k = 0; k < n; ++k) {
    int64_t od = offset_, os = src.offset_;
    for (size_t i = 0; i < idx.size(); ++i) {
      od += idx[i] * strides_[i];
      os += idx[i] * src.strides_[i];
    }
    std::memcpy(dst + od * static_cast<int64_t>(es), s + os * static_cast<int64_t>(es), es);
    for (int i = static_cast<int>(idx.size()) - 1; i >= 0; --i) {
      if (++idx[i] < shape_[i]) break;
      idx[i] = 0;
    }
  }
}

void Tensor::fill(float value) {
  LOOM_CHECK(is_contiguous());
  float* p = f32();
  for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = value;
}

void Tensor::zero() {
  LOOM_CHECK(is_contiguous());
  if (numel() > 0) std::memset(data<uint8_t>(), 0, nbytes());
}

}  // namespace loom
