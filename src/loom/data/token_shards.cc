// Shard writer and reader.
#include "loom/data/token_shards.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>

namespace loom::data {

namespace {

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

constexpr size_t kHeaderBytes = 32;

Status write_all(int fd, const uint8_t* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write shard '" + path + "': " + std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return ok_status();
}

}  // namespace

StatusOr<std::unique_ptr<ShardWriter>> ShardWriter::create(const std::string& path, uint32_t vocab_size,
                                                           uint32_t separator) {
  std::unique_ptr<ShardWriter> w(new ShardWriter());
  w->path_ = path;
  w->tmp_ = path + ".tmp." + std::to_string(::getpid());
  w->vocab_size_ = vocab_size;
  w->separator_ = separator;
  w->id_bytes_ = vocab_size <= 65536 ? 2 : 4;
  w->fd_ = ::open(w->tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (w->fd_ < 0) return io_error("cannot create shard '" + w->tmp_ + "': " + std::strerror(errno));
  uint8_t header[kHeaderBytes] = {};
  LOOM_RETURN_IF_ERROR(write_all(w->fd_, header, kHeaderBytes, w->tmp_));  // patched in finish()
  return w;
}

ShardWriter::~ShardWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

Status ShardWriter::append(const std::vector<int32_t>& ids) {
  buffer_.resize(ids.size() * id_bytes_);
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint32_t v = static_cast<uint32_t>(ids[i]);
    LOOM_CHECK(ids[i] >= 0 && v < vocab_size_) << "id " << ids[i] << " outside vocab " << vocab_size_;
    if (id_bytes_ == 2) {
      buffer_[2 * i] = static_cast<uint8_t>(v);
      buffer_[2 * i + 1] = static_cast<uint8_t>(v >> 8);
    } else {
      put_u32(&buffer_[4 * i], v);
    }
  }
  count_ += ids.size();
  return write_all(fd_, buffer_.data(), buffer_.size(), tmp_);
}

Status ShardWriter::finish() {
  uint8_t header[kHeaderBytes] = {};
  std::memcpy(header, kShardMagic, 8);
  put_u32(header + 8, kShardVersion);
  put_u32(header + 12, id_bytes_);
  put_u64(header + 16, count_);
  put_u32(header + 24, vocab_size_);
  put_u32(header + 28, separator_);
  if (::pwrite(fd_, header, kHeaderBytes, 0) != static_cast<ssize_t>(kHeaderBytes) || ::fsync(fd_) != 0)
    return io_error("cannot finish shard '" + tmp_ + "': " + std::strerror(errno));
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    Status s = io_error("cannot rename '" + tmp_ + "' to '" + path_ + "': " + std::strerror(errno));
    ::unlink(tmp_.c_str());
    return s;
  }
  return ok_status();
}

StatusOr<Shard> Shard::open(const std::string& path) {
  Shard s;
  LOOM_ASSIGN_OR_RETURN(s.map_, MappedFile::open(path));
  const uint8_t* p = s.map_.data();
  const size_t size = s.map_.size();
  const std::string where = "token shard '" + path + "'";
  if (size < kHeaderBytes || std::memcmp(p, kShardMagic, 8) != 0)
    return data_loss(where + " does not start with the magic \"LOOMTOK\"; it is not a loom shard (write shards with 'loom prepare')");
  const uint32_t version = get_u32(p + 8);
  if (version != kShardVersion)
    return data_loss(where + " has version " + std::to_string(version) + "; this loom reads version " +
                     std::to_string(kShardVersion));
  s.header_.id_bytes = get_u32(p + 12);
  if (s.header_.id_bytes != 2 && s.header_.id_bytes != 4)
    return data_loss(where + " stores ids of " + std::to_string(s.header_.id_bytes) + " bytes; expected 2 or 4");
  s.header_.count = get_u64(p + 16);
  s.header_.vocab_size = get_u32(p + 24);
  s.header_.separator = get_u32(p + 28);
  const uint64_t payload = size - kHeaderBytes;
  if (s.header_.count > payload / s.header_.id_bytes || payload != s.header_.count * s.header_.id_bytes)
    return data_loss(where + " says it holds " + std::to_string(s.header_.count) + " ids (" +
                     std::to_string(s.header_.count * s.header_.id_bytes) + " bytes) but has " + std::to_string(payload) +
                     " bytes of ids; the file is truncated or corrupt");
  s.ids_ = p + kHeaderBytes;
  return s;
}

void Shard::read(uint64_t start, uint64_t n, int32_t* out) const {
  LOOM_CHECK(start + n <= header_.count) << "read past the end of " << path();
  if (header_.id_bytes == 2) {
    const uint8_t* p = ids_ + 2 * start;
    for (uint64_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>(p[2 * i] | (p[2 * i + 1] << 8));
  } else {
    const uint8_t* p = ids_ + 4 * start;
    for (uint64_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>(get_u32(p + 4 * i));
  }
}

Status Shard::validate_ids() const {
  std::vector<int32_t> buf(1 << 16);
  for (uint64_t s = 0; s < header_.count; s += buf.size()) {
    const uint64_t n = std::min<uint64_t>(buf.size(), header_.count - s);
    read(s, n, buf.data());
    for (uint64_t i = 0; i < n; ++i)
      if (static_cast<uint32_t>(buf[i]) >= header_.vocab_size)
        return data_loss("token shard '" + path() + "': id " + std::to_string(buf[i]) + " at position " +
                         std::to_string(s + i) + " is not below its vocab_size " + std::to_string(header_.vocab_size));
  }
  return ok_status();
}

StatusOr<std::vector<Shard>> open_split(const std::string& dir, const std::string& split) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return not_found("prepared data directory '" + dir + "' cannot be opened: " + std::strerror(errno));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind(split + "_", 0) == 0 && n.size() > 4 && n.compare(n.size() - 4, 4, ".bin") == 0) names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  if (names.empty())
    return not_found("prepared data directory '" + dir + "' has no " + split + "_*.bin shards; run 'loom prepare' first");
  std::vector<Shard> shards;
  for (const auto& n : names) {
    LOOM_ASSIGN_OR_RETURN(Shard s, Shard::open(join_path(dir, n)));
    shards.push_back(std::move(s));
  }
  return shards;
}

ShardStream::ShardStream(std::vector<Shard> shards) : shards_(std::move(shards)) {
  for (const auto& s : shards_) {
    starts_.push_back(total_);
    total_ += s.size();
  }
}

void ShardStream::read(uint64_t start, uint64_t n, int32_t* out) const {
  LOOM_CHECK_LE(start + n, total_);
  size_t i = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), start) - starts_.begin()) - 1;
  while (n > 0) {
    const uint64_t local = start - starts_[i];
    const uint64_t take = std::min(n, shards_[i].size() - local);
    shards_[i].read(local, take, out);
    out += take;
    start += take;
    n -= take;
    ++i;
  }
}

}  // namespace loom::data
