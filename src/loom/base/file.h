// Files: whole-file reads, atomic writes (temp file + fsync + rename + fsync of the
// directory, so a crash or a full disk never leaves a half-written file under the final
// name), and read-only memory maps. Every error names the path and what the OS said.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "loom/base/status.h"

namespace loom {

// Reads the whole file. Errors: missing, unreadable, a directory.
StatusOr<std::string> read_file(const std::string& path);

// Writes `data` to `path` atomically: either the old content or the new one is there,
// never a mix. The temp file (`path.tmp.<pid>`) is removed on failure.
Status write_file_atomic(const std::string& path, std::string_view data);

// Appends one line (a '\n' is added) and flushes; used for JSONL metrics.
Status append_line(const std::string& path, std::string_view line);

bool file_exists(const std::string& path);
bool is_directory(const std::string& path);
// mkdir -p
Status make_directories(const std::string& path);

// "a/b" + "c" -> "a/b/c"
std::string join_path(const std::string& dir, const std::string& name);

// A read-only memory map of a whole file. Move-only.
class MappedFile {
 public:
  static StatusOr<MappedFile> open(const std::string& path);
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void reset();
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace loom
