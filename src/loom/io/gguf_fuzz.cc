// libFuzzer target for the GGUF reader and the tokenizer built from a GGUF vocabulary:
// arbitrary bytes must give an error or a consistent file (tensor sizes inside the input),
// and a tokenizer that loads must round-trip text. Any crash, sanitizer report or abort()
// here is a bug. Build with -DLOOM_FUZZ=ON and clang; scripts/fuzz.sh runs it.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "loom/io/gguf.h"
#include "loom/io/gguf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = loom::GgufFile::parse(data, size, "<fuzz input>");
  if (!f.ok()) return 0;
  for (const auto& t : f->tensors()) {
    if (t.dims.empty() || t.dims.size() > 4) std::abort();
    if (t.nbytes && *t.nbytes + t.offset > size) std::abort();
  }
  auto tok = loom::tokenizer_from_gguf(*f);
  if (!tok.ok()) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size < 64 ? size : 64);
  auto ids = (*tok)->encode(text);
  if (ids.ok() && (*tok)->decode(*ids) != text) std::abort();
  return 0;
}
