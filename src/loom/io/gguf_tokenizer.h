// The tokenizer inside a GGUF file (llama.cpp's tokenizer.ggml.* keys), as a loom Tokenizer.
//
//   tokenizer.ggml.model   "gpt2" (byte-level BPE) is supported; "llama" (SentencePiece) and
//                          "bert" (WordPiece) are not yet (unimplemented, naming the model).
//   tokenizer.ggml.pre     the pre-tokenizer family: "gpt-2", "mpt", "olmo" (GPT-2's regex),
//                          "starcoder" and "falcon" (PreTokenizerKind). Any other family, e.g.
//                          "llama3" or "deepseek-llm", is unimplemented, naming it: encoding
//                          with the wrong rule would give plausible but wrong ids.
//   tokenizer.ggml.tokens  the vocabulary, spelled as in vocab.json; id = position
//   tokenizer.ggml.merges  "left right" per merge, in rank order
//   tokenizer.ggml.token_type   control (3) and user-defined (4) entries become added tokens
//                          (matched only on request, like every loom added token)
//   tokenizer.ggml.{bos,eos,unknown,padding}_token_id  the special roles
//
// The result saves to tokenizer.json like any other (save_tokenizer), so a GGUF vocabulary
// can be used to prepare data or train a model.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "loom/base/status.h"
#include "loom/io/gguf.h"
#include "loom/tokenizers/tokenizer.h"

namespace loom {

// Errors name the file and key: a missing or mistyped key (data loss / not found), a merge
// that is not two tokens, anything ByteLevelBpe::create() refuses (duplicate tokens, unknown
// merge tokens), an unsupported model or pre-tokenizer family (unimplemented).
StatusOr<std::unique_ptr<Tokenizer>> tokenizer_from_gguf(const GgufFile& file);

// load_tokenizer() (tokenizer.json, a directory, vocab.json + merges.txt), plus a path ending
// in ".gguf": its tokenizer, and a BERT vocab.txt (or a directory holding only that): WordPiece,
// lower-cased as `lowercase` says if given, else as a tokenizer_config.json beside it says
// ("do_lower_case"), else uncased.
StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer_any(const std::string& path,
                                                       std::optional<bool> lowercase = std::nullopt);

}  // namespace loom
