// The tokenizer interface of loom, and the tokenizer.json reader and writer.
//
// A Tokenizer maps text to token ids (int32, 0..vocab_size-1) and back. Every tokenizer loom
// has (character-level, byte-level BPE and WordPiece today; Unigram later) implements this
// one interface, and every one is stored the same way: as a Hugging Face `tokenizer.json` in
// the model directory, so a model trained by loom can be used with HF
// `tokenizers`/`transformers` and an HF model's tokenizer can be read by loom.
//
// load_tokenizer() reads a tokenizer.json and picks the implementation from its `model`
// section with one switch (see tokenizer.cc); a kind loom cannot read yet is an
// `unimplemented` error that names it. A directory with GPT-2's vocab.json + merges.txt (or
// OpenAI's encoder.json + vocab.bpe) and no tokenizer.json loads as byte-level BPE. All
// methods are const and keep no mutable state (caches live inside one call), so one
// tokenizer can serve many threads.
//
//   LOOM_ASSIGN_OR_RETURN(CharTokenizer tok, CharTokenizer::train(text));
//   LOOM_RETURN_IF_ERROR(save_tokenizer(tok, "runs/shakespeare"));   // writes tokenizer.json
//   LOOM_ASSIGN_OR_RETURN(auto loaded, load_tokenizer("runs/shakespeare"));
//   LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> ids, loaded->encode("To be"));
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "loom/base/status.h"

namespace loom {

// The file name a tokenizer has inside a model directory (the Hugging Face convention).
inline constexpr char kTokenizerFileName[] = "tokenizer.json";

// Ids of the special tokens a tokenizer defines; each may be absent. The names are those
// of Hugging Face transformers (bos_token, eos_token, ...), so reading them from an HF
// model directory is a table. encode() never inserts any of them: callers add BOS/EOS or
// CLS/SEP themselves, where the model's recipe wants them.
struct SpecialTokens {
  // Begin of sequence, e.g. Llama's <s>.
  std::optional<int32_t> bos;
  // End of text / end of sequence: generation stops here and pretraining puts it between
  // documents, e.g. GPT-2's <|endoftext|>, Llama's </s>.
  std::optional<int32_t> eos;
  // Stands for text the vocabulary cannot represent, e.g. BERT's [UNK].
  std::optional<int32_t> unk;
  // Fills batches to equal length, e.g. BERT's [PAD].
  std::optional<int32_t> pad;
  // BERT's [CLS], [SEP] and [MASK].
  std::optional<int32_t> cls;
  std::optional<int32_t> sep;
  std::optional<int32_t> mask;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // A short name of the kind of tokenizer: "char", "byte_bpe", "wordpiece".
  virtual std::string_view type_name() const = 0;

  // Number of ids; every id this tokenizer produces or names is in [0, vocab_size()).
  virtual int32_t vocab_size() const = 0;

  // Text -> ids. Adds no special tokens and does not recognise them in the text (a byte-level
  // BPE reads "<|endoftext|>" as ordinary characters; ByteLevelBpe::encode_with_special
  // matches them). Errors (invalid argument) for text the tokenizer cannot represent, e.g.
  // invalid UTF-8 in a character-level tokenizer or, in one without an unknown token, a
  // character missing from its vocabulary; the message names the character and its byte
  // offset. A byte-level tokenizer encodes any bytes. Empty text gives no ids.
  virtual StatusOr<std::vector<int32_t>> encode(std::string_view text) const = 0;

  // encode() of every text, in parallel on the pool's threads; out[i] is the ids of texts[i].
  // The first error (in text order) is returned, prefixed with "text i of the batch".
  virtual StatusOr<std::vector<std::vector<int32_t>>> encode_batch(std::span<const std::string_view> texts) const;

  // Ids -> text: the bytes the tokens stand for, unchanged, so decode(encode(x)) == x for
  // every text encode() accepts (for byte-level BPE: every byte string), except where the
  // tokenizer normalizes text (WordPiece: case, accents, spacing; see wordpiece.h). Ids outside
  // [0, vocab_size()) (a model whose embedding table is padded past the vocabulary can sample
  // them) become U+FFFD, the replacement character, so they show up instead of vanishing.
  // The result of ids that did not come from encode() (sampled by a model) need not be valid
  // UTF-8 for a byte-level tokenizer, whose tokens can end inside a character; a caller that
  // needs valid UTF-8 (JSON, a terminal) replaces what is invalid, e.g. with nlohmann's
  // error_handler_t::replace.
  virtual std::string decode(std::span<const int32_t> ids) const = 0;

  // The bytes one token adds to text that is being streamed, token by token. Concatenating
  // decode_token() over a sequence gives decode() of it, except that decode() may drop a
  // leading space at the start of the text (WordPiece, SentencePiece). A byte-level token can
  // end in the middle of a character, so a streaming caller holds back an incomplete UTF-8
  // tail until the next token completes it. An id outside [0, vocab_size()) gives U+FFFD.
  virtual std::string decode_token(int32_t id) const = 0;

  // The vocabulary entry of `id` as tokenizer.json spells it (for byte-level BPE that is
  // the byte-to-unicode form, e.g. "Ġthe"); nullopt if `id` is out of range.
  virtual std::optional<std::string> id_to_token(int32_t id) const = 0;

  // The id of a vocabulary entry spelled as id_to_token() spells it; nullopt if absent.
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;

  virtual SpecialTokens special_tokens() const = 0;

  // The whole tokenizer as a Hugging Face tokenizer.json document: HF `tokenizers` can
  // load it and encodes and decodes text the way this tokenizer does.
  virtual nlohmann::json to_json() const = 0;

 protected:
  // Copying and moving through the base class would slice; derived classes may copy.
  Tokenizer() = default;
  Tokenizer(const Tokenizer&) = default;
  Tokenizer(Tokenizer&&) = default;
  Tokenizer& operator=(const Tokenizer&) = default;
  Tokenizer& operator=(Tokenizer&&) = default;
};

// Writes `tokenizer` as tokenizer.json, atomically (a crash leaves the old file or the new
// one, never a mix). `path` is a model directory, which must exist (the file is then
// `<path>/tokenizer.json`), or the path of the file itself.
Status save_tokenizer(const Tokenizer& tokenizer, const std::string& path);

// Reads a tokenizer.json. `path` is the path of the file itself or a model directory
// holding tokenizer.json or, failing that, GPT-2's vocab.json + merges.txt or OpenAI's
// encoder.json + vocab.bpe (read as byte-level BPE). Errors name the file: not found, not
// valid JSON (with the parser's message), a kind of tokenizer loom cannot read yet
// (unimplemented, naming it), or a vocabulary that is inconsistent (data loss: duplicate or
// missing ids, ...).
StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string& path);

// load_tokenizer() on tokenizer.json content held in memory; `source` names it in error
// messages (a path, or e.g. "<fuzz input>").
StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer_from_string(std::string_view json,
                                                                 const std::string& source);

}  // namespace loom
