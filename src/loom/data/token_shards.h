// Token shards: the on-disk form of a tokenized corpus, written by `loom prepare` and
// memory-mapped by the training loader, so corpora larger than RAM train without loading.
//
// A shard file is a 32-byte header followed by the token ids:
//   offset 0   char[8]  magic "LOOMTOK\0"
//   offset 8   u32      version (1)
//   offset 12  u32      bytes per id: 2 (uint16, vocab_size <= 65536) or 4 (uint32)
//   offset 16  u64      number of ids
//   offset 24  u32      vocab_size of the tokenizer that wrote it
//   offset 28  u32      document separator id, or 0xFFFFFFFF for none
// all little-endian. A prepared directory holds train_NNNNN.bin and val_NNNNN.bin shards and
// meta.json (tokenizer, counts, sources).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "loom/base/file.h"
#include "loom/base/status.h"
#include "loom/data/token_dataset.h"

namespace loom::data {

inline constexpr char kShardMagic[8] = {'L', 'O', 'O', 'M', 'T', 'O', 'K', '\0'};
inline constexpr uint32_t kShardVersion = 1;
inline constexpr uint32_t kNoSeparator = 0xFFFFFFFFu;

struct ShardHeader {
  uint32_t id_bytes = 2;
  uint64_t count = 0;
  uint32_t vocab_size = 0;
  uint32_t separator = kNoSeparator;
};

// Streams ids into a shard file: header first (count patched at close), then the ids.
// The file appears under its final name only when finish() succeeds (temp + rename).
class ShardWriter {
 public:
  static StatusOr<std::unique_ptr<ShardWriter>> create(const std::string& path, uint32_t vocab_size,
                                                       uint32_t separator);
  ~ShardWriter();
  Status append(const std::vector<int32_t>& ids);
  Status finish();
  uint64_t count() const { return count_; }

 private:
  ShardWriter() = default;
  std::string path_, tmp_;
  int fd_ = -1;
  uint32_t id_bytes_ = 2;
  uint32_t vocab_size_ = 0;
  uint32_t separator_ = kNoSeparator;
  uint64_t count_ = 0;
  std::vector<uint8_t> buffer_;
};

// A memory-mapped shard. Errors: missing file, wrong magic, unsupported version, a count that
// does not match the file size (truncated payload), ids >= vocab_size are not checked here
// (use validate_ids() when reading untrusted shards).
class Shard {
 public:
  static StatusOr<Shard> open(const std::string& path);
  const ShardHeader& header() const { return header_; }
  uint64_t size() const { return header_.count; }
  // Copies ids [start, start + n) as int32.
  void read(uint64_t start, uint64_t n, int32_t* out) const;
  // Every id < vocab_size; the error names the first bad position.
  Status validate_ids() const;
  const std::string& path() const { return map_.path(); }

 private:
  MappedFile map_;
  ShardHeader header_;
  const uint8_t* ids_ = nullptr;
};

// The shards of one split of a prepared directory, in name order.
StatusOr<std::vector<Shard>> open_split(const std::string& dir, const std::string& split);

// Shards read as one continuous stream of ids (windows may span a shard boundary).
class ShardStream final : public TokenStream {
 public:
  explicit ShardStream(std::vector<Shard> shards);
  uint64_t size() const override { return total_; }
  void read(uint64_t start, uint64_t n, int32_t* out) const override;
  const std::vector<Shard>& shards() const { return shards_; }

 private:
  std::vector<Shard> shards_;
  std::vector<uint64_t> starts_;  // global index of each shard's first id
  uint64_t total_ = 0;
};

}  // namespace loom::data
