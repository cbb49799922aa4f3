// LOOM_MULTIVERSION: compile a hot loop for AVX-512, AVX2+FMA and baseline x86-64 and let
// the loader pick the best for the CPU at run time (GCC target_clones). The optimized
// kernels put it on their innermost functions; elsewhere (clang, sanitizer builds, other
// architectures) it expands to nothing and the baseline code runs.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define LOOM_MULTIVERSION __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define LOOM_MULTIVERSION
#endif
