// safetensors: Hugging Face's tensor file format, read through a memory map and written
// atomically. Layout: an 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value", ...}}
// then the data buffer (offsets are relative to its start). Every structural rule is
// checked when a file is opened; a violation is a `data loss` Status naming the file, the
// tensor and what is wrong, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "loom/base/dtype.h"
#include "loom/base/file.h"
#include "loom/base/status.h"

namespace loom {

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // into the file's memory
  size_t nbytes = 0;
};

// Parses bytes already in memory; `source` names them in error messages. Entries point
// into `data`, in file (header) order.
StatusOr<std::vector<SafetensorsEntry>> parse_safetensors(const uint8_t* data, size_t size, const std::string& source,
                                                          std::map<std::string, std::string>* metadata);

class SafetensorsFile {
 public:
  static StatusOr<SafetensorsFile> open(const std::string& path);
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  // nullptr if absent.
  const SafetensorsEntry* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return map_.path(); }

 private:
  MappedFile map_;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
};

// The file's bytes. Tensors keep the given order; the header is padded with spaces so the
// data starts 8-byte aligned.
std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata);
// serialize_safetensors() written atomically to `path`.
Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata);

}  // namespace loom
