// Deterministic random numbers. Two kinds:
//  - Rng: a sequential generator (xoshiro256**) whose whole state is four words, so a
//    checkpoint can save it and a resumed run draws exactly the same numbers.
//  - counter_uniform(): a stateless hash of (seed, index) -> [0, 1). Used by dropout so each
//    element's mask depends only on its position, never on the thread count or the order
//    in which threads run, and the backward pass can recompute the mask instead of storing it.
#pragma once

#include <array>
#include <cstdint>

namespace loom {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed);

  uint64_t next_u64();
  // Uniform in [0, 1) with 24 random bits.
  float uniform();
  // Uniform integer in [0, n). n > 0.
  uint64_t below(uint64_t n);
  // Standard normal (Box-Muller; uses two uniforms per call, no cached spare, so the
  // state alone determines the stream).
  float normal();

  std::array<uint64_t, 4> state() const { return s_; }
  void set_state(const std::array<uint64_t, 4>& s) { s_ = s; }

 private:
  std::array<uint64_t, 4> s_{};
};

// splitmix64 finaliser: a good 64-bit mix.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// The 24 random bits behind counter_uniform, as an integer in [0, 2^24).
inline uint64_t counter_bits24(uint64_t seed, uint64_t index) { return mix64(seed ^ mix64(index)) >> 40; }

// Stateless uniform in [0, 1) for element `index` of the stream named by `seed`: exactly
// counter_bits24 / 2^24, so counter_uniform(s, i) >= p iff counter_bits24(s, i) >= ceil(p * 2^24).
inline float counter_uniform(uint64_t seed, uint64_t index) {
  return static_cast<float>(counter_bits24(seed, index)) * (1.0f / 16777216.0f);
}

}  // namespace loom
