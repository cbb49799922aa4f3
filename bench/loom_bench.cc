// loom's side of the speed benchmark (bench/compare.py runs it beside bench/torch_bench.py):
// one measurement per process, so peak resident memory belongs to that measurement alone.
// Prints one JSON object on stdout.
//
//   loom_bench train   --vocab 50257 --layers 12 --heads 12 --embd 768 --batch 4 --seq 256
//   loom_bench forward ...same shape flags...
//   loom_bench decode  ...same shape flags... --prompt 32 --new 128
//   loom_bench probe   # fp32 GEMM and FMA GFLOP/s limits of this machine
//
// train: full steps (forward, backward, global-norm clip, AdamW over all parameters) on random
// tokens; forward: inference forward of the whole batch (no tape); decode: batch 1, a prompt
// then one token at a time with the KV cache, greedy. Each reports the median over --steps
// timed repetitions after --warmup untimed ones, tokens/s, model FLOPs per token and the
// achieved GFLOP/s. --threads sets the pool size (default 2).
#include <immintrin.h>
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <dnnl.h>

#include "loom/autograd/tape.h"
#include "loom/base/profile.h"
#include "loom/base/rng.h"
#include "loom/base/threads.h"
#include "loom/kernels/matmul.h"
#include "loom/kernels/optimizer.h"
#include "loom/models/gpt.h"
#include "loom/optim/optimizer.h"

namespace {

using loom::Arena;
using loom::DType;
using loom::Tape;
using loom::Tensor;
using loom::Variable;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

struct Args {
  std::string mode;
  int64_t vocab = 50257, layers = 12, heads = 12, embd = 768, batch = 4, seq = 256;
  int64_t prompt = 32, new_tokens = 128;
  int steps = 5, warmup = 2, threads = 2;
  bool profile = false;
  bool bf16 = false;  // bf16 matmul products (mixed precision)
  bool cold = false;  // gemm mode: rotate operands through 64 MB so every call starts from memory
  int64_t m = 1024, n = 1024, k = 1024;  // gemm mode
  bool ta = false, tb = false;
};

[[noreturn]] void usage(const char* why, const char* what = "") {
  std::fprintf(stderr,
               "loom_bench: %s%s\nusage: loom_bench train|forward|decode|probe|gemm|optim [--vocab N] [--layers N] [--heads N] "
               "[--embd N] [--batch N] [--seq N] [--prompt N] [--new N] [--steps N] [--warmup N] [--threads N] [--profile 1] [--bf16 1] [--m N --n N --k N --ta 0|1 --tb 0|1 --cold 1]\n",
               why, what);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  if (argc < 2) usage("no mode given");
  Args a;
  a.mode = argv[1];
  for (int i = 2; i < argc; i += 2) {
    if (i + 1 >= argc) usage("a flag without a value");
    const std::string k = argv[i];
    char* end = nullptr;
    const long long v = std::strtoll(argv[i + 1], &end, 10);
    if (*end != '\0' || v < 0) usage("not a count: ", argv[i + 1]);
    if (k == "--vocab") a.vocab = v;
    else if (k == "--layers") a.layers = v;
    else if (k == "--heads") a.heads = v;
    else if (k == "--embd") a.embd = v;
    else if (k == "--batch") a.batch = v;
    else if (k == "--seq") a.seq = v;
    else if (k == "--prompt") a.prompt = v;
    else if (k == "--new") a.new_tokens = v;
    else if (k == "--steps") a.steps = static_cast<int>(v);
    else if (k == "--warmup") a.warmup = static_cast<int>(v);
    else if (k == "--threads") a.threads = static_cast<int>(v);
    else if (k == "--profile") a.profile = v != 0;
    else if (k == "--bf16") a.bf16 = v != 0;
    else if (k == "--m") a.m = v;
    else if (k == "--n") a.n = v;
    else if (k == "--k") a.k = v;
    else if (k == "--ta") a.ta = v != 0;
    else if (k == "--tb") a.tb = v != 0;
    else if (k == "--cold") a.cold = v != 0;
    else usage("unknown flag ", argv[i]);
  }
  return a;
}

loom::models::GPTConfig config_of(const Args& a, int64_t block) {
  loom::models::GPTConfig c;
  c.vocab_size = a.vocab;
  c.block_size = block;
  c.n_layer = a.layers;
  c.n_head = a.heads;
  c.n_embd = a.embd;
  c.dropout = 0.0;
  c.bias = true;
  c.tie_word_embeddings = true;
  loom::Status s = c.validate();
  if (!s.ok()) usage(s.to_string().c_str());
  return c;
}

// Matmul FLOPs per token of a forward pass at context length t (PaLM appendix B style):
// 2 * (non-embedding weights + the tied output projection) + attention scores and values.
double forward_flops_per_token(const Args& a, double t_avg) {
  const double C = static_cast<double>(a.embd), L = static_cast<double>(a.layers), V = static_cast<double>(a.vocab);
  const double weights = L * 12.0 * C * C + V * C;
  return 2.0 * weights + L * 4.0 * C * t_avg;  // QK^T and AV: 2 * C FLOPs per key each
}

void fill_random_ids(Tensor& t, int64_t vocab, uint64_t seed) {
  loom::Rng rng(seed);
  int32_t* p = t.i32();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<int32_t>(rng.next_u64() % static_cast<uint64_t>(vocab));
}

// With --profile: where the timed steps' time went, per op (forward and backward apart), in
// milliseconds per step, and what no op scope covered ("other").
std::string profile_json(const std::vector<double>& seconds) {
  if (!loom::profile::enabled()) return "";
  double total = 0, covered = 0;
  for (double s : seconds) total += s;
  std::string out = ",\"profile_ms_per_step\":{";
  char buf[128];
  const double n = static_cast<double>(seconds.size());
  for (const auto& e : loom::profile::snapshot()) {
    std::snprintf(buf, sizeof buf, "\"%s\":%.2f,", e.name.c_str(), 1e3 * e.seconds / n);
    out += buf;
    covered += e.seconds;
  }
  std::snprintf(buf, sizeof buf, "\"other\":%.2f}", 1e3 * (total - covered) / n);
  return out + buf;
}

void print_result(const Args& a, const char* what, double tokens, std::vector<double> seconds, double flops_per_token) {
  const double t = median(seconds);
  std::printf(
      "{\"side\":\"loom\",\"mode\":\"%s\",\"threads\":%d,\"tokens_per_step\":%.0f,\"median_s\":%.6f,"
      "\"min_s\":%.6f,\"tokens_per_s\":%.2f,\"gflops\":%.2f,\"peak_rss_mb\":%.1f,\"repeats\":%zu,\"bf16\":%s%s}\n",
      what, a.threads, tokens, t, *std::min_element(seconds.begin(), seconds.end()), tokens / t,
      tokens * flops_per_token / t / 1e9, peak_rss_mb(), seconds.size(), a.bf16 ? "true" : "false",
      profile_json(seconds).c_str());
}

int bench_train(const Args& a) {
  loom::models::GPT model(config_of(a, a.seq));
  loom::Rng rng(1);
  model.init_weights(rng);
  model.set_training(true);
  loom::optim::OptimizerOptions oo;
  loom::optim::Optimizer opt(oo, model.named_parameters(), model.parameter_kinds());
  auto params = model.named_parameters();
  Arena arena;
  Tape tape(&arena, true);
  if (a.bf16) tape.set_matmul_precision(loom::kernels::MatmulPrecision::kBF16);
  Tensor ids = Tensor::empty({a.batch, a.seq}, DType::kI32);
  Tensor targets = Tensor::empty({a.batch * a.seq}, DType::kI32);
  std::vector<double> times;
  for (int s = 0; s < a.warmup + a.steps; ++s) {
    fill_random_ids(ids, a.vocab, 2 * static_cast<uint64_t>(s) + 1);
    fill_random_ids(targets, a.vocab, 2 * static_cast<uint64_t>(s) + 2);
    if (s == a.warmup) loom::profile::clear();
    const double t0 = now();
    tape.reset();
    Variable loss = model.loss(tape, ids, targets);
    tape.backward(loss, 1.0f);
    tape.reset();
    opt.step(3e-4f, loom::optim::clip_coefficient(loom::optim::grad_norm(params), 1.0));
    opt.zero_grad();
    if (s >= a.warmup) times.push_back(now() - t0);
  }
  // forward + backward = 3x the forward FLOPs
  print_result(a, "train", static_cast<double>(a.batch * a.seq), times,
               3.0 * forward_flops_per_token(a, static_cast<double>(a.seq) / 2.0));
  return 0;
}

int bench_forward(const Args& a) {
  loom::models::GPT model(config_of(a, a.seq));
  loom::Rng rng(1);
  model.init_weights(rng);
  model.set_training(false);
  Arena arena;
  Tape tape(&arena, false);
  if (a.bf16) tape.set_matmul_precision(loom::kernels::MatmulPrecision::kBF16);
  Tensor ids = Tensor::empty({a.batch, a.seq}, DType::kI32);
  std::vector<double> times;
  for (int s = 0; s < a.warmup + a.steps; ++s) {
    fill_random_ids(ids, a.vocab, static_cast<uint64_t>(s) + 1);
    if (s == a.warmup) loom::profile::clear();
    const double t0 = now();
    tape.reset();
    Variable logits = model.forward(tape, ids);
    (void)logits;
    if (s >= a.warmup) times.push_back(now() - t0);
  }
  print_result(a, "forward", static_cast<double>(a.batch * a.seq), times,
               forward_flops_per_token(a, static_cast<double>(a.seq) / 2.0));
  return 0;
}

int bench_decode(const Args& a) {
  const int64_t ctx = a.prompt + a.new_tokens;
  loom::models::GPT model(config_of(a, std::max<int64_t>(ctx, a.seq)));
  loom::Rng rng(1);
  model.init_weights(rng);
  model.set_training(false);
  Arena arena;
  Tape tape(&arena, false);
  std::vector<double> times;
  for (int s = 0; s < a.warmup + a.steps; ++s) {
    loom::models::KVCache cache = model.make_cache(1, ctx);
    Tensor prompt = Tensor::empty({1, a.prompt}, DType::kI32);
    fill_random_ids(prompt, a.vocab, static_cast<uint64_t>(s) + 1);
    tape.reset();
    loom::profile::set_enabled(false);  // the prompt is not timed, so not profiled either
    Variable logits = model.forward_cached(tape, prompt, cache);
    loom::profile::set_enabled(a.profile);
    int32_t next = 0;
    double t0 = 0;
    for (int64_t i = 0; i < a.new_tokens; ++i) {
      // Greedy: the argmax of the last position's logits.
      const float* row = logits.value().f32() + (logits.value().numel() - a.vocab);
      next = static_cast<int32_t>(std::max_element(row, row + a.vocab) - row);
      if (i == 0) {  // time the new tokens only, not the prompt
        if (s == a.warmup) loom::profile::clear();
        t0 = now();
      }
      tape.reset();
      Tensor one = Tensor::empty({1, 1}, DType::kI32, &arena);
      one.i32()[0] = next;
      logits = model.forward_cached(tape, one, cache);
    }
    if (s >= a.warmup) times.push_back(now() - t0);
  }
  print_result(a, "decode", static_cast<double>(a.new_tokens), times,
               forward_flops_per_token(a, static_cast<double>(a.prompt) + static_cast<double>(a.new_tokens) / 2.0));
  return 0;
}

// fp32 limits: oneDNN sgemm on a large square product, a register-only FMA loop on every
// thread (AVX-512 when present, else AVX2; 2 FLOPs per lane per FMA), and memory read
// bandwidth.
__attribute__((target("avx512f"))) double fma_loop_avx512(int64_t iters) {
  __m512 acc[8];
  for (auto& r : acc) r = _mm512_set1_ps(0.0f);
  const __m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
  for (int64_t i = 0; i < iters; ++i)
    for (auto& r : acc) r = _mm512_fmadd_ps(r, x, y);
  float out[16];
  __m512 s = acc[0];
  for (int k = 1; k < 8; ++k) s = _mm512_add_ps(s, acc[k]);
  _mm512_storeu_ps(out, s);
  return static_cast<double>(out[0]);
}

__attribute__((target("avx2,fma"))) double fma_loop_avx2(int64_t iters) {
  __m256 acc[8];
  for (auto& r : acc) r = _mm256_set1_ps(0.0f);
  const __m256 x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(0.9999999f);
  for (int64_t i = 0; i < iters; ++i)
    for (auto& r : acc) r = _mm256_fmadd_ps(r, x, y);
  float out[8];
  __m256 s = acc[0];
  for (int k = 1; k < 8; ++k) s = _mm256_add_ps(s, acc[k]);
  _mm256_storeu_ps(out, s);
  return static_cast<double>(out[0]);
}

// Sums n floats (n a multiple of 64) with four independent vector accumulators, so the loop is
// bound by memory, not by the latency of one add chain.
__attribute__((target("avx512f"))) float read_sum_avx512(const float* p, size_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + i + 48));
  }
  float out[16];
  _mm512_storeu_ps(out, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  float s = 0;
  for (float v : out) s += v;
  return s;
}

__attribute__((target("avx2"))) float read_sum_avx2(const float* p, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
  }
  float out[8];
  _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

// One GEMM shape, C (m, n) = op(A) op(B), fp32 or bf16 products: GFLOP/s (for tuning).
int bench_gemm(const Args& a) {
  const int64_t M = a.m, N = a.n, K = a.k;
  // --cold: enough operand sets that the caches hold none of them when its turn comes (as in a
  // training step, where each product reads activations written long before).
  const int64_t set_bytes = 4 * (M * K + K * N + M * N);
  const int64_t sets = a.cold ? std::max<int64_t>(2, (64 << 20) / std::max<int64_t>(set_bytes, 1) + 1) : 1;
  std::vector<std::vector<float>> As, Bs, Cs;
  for (int64_t i = 0; i < sets; ++i) {
    As.emplace_back(static_cast<size_t>(M * K), 0.5f);
    Bs.emplace_back(static_cast<size_t>(K * N), 0.25f);
    Cs.emplace_back(static_cast<size_t>(M * N));
  }
  std::vector<double> times;
  for (int s = 0; s < a.warmup + a.steps; ++s) {
    const float* A = As[s % sets].data();
    const float* B = Bs[s % sets].data();
    float* C = Cs[s % sets].data();
    const double t0 = now();
    if (a.bf16)
      loom::kernels::gemm_bf16(a.ta, a.tb, M, N, K, 1.0f, A, a.ta ? M : K, B, a.tb ? K : N, 0.0f, C, N);
    else
      loom::kernels::gemm(a.ta, a.tb, M, N, K, 1.0f, A, a.ta ? M : K, B, a.tb ? K : N, 0.0f, C, N);
    if (s >= a.warmup) times.push_back(now() - t0);
  }
  std::printf("{\"side\":\"loom\",\"mode\":\"gemm\",\"m\":%lld,\"n\":%lld,\"k\":%lld,\"ta\":%d,\"tb\":%d,"
              "\"bf16\":%s,\"cold\":%s,\"median_s\":%.6f,\"gflops\":%.1f}\n",
              static_cast<long long>(M), static_cast<long long>(N), static_cast<long long>(K), a.ta ? 1 : 0,
              a.tb ? 1 : 0, a.bf16 ? "true" : "false", a.cold ? "true" : "false", median(times),
              2.0 * static_cast<double>(M * N * K) / median(times) / 1e9);
  return 0;
}

// The optimizer step of a training run on this model's parameters: gradient norm, clipping
// and AdamW, the clipping coefficient folded into the update ("folded") against a pass that
// rescales every gradient first ("separate"). Interleaved, so both see the same machine.
int bench_optim(const Args& a) {
  loom::models::GPT model(config_of(a, a.seq));
  loom::Rng rng(1);
  model.init_weights(rng);
  loom::optim::OptimizerOptions oo;
  loom::optim::Optimizer opt(oo, model.named_parameters(), model.parameter_kinds());
  auto params = model.named_parameters();
  int64_t n_params = 0;
  for (auto& [name, p] : params) {
    n_params += p.value().numel();
    float* g = p.mutable_grad().f32();
    for (int64_t i = 0; i < p.value().numel(); ++i) g[i] = 1e-3f * static_cast<float>((i * 7919) % 2001 - 1000);
  }
  std::vector<double> separate, folded;
  for (int s = 0; s < a.warmup + a.steps; ++s) {
    double t0 = now();
    opt.step(1e-6f, loom::optim::clip_coefficient(loom::optim::grad_norm(params), 1.0));
    const double t_folded = now() - t0;
    t0 = now();
    // What clip_grad_norm does when it clips: a pass rewriting every gradient (here by 1, so
    // the gradients stay the same for every repetition).
    (void)loom::optim::grad_norm(params);
    for (auto& [name, p] : params) loom::kernels::scale_inplace(p.mutable_grad().f32(), p.value().numel(), 1.0f);
    opt.step(1e-6f);
    const double t_separate = now() - t0;
    if (s >= a.warmup) {
      folded.push_back(t_folded);
      separate.push_back(t_separate);
    }
  }
  std::printf("{\"side\":\"loom\",\"mode\":\"optim\",\"threads\":%d,\"parameters\":%lld,"
              "\"separate_median_s\":%.6f,\"folded_median_s\":%.6f,\"speedup\":%.3f}\n",
              a.threads, static_cast<long long>(n_params), median(separate), median(folded),
              median(separate) / median(folded));
  return 0;
}

// Median wall time of `reps` calls of f().
template <class F>
double median_time(int reps, F&& f) {
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    f();
    times.push_back(now() - t0);
  }
  return median(times);
}

int bench_probe(const Args& a) {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const int lanes = avx512 ? 16 : 8;
  const int64_t iters = 20'000'000;
  double sink = 0;
  const double fma_s = median_time(5, [&] {
    std::vector<double> part(static_cast<size_t>(a.threads), 0.0);
    loom::parallel_region([&](int tid, int) {
      part[static_cast<size_t>(tid)] = avx512 ? fma_loop_avx512(iters) : fma_loop_avx2(iters);
    });
    for (double p : part) sink += p;
  });
  const double fma_gflops = 2.0 * lanes * 8.0 * static_cast<double>(iters) * a.threads / fma_s / 1e9;

  const int64_t n = 2048;
  std::vector<float> A(static_cast<size_t>(n * n), 0.5f), B(static_cast<size_t>(n * n), 0.25f), Cm(static_cast<size_t>(n * n));
  const double gemm_flops = 2.0 * static_cast<double>(n * n * n);
  omp_set_num_threads(a.threads);  // oneDNN's own OpenMP threading, for comparison
  const double gemm_gflops = gemm_flops / median_time(5, [&] {
    dnnl_sgemm('N', 'N', n, n, n, 1.0f, A.data(), n, B.data(), n, 0.0f, Cm.data(), n);
  }) / 1e9;
  // The same product through loom's GEMM (split over loom's thread pool).
  const double loom_gemm_gflops = gemm_flops / median_time(5, [&] {
    loom::kernels::gemm(false, false, n, n, n, 1.0f, A.data(), n, B.data(), n, 0.0f, Cm.data(), n);
  }) / 1e9;
  // And with bf16 products (AMX or AVX512-BF16 where the CPU has them).
  const double bf16_gflops = gemm_flops / median_time(5, [&] {
    loom::kernels::gemm_bf16(false, false, n, n, n, 1.0f, A.data(), n, B.data(), n, 0.0f, Cm.data(), n);
  }) / 1e9;

  // Read bandwidth: sum a 1 GiB buffer on every thread (what batch-1 decoding is bound by: it
  // reads every weight once per token).
  const size_t words = (size_t{1} << 30) / sizeof(float);
  std::vector<float> big(words, 1.0f);
  float total = 0;
  const double read_s = median_time(5, [&] {
    std::vector<float> part(static_cast<size_t>(a.threads), 0.0f);
    loom::parallel_region([&](int tid, int nt) {
      const size_t per = words / static_cast<size_t>(nt) / 64 * 64, t = static_cast<size_t>(tid);
      part[t] = avx512 ? read_sum_avx512(big.data() + t * per, per) : read_sum_avx2(big.data() + t * per, per);
    });
    for (float p : part) total += p;
  });
  const double read_gbs = static_cast<double>(words * sizeof(float)) / read_s / 1e9;
  std::printf("{\"side\":\"probe\",\"threads\":%d,\"fma_isa\":\"%s\",\"fma_gflops\":%.1f,\"sgemm_%lld_gflops\":%.1f,"
              "\"loom_gemm_%lld_gflops\":%.1f,\"loom_gemm_bf16_%lld_gflops\":%.1f,\"bf16_isa\":\"%s\",\"read_gb_per_s\":%.1f,\"sink\":%g}\n",
              a.threads, avx512 ? "avx512" : "avx2", fma_gflops, static_cast<long long>(n), gemm_gflops,
              static_cast<long long>(n), loom_gemm_gflops, static_cast<long long>(n), bf16_gflops,
              loom::kernels::cpu_has_amx_bf16() ? "amx_bf16" : loom::kernels::cpu_has_avx512_bf16() ? "avx512_bf16" : "portable", read_gbs,
              sink + static_cast<double>(Cm[0]) + static_cast<double>(total));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  loom::set_num_threads(a.threads);
  if (a.profile) loom::profile::set_enabled(true);
  if (a.mode == "train") return bench_train(a);
  if (a.mode == "forward") return bench_forward(a);
  if (a.mode == "decode") return bench_decode(a);
  if (a.mode == "probe") return bench_probe(a);
  if (a.mode == "gemm") return bench_gemm(a);
  if (a.mode == "optim") return bench_optim(a);
  usage("unknown mode ", argv[1]);
}
