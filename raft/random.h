// The core's only source of randomness (election timeouts), seeded by the host so that a
// simulated run replays exactly. SplitMix64: tiny, fast, and good enough for jitter.
#pragma once

#include <cstdint>

namespace neuroplex::raft {

// SplitMix64's finalizer: a strong 64-bit mix (also used by the simulator's trace hash).
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

inline constexpr std::uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ULL;

class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() { return mix64(state_ += kGoldenGamma); }

  // Uniform in [low, high). Precondition: low < high.
  int uniform(int low, int high) {
    return low + static_cast<int>(next() % static_cast<std::uint64_t>(high - low));
  }

 private:
  std::uint64_t state_;
};

}  // namespace neuroplex::raft
