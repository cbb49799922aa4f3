// Dataset fetch tests through a local mirror: copy and verify, cache hits, checksum
// mismatch leaves nothing behind, unknown names. (Downloads need network; not tested here.)
#include <gtest/gtest.h>
#include <unistd.h>

#include "loom/base/file.h"
#include "loom/data/datasets.h"
#include "loom/testing/test_support.h"

namespace loom::data {
namespace {

std::string temp_dir(const std::string& name) { return testing::fresh_temp_dir("datasets", name); }

TEST(Datasets, UnknownNameListsKnownOnes) {
  auto r = fetch_dataset("imagenet", {"/tmp", "", false});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tinyshakespeare"), std::string::npos);
}

TEST(Datasets, MirrorCopyIsVerifiedAndCached) {
  const std::string mirror = std::string(LOOM_DEFAULT_DATA_DIR);
  if (!file_exists(join_path(mirror, "tinyshakespeare/input.txt"))) GTEST_SKIP() << "no shared data at " << mirror;
  std::string cache = temp_dir("cache");
  auto r = fetch_dataset("tinyshakespeare", {cache, mirror, false});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->copied, 1);
  auto again = fetch_dataset("tinyshakespeare", {cache, "", false});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->already_cached, 1);
}

TEST(Datasets, ChecksumMismatchLeavesNoFile) {
  std::string mirror = temp_dir("badmirror"), cache = temp_dir("cache2");
  ASSERT_TRUE(make_directories(join_path(mirror, "tinyshakespeare")).ok());
  ASSERT_TRUE(write_file_atomic(join_path(mirror, "tinyshakespeare/input.txt"), "not shakespeare").ok());
  auto r = fetch_dataset("tinyshakespeare", {cache, mirror, false});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("SHA-256"), std::string::npos);
  EXPECT_FALSE(file_exists(join_path(cache, "tinyshakespeare/input.txt")));
  // No temporary file left either.
  EXPECT_EQ(std::system(("test -z \"$(ls -A '" + join_path(cache, "tinyshakespeare") + "')\"").c_str()), 0);
  auto missing = fetch_dataset("sst2", {cache, mirror, false});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("lacks"), std::string::npos);
}

}  // namespace
}  // namespace loom::data
