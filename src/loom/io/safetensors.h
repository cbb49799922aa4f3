// safetensors: Hugging Face's tensor file format (https://github.com/huggingface/safetensors),
// read through a memory map and written atomically. It is how loom stores weights, training
// state and test fixtures, and how it exchanges models with transformers. Layout:
//
//   [8 bytes]  N, the header length, unsigned little-endian
//   [N bytes]  JSON: {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
//                     ..., "__metadata__": {"<key>": "<string value>", ...}}
//   [rest]     the data buffer; [begin, end) is relative to its first byte
//
// Reading checks every structural rule before any entry is handed out, so a corrupt or
// hostile file is a `data loss` Status naming the file, the tensor and the problem, never a
// crash or an out-of-bounds pointer:
//   a file shorter than 8 bytes; N beyond the file or over 100 MB; a header that is not valid
//   UTF-8 JSON or not an object; a key repeated in any object of the header (JSON parsers
//   disagree on which copy wins, so neither is trusted); an entry that is not an object; a
//   dtype that is missing or unknown; a shape that is not a list of integers in [0, 2^63);
//   an element count or byte size (or any partial product of the dims) over 2^63 - 1;
//   data_offsets that are not two non-negative integers, are reversed or go past the buffer;
//   a byte count other than numel * dtype size; two tensors sharing bytes; __metadata__ that
//   is not an object of strings.
// Like Hugging Face's own reader, entries may have any extra keys. Unlike it, gaps between
// tensors and bytes after the last one are accepted, since they cannot make a read unsafe.
//
// Data pointers are only as aligned as the file makes them: loom and Hugging Face pad the
// header to a multiple of 8 bytes, other writers may not. Copy with memcpy rather than cast
// unless you checked the alignment. Multi-byte values are little-endian, as on every host
// loom builds for (checked at compile time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "loom/base/dtype.h"
#include "loom/base/file.h"
#include "loom/base/status.h"

namespace loom {

// One tensor of a parsed file. `data` points into memory owned by whoever owns the bytes
// (a SafetensorsFile, or the caller of parse_safetensors).
struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;     // [] for a scalar; dims may be 0
  const uint8_t* data = nullptr;  // nbytes bytes; not null even when nbytes == 0
  size_t nbytes = 0;              // == shape_numel(shape) * dtype_size(dtype)
};

// Parses a whole safetensors file already in memory. `source` names it in error messages
// (usually its path). Entries are in header order (for files written by loom or Hugging
// Face that is also data order) and point into `data`, which must outlive them.
// `metadata` may be null; otherwise it receives the "__metadata__" map (empty if absent),
// replacing its content, and is left untouched on error.
StatusOr<std::vector<SafetensorsEntry>> parse_safetensors(const uint8_t* data, size_t size, const std::string& source,
                                                          std::map<std::string, std::string>* metadata);

// A memory-mapped, validated safetensors file. Move-only; moving keeps entries valid (the
// mapping does not move). Truncating the file on disk while it is open is undefined, as for
// any memory map.
class SafetensorsFile {
 public:
  // Errors: the file is missing or unreadable (from MappedFile), or any rule above.
  static StatusOr<SafetensorsFile> open(const std::string& path);

  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  // nullptr if absent.
  const SafetensorsEntry* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return map_.path(); }

 private:
  MappedFile map_;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in entries_
  std::map<std::string, std::string> metadata_;
};

// One tensor to write: numel(shape) * dtype_size(dtype) contiguous bytes at `data` (which
// may be null only when that is 0).
struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
};

// The bytes of a safetensors file holding `tensors` and `metadata` (no "__metadata__" entry
// if it is empty). The header lists __metadata__ first, then the tensors in the given order,
// which is also their data order; it is compact JSON padded with spaces to a multiple of 8
// bytes so the data buffer starts 8-byte aligned, as Hugging Face writes it (a tensor is
// aligned to its element size when the tensors before it have sizes that keep it so).
// REQUIRES (LOOM_CHECKed; write_safetensors returns them as errors instead): unique names
// other than "__metadata__", non-negative dims, data present, names and metadata valid UTF-8.
std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata);

// serialize_safetensors() written to `path` with write_file_atomic: after a crash or a full
// disk, `path` holds either its old content or the complete new file. Errors: an
// `invalid argument` for tensors that break the REQUIRES above, an `I/O error` from the OS
// (e.g. the directory does not exist). The file is built in memory first.
Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata);

}  // namespace loom
