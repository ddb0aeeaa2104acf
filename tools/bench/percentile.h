// The p-quantile (0..1) of a sample by the nearest-rank-below rule; 0 for an empty one.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace tokenledger::bench {

inline double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(p * static_cast<double>(values.size() - 1))];
}

}  // namespace tokenledger::bench
