// Small numeric helpers shared by writers of human-readable files.
#pragma once

namespace loom {

// The double with the shortest decimal form that still reads back as `f`, so 0.9f is
// written as 0.9 rather than 0.8999999761581421 in JSON configs.
double shortest_double(float f);

}  // namespace loom
