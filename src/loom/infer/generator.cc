// Generation loop.
#include "loom/infer/generator.h"

#include "loom/autograd/tape.h"
#include "loom/base/clock.h"

namespace loom::infer {

namespace {
double now() { return monotonic_seconds(); }

// Length of the longest suffix of `s` that is an incomplete UTF-8 sequence.
size_t incomplete_utf8_tail(const std::string& s) {
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    unsigned char c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

// Length of the longest suffix of `s` that is a proper prefix of some stop string.
size_t stop_prefix_tail(const std::string& s, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const auto& st : stops)
    for (size_t k = std::min(st.size() - 1, s.size()); k > best; --k)
      if (s.compare(s.size() - k, k, st, 0, k) == 0) {
        best = k;
        break;
      }
  return best;
}
}  // namespace

Status GenerateOptions::validate() const {
  if (max_new_tokens < 0)
    return invalid_argument("max_new_tokens is " + std::to_string(max_new_tokens) + "; it must be >= 0");
  for (const auto& s : stop)
    if (s.empty()) return invalid_argument("a stop string is empty; give non-empty stop strings");
  return sampling.validate();
}

StatusOr<GenerateResult> generate(models::GPT& model, const Tokenizer& tokenizer, const std::string& prompt,
                                  const GenerateOptions& options,
                                  const std::function<void(const std::string&)>& on_text) {
  LOOM_RETURN_IF_ERROR(options.validate());
  const int64_t ctx = model.config().block_size;
  GenerateResult r;
  LOOM_ASSIGN_OR_RETURN(r.prompt_ids, tokenizer.encode(prompt));
  if (r.prompt_ids.empty())
    return invalid_argument("the prompt is empty; give at least one character of text to continue");
  if (static_cast<int64_t>(r.prompt_ids.size()) > ctx)
    return invalid_argument("the prompt is " + std::to_string(r.prompt_ids.size()) +
                            " tokens long but the model's context (block_size) is " + std::to_string(ctx) +
                            " tokens; shorten the prompt");
  for (int32_t id : r.prompt_ids)
    if (id >= model.config().vocab_size)
      return invalid_argument("the tokenizer produced id " + std::to_string(id) + " but the model's vocab_size is " +
                              std::to_string(model.config().vocab_size) + "; do the model and tokenizer belong together?");
  if (options.echo_prompt && on_text) on_text(prompt);
  model.set_training(false);
  Arena arena;
  Tape tape(&arena, /*recording=*/false);
  Rng rng(options.seed);
  std::vector<int32_t> context = r.prompt_ids;  // everything so far
  std::vector<float> scratch;
  models::KVCache cache = model.make_cache(1, ctx);
  std::string pending;  // decoded but not yet emitted
  const auto eos = tokenizer.special_tokens().eos;
  r.stop_reason = "length";

  // Logits of the last position after feeding `ids` (appending to the cache).
  auto run = [&](const std::vector<int32_t>& ids) {
    Tensor t = Tensor::empty({1, static_cast<int64_t>(ids.size())}, DType::kI32, &arena);
    std::copy(ids.begin(), ids.end(), t.i32());
    Variable logits = options.use_kv_cache ? model.forward_cached(tape, t, cache) : model.forward(tape, t);
    const int64_t V = model.config().vocab_size;
    const float* last = logits.value().f32() + (static_cast<int64_t>(ids.size()) - 1) * V;
    return std::vector<float>(last, last + V);
  };

  double t0 = now();
  std::vector<float> logits = run(context);
  r.prefill_seconds = now() - t0;
  t0 = now();
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    int32_t next = sample_token(logits, context, options.sampling, rng, &scratch);
    if (options.stop_at_eos && eos && next == *eos) {
      r.stop_reason = "eos";
      break;
    }
    r.new_ids.push_back(next);
    context.push_back(next);
    pending += tokenizer.decode_token(next);
    bool stopped = false;
    for (const auto& st : options.stop) {
      size_t pos = pending.find(st);
      if (pos != std::string::npos) {
        pending.resize(pos);
        stopped = true;
      }
    }
    size_t hold = stopped ? 0 : std::max(incomplete_utf8_tail(pending), stop_prefix_tail(pending, options.stop));
    if (pending.size() > hold) {
      std::string out = pending.substr(0, pending.size() - hold);
      r.text += out;
      if (on_text) on_text(out);
      pending.erase(0, pending.size() - hold);
    }
    if (stopped) {
      r.stop_reason = "stop";
      break;
    }
    if (step + 1 == options.max_new_tokens) break;
    arena.reset();
    if (options.use_kv_cache) {
      if (cache.length >= ctx) {
        // Context full: restart the cache from the latest half-context.
        cache = model.make_cache(1, ctx);
        std::vector<int32_t> tail(context.end() - ctx / 2 - 1, context.end());
        logits = run(tail);
      } else {
        logits = run({next});
      }
    } else {
      std::vector<int32_t> window(context.end() - std::min<int64_t>(ctx, static_cast<int64_t>(context.size())), context.end());
      logits = run(window);
    }
  }
  if (!pending.empty() && r.stop_reason != "stop") {
    r.text += pending;
    if (on_text) on_text(pending);
  }
  r.decode_seconds = now() - t0;
  return r;
}

}  // namespace loom::infer
