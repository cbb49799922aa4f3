// Tests for base: Status propagation, RNG determinism and state round-trip, atomic files.
#include <gtest/gtest.h>
#include <unistd.h>

#include "loom/base/dtype.h"
#include "loom/base/file.h"
#include "loom/base/rng.h"
#include "loom/base/status.h"

namespace loom {
namespace {

StatusOr<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument("value " + std::to_string(v) + " must be > 0");
  return v;
}

Status use(int v, int* out) {
  LOOM_ASSIGN_OR_RETURN(int x, parse_positive(v));
  *out = x * 2;
  return ok_status();
}

TEST(Status, PropagatesErrorsAndValues) {
  int out = 0;
  EXPECT_TRUE(use(3, &out).ok());
  EXPECT_EQ(out, 6);
  Status s = use(-1, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.to_string(), "invalid argument: value -1 must be > 0");
  EXPECT_EQ(s.with_context("flag --x").message(), "flag --x: value -1 must be > 0");
}

TEST(StatusDeath, ValueOfErrorAborts) {
  StatusOr<int> e = not_found("nothing");
  EXPECT_DEATH((void)e.value(), "value\\(\\) on an error StatusOr");
}

TEST(Rng, DeterministicAndResumable) {
  Rng a(42), b(42);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  auto st = a.state();
  std::vector<float> first;
  for (int i = 0; i < 10; ++i) first.push_back(a.normal());
  b.set_state(st);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(first[i], b.normal());
  Rng c(43);
  EXPECT_NE(Rng(42).next_u64(), c.next_u64());
}

TEST(Rng, UniformAndBelowInRange) {
  Rng r(1);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    float u = r.uniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    sum += u;
    ASSERT_LT(r.below(7), 7u);
  }
  EXPECT_NEAR(sum / 100000, 0.5, 0.01);
}

TEST(File, AtomicWriteReadAndErrors) {
  std::string dir = ::testing::TempDir() + "loom_base_test_" + std::to_string(::getpid());
  ASSERT_TRUE(make_directories(dir + "/a/b").ok());
  std::string p = dir + "/a/b/f.txt";
  ASSERT_TRUE(write_file_atomic(p, "hello").ok());
  ASSERT_TRUE(write_file_atomic(p, "world!").ok());
  auto r = read_file(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "world!");
  auto m = MappedFile::open(p);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()), m->size()), "world!");
  auto missing = read_file(dir + "/nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  EXPECT_FALSE(read_file(dir).ok());
  EXPECT_FALSE(write_file_atomic(dir + "/no/such/dir/x", "x").ok());
}

TEST(DType, NamesRoundTrip) {
  for (DType d : {DType::kF32, DType::kBF16, DType::kI32, DType::kU8}) {
    DType back;
    ASSERT_TRUE(parse_dtype(dtype_name(d), &back));
    EXPECT_EQ(back, d);
  }
  DType x;
  EXPECT_FALSE(parse_dtype("F33", &x));
  EXPECT_EQ(shape_to_string({2, 3}), "[2, 3]");
  EXPECT_EQ(shape_numel({}), 1);
}

}  // namespace
}  // namespace loom

#include "loom/base/profile.h"
#include "loom/base/sha1.h"
#include "loom/base/sha256.h"

namespace loom {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string million(1000000, 'a');
  EXPECT_EQ(sha256_hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Streaming in odd pieces gives the same digest.
  Sha256 s;
  for (size_t i = 0; i < million.size(); i += 777) s.update(million.data() + i, std::min<size_t>(777, million.size() - i));
  EXPECT_EQ(s.hex_digest(), sha256_hex(million));
}

TEST(Sha1, KnownVectorsAndGitBlobIds) {
  EXPECT_EQ(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  const std::string million(1000000, 'a');
  EXPECT_EQ(sha1_hex(million), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  Sha1 s;
  for (size_t i = 0; i < million.size(); i += 777) s.update(million.data() + i, std::min<size_t>(777, million.size() - i));
  EXPECT_EQ(s.hex_digest(), sha1_hex(million));
  // `printf 'hello\n' | git hash-object --stdin`
  EXPECT_EQ(git_blob_sha1("hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
  EXPECT_EQ(git_blob_sha1(""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
}

TEST(Profile, ScopesAddUpOnlyWhenEnabled) {
  profile::set_enabled(false);
  profile::clear();
  { profile::Scope s("off"); }
  EXPECT_TRUE(profile::snapshot().empty());
  profile::set_enabled(true);
  for (int i = 0; i < 3; ++i) {
    profile::Scope s("on");
  }
  profile::add("big", 10.0);
  profile::set_enabled(false);
  const std::vector<profile::Entry> e = profile::snapshot();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].name, "big");  // most time first
  EXPECT_EQ(e[1].name, "on");
  EXPECT_EQ(e[1].calls, 3);
  EXPECT_GE(e[1].seconds, 0.0);
  profile::clear();
  EXPECT_TRUE(profile::snapshot().empty());
}

}  // namespace
}  // namespace loom

#include <atomic>
#include <thread>

#include "loom/base/threads.h"

TEST(Threads, ParallelForCoversEveryIndexOnceInStaticChunks) {
  for (int threads : {1, 2, 3, 5}) {
    loom::set_num_threads(threads);
    EXPECT_EQ(loom::num_threads(), threads);
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<int> hits(static_cast<size_t>(n), 0);
      std::vector<std::pair<int64_t, int64_t>> ranges(static_cast<size_t>(threads), {-1, -1});
      loom::parallel_for(n, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) ++hits[static_cast<size_t>(i)];
      });
      for (int h : hits) EXPECT_EQ(h, 1) << "threads " << threads << " n " << n;
      // min_per_thread: fewer than 2 * 600 items run as one chunk on the caller.
      int calls = 0;
      const auto caller = std::this_thread::get_id();
      bool on_caller = true;
      loom::parallel_for(n, [&](int64_t lo, int64_t hi) {
        ++calls;
        on_caller = on_caller && std::this_thread::get_id() == caller;
        EXPECT_EQ(lo, 0);
        EXPECT_EQ(hi, n);
      }, 600);
      EXPECT_EQ(calls, n > 0 ? 1 : 0);
      EXPECT_TRUE(on_caller);
    }
  }
  loom::set_num_threads(2);
}

TEST(Threads, RegionRunsOnDistinctThreadsAndNestedCallsRunInline) {
  loom::set_num_threads(3);
  std::vector<std::thread::id> ids(3);
  std::atomic<int> inner_calls{0};
  loom::parallel_region([&](int tid, int nt) {
    EXPECT_EQ(nt, 3);
    ids[static_cast<size_t>(tid)] = std::this_thread::get_id();
    const auto me = std::this_thread::get_id();
    loom::parallel_for(100, [&](int64_t lo, int64_t hi) {  // nested: inline, whole range
      EXPECT_EQ(std::this_thread::get_id(), me);
      EXPECT_EQ(lo, 0);
      EXPECT_EQ(hi, 100);
      ++inner_calls;
    });
  });
  EXPECT_EQ(inner_calls.load(), 3);
  EXPECT_EQ(ids[0], std::this_thread::get_id());
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_NE(ids[1], ids[2]);
  EXPECT_NE(ids[0], ids[2]);
  loom::set_num_threads(2);
}

TEST(Threads, SpeedSharesStartEvenAndMoveWorkTowardsTheFasterThread) {
  loom::SpeedShares shares;
  int64_t b[4];
  shares.split(10, 2, b);
  EXPECT_EQ(b[0], 0);
  EXPECT_EQ(b[1], 5);
  EXPECT_EQ(b[2], 10);
  // Thread 1 takes twice as long for the same work: its share falls, each update part of the
  // way, towards the third of the work that would have made both finish together.
  float prev = 0.5f;
  for (int i = 0; i < 40; ++i) {
    shares.split(3000, 2, b);
    const double t[2] = {1e-3 * static_cast<double>(b[1] - b[0]), 2e-3 * static_cast<double>(b[2] - b[1])};
    shares.update(2, b, t);
    EXPECT_LE(shares.share(2, 1), prev + 2e-4f) << "update " << i;  // + rounding bounds to units
    prev = shares.share(2, 1);
  }
  EXPECT_NEAR(shares.share(2, 1), 1.0f / 3.0f, 0.01f);
  EXPECT_NEAR(shares.share(2, 0) + shares.share(2, 1), 1.0f, 1e-6f);
  // Back on a quiet machine: back to even.
  for (int i = 0; i < 60; ++i) {
    shares.split(3000, 2, b);
    const double t[2] = {1e-3 * static_cast<double>(b[1] - b[0]), 1e-3 * static_cast<double>(b[2] - b[1])};
    shares.update(2, b, t);
  }
  EXPECT_NEAR(shares.share(2, 1), 0.5f, 0.01f);
  // A thread stalled once keeps at least a fifth of an even share.
  for (int i = 0; i < 20; ++i) {
    shares.split(3000, 2, b);
    const double t[2] = {1e-3, 10.0};
    shares.update(2, b, t);
  }
  EXPECT_GE(shares.share(2, 1), 0.09f);
  // Regions too short to time, or with an idle thread, leave the shares alone.
  const float before = shares.share(2, 1);
  const int64_t tiny[3] = {0, 5, 10}, idle[3] = {0, 10, 10};
  const double fast[2] = {1e-6, 3e-6}, slow[2] = {1.0, 0.0};
  shares.update(2, tiny, fast);
  shares.update(2, idle, slow);
  EXPECT_EQ(shares.share(2, 1), before);
  // Shares for another thread count: even for that count.
  EXPECT_FLOAT_EQ(shares.share(3, 2), 1.0f / 3.0f);
  const float set3[3] = {1.0f, 1.0f, 2.0f};
  shares.set(3, set3);
  shares.split(8, 3, b);
  EXPECT_EQ(b[1], 2);
  EXPECT_EQ(b[2], 4);
  EXPECT_EQ(b[3], 8);
}

TEST(Threads, BalancedForCoversEveryIndexOnceWhateverTheShares) {
  for (int threads : {1, 2, 3}) {
    loom::set_num_threads(threads);
    loom::SpeedShares shares;
    const float skewed[3] = {0.05f, 0.9f, 0.05f};
    for (int round = 0; round < 3; ++round) {
      if (round == 1) shares.set(threads, skewed);
      for (int64_t n : {0, 1, 2, 7, 1000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        loom::parallel_for_balanced(n, shares, [&](int64_t lo, int64_t hi) {
          EXPECT_LT(lo, hi);
          for (int64_t i = lo; i < hi; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
        });
        for (auto& h : hits) EXPECT_EQ(h.load(), 1) << "threads " << threads << " n " << n << " round " << round;
      }
    }
    std::atomic<int> sum{0};  // per-thread scratch made once per thread
    loom::parallel_dynamic_with(
        50, [](int) { return std::vector<int>(1, 0); },
        [&](std::vector<int>& scratch, int64_t i) {
          scratch[0] += 1;
          sum += static_cast<int>(i);
        });
    EXPECT_EQ(sum.load(), 49 * 50 / 2);
  }
  loom::set_num_threads(2);
}

TEST(Threads, DynamicVisitsEveryItemAndConcurrentCallersBothFinish) {
  loom::set_num_threads(2);
  // Two application threads share the pool: one gets it, the other runs inline; both
  // see every one of their items exactly once, many times over (also after workers slept).
  auto run = [](int64_t n, int rounds, std::atomic<int64_t>* sum) {
    for (int r = 0; r < rounds; ++r) {
      std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
      loom::parallel_dynamic(n, [&](int tid, int64_t i) {
        EXPECT_GE(tid, 0);
        EXPECT_LT(tid, 2);
        seen[static_cast<size_t>(i)].fetch_add(1);
      });
      for (auto& s : seen) EXPECT_EQ(s.load(), 1);
      *sum += n;
      if (r % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(3));  // let workers sleep
    }
  };
  std::atomic<int64_t> a{0}, b{0};
  std::thread other(run, 37, 300, &b);
  run(53, 300, &a);
  other.join();
  EXPECT_EQ(a.load(), 53 * 300);
  EXPECT_EQ(b.load(), 37 * 300);
}

#include <cstdint>
#include <cstring>

#include "loom/base/memory.h"

namespace loom {
namespace {

TEST(Memory, SmallBlocksAre64ByteAlignedLargeOnesHugePageAligned) {
  for (size_t bytes : {size_t{0}, size_t{1}, size_t{1000}, (size_t{4} << 20) - 1, size_t{4} << 20, size_t{9} << 20}) {
    void* p = allocate_aligned(bytes);
    ASSERT_NE(p, nullptr) << bytes;
    const auto addr = reinterpret_cast<uintptr_t>(p);
    EXPECT_EQ(addr % 64, 0u) << bytes;
    if (bytes >= (size_t{4} << 20)) {
      EXPECT_EQ(addr % (size_t{2} << 20), 0u) << bytes;
    }
    if (bytes > 0) std::memset(p, 0x5a, bytes);  // the whole block is usable
    free_aligned(p);
  }
}

}  // namespace
}  // namespace loom
