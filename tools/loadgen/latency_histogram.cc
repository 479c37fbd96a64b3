#include "tools/loadgen/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace neuroplex::loadgen {

double LatencyHistogram::percentile_ms(double q) {
  if (samples_ns_.empty()) return 0;
  if (!sorted_) {
    std::sort(samples_ns_.begin(), samples_ns_.end());
    sorted_ = true;
  }
  q = std::clamp(q, 0.0, 1.0);
  // Nearest rank: the smallest sample with at least q of all samples at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples_ns_.size())));
  std::size_t index = rank == 0 ? 0 : rank - 1;
  return static_cast<double>(samples_ns_[std::min(index, samples_ns_.size() - 1)]) / 1e6;
}

}  // namespace neuroplex::loadgen
