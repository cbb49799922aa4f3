// SHA-1 (FIPS 180-4), only to check files against the git blob ids of the repositories they
// come from (git names a file by SHA-1("blob <size>\0" + content)) when no SHA-256 of the
// file is published. Not for anything that needs collision resistance.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "loom/base/status.h"

namespace loom {

class Sha1 {
 public:
  Sha1();
  void update(const void* data, size_t n);
  // Lower-case hex digest; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 5> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string sha1_hex(std::string_view data);
// The id git gives a file with this content: `git hash-object FILE`.
std::string git_blob_sha1(std::string_view content);

}  // namespace loom
