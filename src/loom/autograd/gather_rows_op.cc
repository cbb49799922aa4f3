// gather_rows: y[i] = x[rows[i]] over x viewed as (N, C). Backward: dx[rows[i]] += dy[i]
// (the embedding kernels with x as the table; a row gathered twice gets both gradients).
#include "loom/autograd/ops.h"
#include "loom/base/profile.h"
#include "loom/kernels/elementwise.h"

namespace loom {

Variable gather_rows(Tape& tape, Variable& x, const Tensor& rows) {
  profile::Scope profile_scope("gather_rows");
  LOOM_CHECK(rows.dtype() == DType::kI32 && rows.ndim() == 1) << "rows must be (M) I32";
  const int64_t C = x.value().dim(-1), N = x.value().numel() / C, M = rows.dim(0);
  const int32_t* r = rows.i32();
  for (int64_t i = 0; i < M; ++i) LOOM_CHECK(r[i] >= 0 && r[i] < N) << "row " << r[i] << " of " << N;
  Variable out(tape.empty({M, C}), tape.needs_grad({&x}));
  kernels::embedding_forward(out.value().f32(), r, x.value().f32(), nullptr, 1, M, C);
  if (out.requires_grad()) {
    tape.record("gather_rows.backward", out, [&tape, out, x, rows, M, C]() mutable {
      if (!out.has_grad()) return;
      kernels::embedding_backward(tape.grad_of(x).f32(), nullptr, out.grad().f32(), rows.i32(), 1, M, C);
    });
  }
  return out;
}

}  // namespace loom
