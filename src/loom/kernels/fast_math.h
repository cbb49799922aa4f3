// Branch-free exp and tanh in plain float arithmetic (no libm calls), so loops over them
// vectorize. Accuracy: exp_approx within 2 ulp of expf on [-87, 88] (Cody-Waite reduction
// by ln 2, then a degree-6 polynomial); tanh_approx within ~2e-7 absolute of tanhf;
// erf_approx within 5e-7 absolute of erf.
// Used by the optimized kernels only; the reference kernels call the C library.
#pragma once

#include <cstdint>
#include <cstring>

namespace loom::kernels {

inline float exp_approx(float x) {
  x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
  // Round to nearest by adding and subtracting 1.5 * 2^23 (no libm call, so it vectorizes;
  // valid because |x log2 e| < 2^22 after the clamp and we never compile with -ffast-math).
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  // r = x - n ln2, in two parts for accuracy.
  float r = x - n * 0.693145751953125f;
  r = r - n * 1.42860682030941723212e-6f;
  // e^r on |r| <= ln2/2: Taylor to degree 6 (relative error < 3e-8).
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // Scale by 2^n through the exponent bits.
  int32_t bits;
  std::memcpy(&bits, &p, 4);
  bits += static_cast<int32_t>(n) << 23;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

inline float tanh_approx(float x) {
  // tanh(x) = sign(x) (1 - 2 / (e^{2|x|} + 1)); saturates cleanly for large |x|.
  const float a = x < 0 ? -x : x;
  const float e = exp_approx(2.0f * (a > 20.0f ? 20.0f : a));
  const float t = 1.0f - 2.0f / (e + 1.0f);
  return x < 0 ? -t : t;
}

inline float erf_approx(float x) {
  // Abramowitz & Stegun 7.1.26: 1 - (a1 t + ... + a5 t^5) e^{-x^2}, t = 1 / (1 + p |x|),
  // odd in x; within 1.5e-7 absolute of erf in exact arithmetic, 5e-7 in float.
  const float a = x < 0 ? -x : x;
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  const float poly =
      t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  const float e = 1.0f - poly * exp_approx(-(a > 10.0f ? 10.0f : a) * (a > 10.0f ? 10.0f : a));
  return x < 0 ? -e : e;
}

}  // namespace loom::kernels
