// add: y = a + b, so da += dy and db += dy.
// dropout: y = x * m / (1 - p) with m_i = [u(seed, i) >= p]; the backward recomputes m
// from the seed instead of storing a mask.
#include "loom/autograd/ops.h"
#include "loom/base/profile.h"
#include "loom/kernels/elementwise.h"

namespace loom {

Variable add(Tape& tape, Variable& a, Variable& b) {
  profile::Scope profile_scope("add");
  LOOM_CHECK(a.shape() == b.shape()) << a.value().shape_str() << " + " << b.value().shape_str();
  Variable out(tape.empty(a.shape()), tape.needs_grad({&a, &b}));
  const int64_t n = a.value().numel();
  kernels::add_forward(out.value().f32(), a.value().f32(), b.value().f32(), n);
  if (out.requires_grad()) {
    tape.record("add.backward", out, [&tape, out, a, b, n]() mutable {
      if (!out.has_grad()) return;
      // An input's first gradient is out's: one activation takes out's buffer over (this is
      // its last reader: a residual stream's gradient stays in one buffer through the
      // backward), others get a copy; later gradients are added.
      bool taken = false;
      for (Variable* in : {&a, &b}) {
        if (!in->requires_grad()) continue;
        if (!taken && tape.can_take_grad(*in)) {
          in->mutable_grad() = out.grad();
          taken = true;
          continue;
        }
        bool overwrite = false;
        float* d = tape.grad_to_write(*in, &overwrite).f32();
        if (overwrite)
          kernels::copy(d, out.grad().f32(), n);
        else
          kernels::accumulate(d, out.grad().f32(), n);
      }
    });
  }
  return out;
}

Variable dropout(Tape& tape, Variable& x, float p) {
  profile::Scope profile_scope("dropout");
  LOOM_CHECK(p >= 0.0f && p < 1.0f) << "dropout p=" << p;
  if (p == 0.0f) return x;
  const uint64_t seed = tape.next_seed();
  Variable out(tape.empty(x.shape()), tape.needs_grad({&x}));
  const int64_t n = x.value().numel();
  kernels::dropout_forward(out.value().f32(), x.value().f32(), n, p, seed);
  if (out.requires_grad()) {
    tape.record("dropout.backward", out, [&tape, out, x, n, p, seed]() mutable {
      if (!out.has_grad()) return;
      kernels::dropout_backward(tape.grad_of(x).f32(), out.grad().f32(), n, p, seed);
    });
  }
  return out;
}

}  // namespace loom
