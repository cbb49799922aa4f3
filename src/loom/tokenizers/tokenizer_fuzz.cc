// libFuzzer target for the tokenizers layer (built with -DLOOM_FUZZ=ON and clang, under
// ASan and UBSan). Each input is used as:
//   1. tokenizer.json content for load_tokenizer (character-level or byte-level BPE);
//   2. vocab.json + merges.txt for the byte-level BPE reader, split at the first 0xFF byte
//      (a byte no JSON text contains);
//   3. training text for CharTokenizer and for a small byte-level BPE (vocab 300);
//   4. text for a fixed byte-level BPE, encoded plainly and with special tokens matched.
// Whatever loads or trains is then exercised: encode/decode round trips, arbitrary (also
// out-of-range) ids through decode, decode_token and id_to_token, a save-and-reload through
// to_json(), and for byte-level BPE through vocab.json + merges.txt as well. Errors are fine;
// crashes, sanitizer reports and broken round trips (LOOM_CHECK aborts) are bugs.
//
//   ./tokenizer_fuzz -max_len=4096 corpus/ ../tests/fuzz_seeds/tokenizer_fuzz
#include "loom/base/threads.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "loom/base/check.h"
#include "loom/tokenizers/bpe_trainer.h"
#include "loom/tokenizers/byte_level_bpe.h"
#include "loom/tokenizers/char_tokenizer.h"
#include "loom/tokenizers/tokenizer.h"

namespace {

using loom::ByteLevelBpe;
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

// Byte-level BPE beyond the interface: special-token matching, and (unless `text_only`) the
// two-file form.
void exercise_bpe(const ByteLevelBpe& tok, std::string_view text, bool text_only = false) {
  loom::StatusOr<std::vector<int32_t>> plain = tok.encode(text);
  loom::StatusOr<std::vector<int32_t>> special = tok.encode_with_special(text);
  // Matching added tokens only takes bytes away from the text the model encodes.
  LOOM_CHECK(!plain.ok() || special.ok()) << special.status().to_string();
  bool strips = false;
  for (const loom::AddedToken& a : tok.added_tokens()) strips = strips || a.lstrip || a.rstrip;
  if (special.ok() && !strips) LOOM_CHECK(tok.decode(*special) == text) << "encode_with_special round trip";
  if (text_only) return;

  loom::StatusOr<std::string> merges = tok.merges_txt();
  if (!merges.ok()) return;
  loom::StatusOr<ByteLevelBpe> back = ByteLevelBpe::from_vocab_and_merges(tok.vocab_json(), *merges, "v", "m");
  LOOM_CHECK(back.ok()) << back.status().to_string();
  LOOM_CHECK_EQ(back->vocab_size(), tok.vocab_size());
  LOOM_CHECK_EQ(back->num_merges(), tok.num_merges());
  for (int32_t id = 0; id < tok.vocab_size(); ++id) LOOM_CHECK(back->id_to_token(id) == tok.id_to_token(id)) << id;
}

// A small fixed tokenizer with a special token, trained once.
const ByteLevelBpe& fixed_bpe() {
  static const ByteLevelBpe* tok = [] {
    const std::string text =
        "To be, or not to be, that is the question: Whether 'tis nobler in the mind to suffer "
        "the slings and arrows of outrageous fortune. \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x99\x82 123 4567\n\n";
    const std::vector<std::string_view> texts = {text};
    loom::StatusOr<ByteLevelBpe> t = loom::train_byte_level_bpe(
        texts, loom::BpeTrainerOptions{.vocab_size = 320, .min_frequency = 1, .special_tokens = {"<|endoftext|>"}});
    LOOM_CHECK(t.ok()) << t.status().to_string();
    return new ByteLevelBpe(std::move(t).value());
  }();
  return *tok;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  loom::set_num_threads(1);  // deterministic coverage; the training code runs the same either way
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  loom::StatusOr<std::unique_ptr<Tokenizer>> loaded = loom::load_tokenizer_from_string(input, "<fuzz input>");
  if (loaded.ok()) {
    exercise(**loaded, input, /*must_encode=*/false);
    if (const auto* bpe = dynamic_cast<const ByteLevelBpe*>(loaded->get())) exercise_bpe(*bpe, input);
  }

  if (const size_t split = input.find('\xFF'); split != std::string_view::npos) {
    loom::StatusOr<ByteLevelBpe> pair =
        ByteLevelBpe::from_vocab_and_merges(input.substr(0, split), input.substr(split + 1), "<vocab>", "<merges>");
    if (pair.ok()) {
      exercise(*pair, input, /*must_encode=*/false);
      exercise_bpe(*pair, input);
    }
  }

  loom::StatusOr<loom::CharTokenizer> trained = loom::CharTokenizer::train(input);
  if (trained.ok()) exercise(*trained, input, /*must_encode=*/true);

  const std::vector<std::string_view> texts = {input};
  loom::StatusOr<ByteLevelBpe> bpe =
      loom::train_byte_level_bpe(texts, loom::BpeTrainerOptions{.vocab_size = 300, .min_frequency = 1});
  if (bpe.ok()) {
    exercise(*bpe, input, /*must_encode=*/true);
    exercise_bpe(*bpe, input);
  }

  // The fixed tokenizer's files were checked on the first input; only the text varies.
  static const bool fixed_files_checked = (exercise(fixed_bpe(), "", true), exercise_bpe(fixed_bpe(), ""), true);
  (void)fixed_files_checked;
  loom::StatusOr<std::vector<int32_t>> ids = fixed_bpe().encode(input);
  LOOM_CHECK(ids.ok()) << ids.status().to_string();
  LOOM_CHECK(fixed_bpe().decode(*ids) == input) << "encode/decode round trip changed the text";
  exercise_bpe(fixed_bpe(), input, /*text_only=*/true);
  return 0;
}
