// LOOM_CHECK: an always-on assertion for internal invariants (never for file content or
// user input, which get a Status). On failure it prints file:line, the condition and any
// streamed context, then aborts. It stays on in Release builds.
//
//   LOOM_CHECK(a.numel() == b.numel()) << "shapes " << a.shape_str() << " vs " << b.shape_str();
//   LOOM_CHECK_EQ(x, y);  // prints both values
#pragma once

#include <sstream>

namespace loom::detail {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Swallows the stream expression in the passing branch of LOOM_CHECK.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace loom::detail

#define LOOM_CHECK(cond)                                                       \
  (cond) ? (void)0                                                             \
         : ::loom::detail::Voidify() &                                         \
               ::loom::detail::CheckFailure(__FILE__, __LINE__, #cond).stream()

#define LOOM_CHECK_OP_(a, b, op)                                                     \
  ((a)op(b)) ? (void)0                                                               \
             : ::loom::detail::Voidify() &                                           \
                   ::loom::detail::CheckFailure(__FILE__, __LINE__, #a " " #op " " #b) \
                           .stream()                                                 \
                       << "(" << (a) << " vs " << (b) << ") "

#define LOOM_CHECK_EQ(a, b) LOOM_CHECK_OP_(a, b, ==)
#define LOOM_CHECK_NE(a, b) LOOM_CHECK_OP_(a, b, !=)
#define LOOM_CHECK_LT(a, b) LOOM_CHECK_OP_(a, b, <)
#define LOOM_CHECK_LE(a, b) LOOM_CHECK_OP_(a, b, <=)
#define LOOM_CHECK_GT(a, b) LOOM_CHECK_OP_(a, b, >)
#define LOOM_CHECK_GE(a, b) LOOM_CHECK_OP_(a, b, >=)
