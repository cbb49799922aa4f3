// Well-known corpora that `loom data get NAME` fetches: from a local mirror directory when
// one is given (a flag or LOOM_DATA_MIRROR; CI points it at ../shared/data), else from the
// public URL. Every file is verified against its SHA-256 before it gets its final name in
// the cache directory; a failed or mismatched download leaves no file behind.
#pragma once

#include <string>
#include <vector>

#include "loom/base/status.h"

namespace loom::data {

struct DatasetFile {
  std::string path;    // relative path, in the cache and in a mirror
  std::string url;     // public source (pinned to a commit)
  std::string sha256;  // lower-case hex; empty when not known
  uint64_t bytes = 0;  // 0 if not known
  // Checked when sha256 is empty (no SHA-256 of the file could be verified against its
  // source): the git blob id the source repository gives the file, SHA-1 of "blob <size>\0"
  // + content (`git hash-object`).
  std::string git_blob_sha1 = {};
};

struct Dataset {
  std::string name;
  std::string description;
  std::vector<DatasetFile> files;
};

const std::vector<Dataset>& known_datasets();
// nullptr if unknown.
const Dataset* find_dataset(const std::string& name);

struct FetchOptions {
  std::string cache_dir;   // files land in cache_dir/<path>
  std::string mirror_dir;  // if set, copy from mirror_dir/<path> instead of downloading
  bool allow_download = true;
};

struct FetchResult {
  std::vector<std::string> paths;  // final paths, in the dataset's file order
  int already_cached = 0;
  int copied = 0;
  int downloaded = 0;
};

// Errors: unknown name (lists the known ones), a mirror without the file, a download error,
// a checksum mismatch (names the file, both digests).
StatusOr<FetchResult> fetch_dataset(const std::string& name, const FetchOptions& options);

}  // namespace loom::data
