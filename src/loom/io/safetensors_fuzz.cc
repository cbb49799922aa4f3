// libFuzzer target for the safetensors reader (and, through a round trip, the writer):
// arbitrary bytes must give either an error or entries that are consistent (inside the input,
// byte counts matching dtype and shape), and whatever parses must serialize and parse back
// to the same entries. Any crash, sanitizer report or abort() here is a bug.
// Build with -DLOOM_FUZZ=ON and clang; scripts/fuzz.sh runs it with the committed seeds.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "loom/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::map<std::string, std::string> meta;
  auto r = loom::parse_safetensors(data, size, "<fuzz input>", &meta);
  if (!r.ok()) return 0;
  std::vector<loom::TensorToWrite> again;
  for (const auto& e : *r) {
    if (e.data < data || e.nbytes > size || e.data + e.nbytes > data + size) std::abort();
    if (static_cast<uint64_t>(loom::shape_numel(e.shape)) * loom::dtype_size(e.dtype) != e.nbytes) std::abort();
    volatile uint8_t sink = 0;  // touch every byte so ASan checks the range
    for (size_t i = 0; i < e.nbytes; ++i) sink = static_cast<uint8_t>(sink ^ e.data[i]);
    again.push_back({e.name, e.dtype, e.shape, e.data});
  }
  const std::string bytes = loom::serialize_safetensors(again, meta);
  std::map<std::string, std::string> meta2;
  auto r2 = loom::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "<re-serialized>", &meta2);
  if (!r2.ok() || r2->size() != r->size() || meta2 != meta) std::abort();
  for (size_t i = 0; i < r->size(); ++i) {
    const auto& a = (*r)[i];
    const auto& b = (*r2)[i];
    if (a.name != b.name || a.dtype != b.dtype || a.shape != b.shape || a.nbytes != b.nbytes) std::abort();
    if (a.nbytes > 0 && std::memcmp(a.data, b.data, a.nbytes) != 0) std::abort();
  }
  return 0;
}
