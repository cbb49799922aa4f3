// POSIX implementation of file.h.
#include "loom/base/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace loom {

namespace {
std::string errno_text() { return std::strerror(errno); }

Status write_all(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write '" + path + "': " + errno_text() +
                      (errno == ENOSPC ? ". Free some disk space and retry." : ""));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return ok_status();
}

std::string parent_dir(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}
}  // namespace

StatusOr<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return not_found("file '" + path + "' does not exist");
    return io_error("cannot open '" + path + "': " + errno_text());
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd);
    return io_error("'" + path + "' is a directory or cannot be inspected; expected a file");
  }
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  std::vector<char> buf(1 << 16);
  while (true) {
    ssize_t r = ::read(fd, buf.data(), buf.size());
    if (r < 0) {
      if (errno == EINTR) continue;
      Status s = io_error("cannot read '" + path + "': " + errno_text());
      ::close(fd);
      return s;
    }
    if (r == 0) break;
    out.append(buf.data(), static_cast<size_t>(r));
  }
  ::close(fd);
  return out;
}

Status write_file_atomic(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create '" + tmp + "': " + errno_text());
  Status s = write_all(fd, data.data(), data.size(), tmp);
  if (s.ok() && ::fsync(fd) != 0)
    s = io_error("cannot flush '" + tmp + "' to disk: " + errno_text());
  if (::close(fd) != 0 && s.ok()) s = io_error("cannot close '" + tmp + "': " + errno_text());
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    s = io_error("cannot rename '" + tmp + "' to '" + path + "': " + errno_text());
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // Make the rename itself durable.
  int dfd = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return ok_status();
}

Status append_line(const std::string& path, std::string_view line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot open '" + path + "' for appending: " + errno_text());
  std::string l(line);
  l.push_back('\n');
  Status s = write_all(fd, l.data(), l.size(), path);
  ::close(fd);
  return s;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status make_directories(const std::string& path) {
  if (path.empty()) return ok_status();
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    cur = path.substr(0, j);
    if (!cur.empty() && !is_directory(cur)) {
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
        return io_error("cannot create directory '" + cur + "': " + errno_text());
      if (!is_directory(cur)) return io_error("'" + cur + "' exists and is not a directory");
    }
    i = j + 1;
  }
  return ok_status();
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

StatusOr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return not_found("file '" + path + "' does not exist");
    return io_error("cannot open '" + path + "': " + errno_text());
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd);
    return io_error("'" + path + "' is a directory or cannot be inspected; expected a file");
  }
  MappedFile m;
  m.path_ = path;
  m.size_ = static_cast<size_t>(st.st_size);
  if (m.size_ > 0) {
    void* p = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      Status s = io_error("cannot memory-map '" + path + "': " + errno_text());
      ::close(fd);
      return s;
    }
    m.data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return m;
}

MappedFile::MappedFile(MappedFile&& o) noexcept : data_(o.data_), size_(o.size_), path_(std::move(o.path_)) {
  o.data_ = nullptr;
  o.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    reset();
    data_ = o.data_;
    size_ = o.size_;
    path_ = std::move(o.path_);
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() { reset(); }

void MappedFile::reset() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace loom
