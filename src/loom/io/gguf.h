// GGUF: the file format of llama.cpp / ggml (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md),
// read through a memory map. loom reads it for the tokenizers it carries (gguf_tokenizer.h);
// tensors are listed and bounds-checked so model loading can build on the same reader. Layout
// (all integers little-endian):
//
//   "GGUF"  u32 version (2 or 3)  u64 tensor_count  u64 kv_count
//   kv_count x  { string key, u32 value_type, value }
//   tensor_count x  { string name, u32 n_dims, u64 dims[n_dims], u32 ggml_type, u64 offset }
//   padding to general.alignment (default 32), then the tensor data; offsets are relative to
//   its start and multiples of the alignment
//
// where a string is u64 length + bytes (no terminator) and a value is a scalar of its type,
// a string, or an array: u32 element type, u64 count, the elements.
//
// Every structural rule is checked before anything is handed out, so a corrupt or hostile
// file is a `data loss` Status naming the file, the key or tensor, and the problem, never a
// crash or an allocation the file's size cannot back: a bad magic; a version other than 2 or
// 3; a count, string or array that runs past the end of the file; a value type out of range;
// an array of arrays (valid GGUF, used by no tokenizer or model; unimplemented); a key or
// tensor name repeated; a key that is not valid UTF-8; general.alignment that is not a power
// of two; a tensor with more than 4 dims, a dim of 0 or an element count over 2^62, an
// unaligned offset, or data past the end of the file (for ggml types whose size is known).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loom/base/file.h"
#include "loom/base/status.h"

namespace loom {

enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// "uint32", "string", "array", ...
std::string_view gguf_type_name(GgufType type);

// One metadata value. Integers of every width are held as int64 (a uint64 over 2^63 - 1 is
// refused as data loss: no key in use needs one); floats as double; bools as 0/1 in `ints`.
// An array keeps its element type and fills `strings`, `ints` or `floats`.
struct GgufValue {
  GgufType type = GgufType::kUint32;
  GgufType element_type = GgufType::kUint32;  // arrays only
  bool is_array() const { return type == GgufType::kArray; }
  bool holds_strings() const { return (is_array() ? element_type : type) == GgufType::kString; }
  bool holds_floats() const {
    const GgufType t = is_array() ? element_type : type;
    return t == GgufType::kFloat32 || t == GgufType::kFloat64;
  }
  bool holds_ints() const { return !holds_strings() && !holds_floats(); }
  // Scalars: one element. Arrays: `count` elements.
  std::vector<std::string> strings;
  std::vector<int64_t> ints;
  std::vector<double> floats;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // ggml order: dims[0] is the fastest-varying
  uint32_t ggml_type = 0;
  uint64_t offset = 0;                 // from the start of the data section
  std::optional<uint64_t> nbytes;      // absent for ggml types loom does not know
};

// A memory-mapped, validated GGUF file. Move-only.
class GgufFile {
 public:
  // Errors: the file is missing or unreadable (from MappedFile), or any rule above.
  static StatusOr<GgufFile> open(const std::string& path);
  // Parses bytes already in memory (`source` names them in messages). Tensor data is not
  // kept; only the structure is checked.
  static StatusOr<GgufFile> parse(const uint8_t* data, size_t size, const std::string& source);

  uint32_t version() const { return version_; }
  const std::string& source() const { return source_; }
  // In file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  // nullptr if absent.
  const GgufValue* find(std::string_view key) const;
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  // Typed access for callers that need one key; errors (data loss) name the file, the key,
  // the type found and the type wanted. A missing key is not found.
  StatusOr<std::string> get_string(std::string_view key) const;
  StatusOr<int64_t> get_int(std::string_view key) const;
  StatusOr<const std::vector<std::string>*> get_string_array(std::string_view key) const;
  StatusOr<const std::vector<int64_t>*> get_int_array(std::string_view key) const;

 private:
  MappedFile map_;
  std::string source_;
  uint32_t version_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::map<std::string, size_t, std::less<>> index_;
  std::vector<GgufTensorInfo> tensors_;
};

}  // namespace loom
