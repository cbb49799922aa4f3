#include "loom/testing/test_support.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "loom/base/check.h"
#include "loom/base/env.h"
#include "loom/base/file.h"

namespace loom::testing {

std::string fresh_temp_dir(std::string_view prefix, std::string_view name) {
  const std::string dir = ::testing::TempDir() + "loom_" + std::string(prefix) + "_" + std::to_string(::getpid()) +
                          "_" + std::string(name);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  LOOM_CHECK(!ec) << "cannot clear " << dir << ": " << ec.message();
  LOOM_CHECK(make_directories(dir).ok()) << "cannot create " << dir;
  return dir;
}

std::string data_dir() { return env_or("LOOM_DATA_DIR", LOOM_DEFAULT_DATA_DIR); }

std::vector<VocabVector> read_vocab_vectors(const std::string& stem) {
  StatusOr<std::string> inp = read_file(stem + ".inp");
  StatusOr<std::string> out = read_file(stem + ".out");
  LOOM_CHECK(inp.ok() && out.ok()) << stem;
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<VocabVector> cases;
  size_t pos = 0;
  size_t line = 0;
  while (pos < inp->size()) {
    const size_t at = inp->find(sep, pos);
    LOOM_CHECK(at != std::string::npos) << stem << ".inp must end with the separator";
    const size_t eol = out->find('\n', line);
    LOOM_CHECK(eol != std::string::npos) << stem << ".out has fewer lines than .inp has texts";
    VocabVector v{inp->substr(pos, at - pos), {}};
    const std::string ids = out->substr(line, eol - line);
    for (size_t p = 0; p < ids.size();) {
      if (ids[p] == ' ') {
        ++p;
        continue;
      }
      size_t q = ids.find(' ', p);
      if (q == std::string::npos) q = ids.size();
      v.ids.push_back(static_cast<int32_t>(std::stol(ids.substr(p, q - p))));
      p = q;
    }
    cases.push_back(std::move(v));
    pos = at + sep.size();
    line = eol + 1;
  }
  return cases;
}

}  // namespace loom::testing
