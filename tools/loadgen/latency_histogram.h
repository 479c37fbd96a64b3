// Latency samples of one load run and their percentiles.
//
// Every sample is kept (8 bytes each: a 10 s run at 100,000 ops/s is 8 MB), so percentiles are
// exact rather than bucketed. Percentiles use the nearest rank on the sorted samples.
//
// Thread safety: none; one run on one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace neuroplex::loadgen {

class LatencyHistogram {
 public:
  void add(std::chrono::steady_clock::duration latency) {
    samples_ns_.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count());
    sorted_ = false;
  }
  std::size_t count() const { return samples_ns_.size(); }
  // q in [0, 1]: 0.5 is the median, 1 the maximum. 0 when there are no samples.
  double percentile_ms(double q);

 private:
  std::vector<std::int64_t> samples_ns_;
  bool sorted_ = true;
};

}  // namespace neuroplex::loadgen
