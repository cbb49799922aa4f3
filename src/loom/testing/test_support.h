// Helpers shared by loom's GoogleTest programs (every loom_add_test target links them):
// scratch directories, the shared data directory, and llama.cpp's tokenizer test vectors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loom::testing {

// An empty directory for one test: <gtest TempDir>/loom_<prefix>_<pid>_<name>, removed first
// if it exists. Aborts if it cannot be made.
std::string fresh_temp_dir(std::string_view prefix, std::string_view name);

// The shared corpora and tokenizer files: $LOOM_DATA_DIR, else the directory the build was
// configured with (../shared/data beside the repository). Tests skip when a file is absent.
std::string data_dir();

// One case of llama.cpp's tokenizer vectors: ggml-vocab-<family>.gguf.inp holds the texts,
// separated by "\n__ggml_vocab_test__\n"; .out holds the expected ids, one line per text.
struct VocabVector {
  std::string text;
  std::vector<int32_t> ids;
};
// Reads <stem>.inp and <stem>.out. Aborts on a malformed pair (the files are fixtures).
std::vector<VocabVector> read_vocab_vectors(const std::string& stem);

}  // namespace loom::testing
