// SHA-256 (FIPS 180-4), for verifying downloaded and mirrored data files.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "loom/base/status.h"

namespace loom {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  // Lower-case hex digest; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view data);
// Hashes a file in streaming fashion. Errors: missing or unreadable file.
StatusOr<std::string> sha256_file(const std::string& path);

}  // namespace loom
