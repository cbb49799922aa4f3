// libFuzzer target for the tokenizers layer (built with -DLOOM_FUZZ=ON and clang, under
// ASan and UBSan). Each input is used twice: as tokenizer.json content for the loader,
// and as training text for CharTokenizer. Whatever loads or trains is then exercised:
// encode/decode round trips, arbitrary (also out-of-range) ids through decode,
// decode_token and id_to_token, and a save-and-reload through to_json(). Errors are fine;
// crashes, sanitizer reports and broken round trips (LOOM_CHECK aborts) are bugs.
//
//   ./tokenizer_fuzz -max_len=4096 corpus/
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "loom/base/check.h"
#include "loom/tokenizers/char_tokenizer.h"
#include "loom/tokenizers/tokenizer.h"

namespace {

using loom::Tokenizer;

// Properties every tokenizer must keep, whatever `text` is.
void exercise(const Tokenizer& tok, std::string_view text, bool must_encode) {
  const int32_t v = tok.vocab_size();
  LOOM_CHECK_GT(v, 0);

  loom::StatusOr<std::vector<int32_t>> ids = tok.encode(text);
  LOOM_CHECK(ids.ok() || !must_encode) << ids.status().to_string();
  if (ids.ok()) {
    std::string streamed;
    for (int32_t id : *ids) {
      LOOM_CHECK(id >= 0 && id < v) << "id " << id << " outside vocab of " << v;
      streamed += tok.decode_token(id);
    }
    const std::string decoded = tok.decode(*ids);
    LOOM_CHECK(decoded == text) << "encode/decode round trip changed the text";
    LOOM_CHECK(streamed == decoded) << "decode_token stream differs from decode";
  }

  // The input bytes read as ids: most are out of range and must decode without crashing.
  std::vector<int32_t> raw(text.size() / sizeof(int32_t));
  if (!raw.empty()) std::memcpy(raw.data(), text.data(), raw.size() * sizeof(int32_t));
  (void)tok.decode(raw);
  for (int32_t id : raw) {
    (void)tok.decode_token(id);
    std::optional<std::string> token = tok.id_to_token(id);
    LOOM_CHECK(token.has_value() == (id >= 0 && id < v));
    if (token) LOOM_CHECK(tok.token_to_id(*token) == id) << "token_to_id(id_to_token(" << id << "))";
  }
  (void)tok.token_to_id(text);

  // What a tokenizer writes, it reads back as itself.
  const nlohmann::json saved = tok.to_json();
  loom::StatusOr<std::unique_ptr<Tokenizer>> back =
      loom::load_tokenizer_from_string(saved.dump(), "<fuzz round trip>");
  LOOM_CHECK(back.ok()) << back.status().to_string();
  LOOM_CHECK((*back)->type_name() == tok.type_name());
  LOOM_CHECK((*back)->to_json() == saved);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  loom::StatusOr<std::unique_ptr<Tokenizer>> loaded = loom::load_tokenizer_from_string(input, "<fuzz input>");
  if (loaded.ok()) exercise(**loaded, input, /*must_encode=*/false);

  loom::StatusOr<loom::CharTokenizer> trained = loom::CharTokenizer::train(input);
  if (trained.ok()) exercise(*trained, input, /*must_encode=*/true);
  return 0;
}
