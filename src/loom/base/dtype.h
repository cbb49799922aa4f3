// Element types loom stores. fp32 is the compute type today; bf16 and int8 have room here
// so tensors, files and kernels can grow into them without changing their interfaces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loom {

enum class DType : uint8_t { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kU16, kI8, kU8, kBool };

// Size of one element in bytes.
size_t dtype_size(DType dtype);
// The safetensors spelling: "F32", "BF16", "I32", ...
const char* dtype_name(DType dtype);
// Parses a safetensors dtype name; false if unknown.
bool parse_dtype(std::string_view name, DType* out);

// "[2, 3, 4]"
std::string shape_to_string(const std::vector<int64_t>& shape);
// Product of the dims (1 for a scalar shape).
int64_t shape_numel(const std::vector<int64_t>& shape);

}  // namespace loom
