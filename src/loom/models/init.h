// Parameter initialisation by kind, shared by the models: biases 0, norm gains 1, weights
// and embeddings drawn from N(0, std) with std chosen per parameter name.
#pragma once

#include <functional>
#include <string>

#include "loom/base/rng.h"
#include "loom/nn/module.h"

namespace loom::models {

void init_by_kind(nn::Module& model, Rng& rng, const std::function<float(const std::string& name)>& weight_std);

}  // namespace loom::models
