// Hybrid logical clock timestamps for last-writer-wins registers.
//
// A Timestamp packs wall-clock milliseconds in the high 48 bits and a logical counter in the low
// 16. The CRDT code never reads a clock: the state machine passes `now` in, derived from the
// timestamp the Raft leader stamped on the log entry, so every replica computes the same result.
#pragma once

#include <algorithm>
#include <cstdint>

namespace neuroplex::crdt {

using Timestamp = std::uint64_t;

inline constexpr int kLogicalBits = 16;

constexpr Timestamp timestamp_from_ms(std::uint64_t wall_ms) { return wall_ms << kLogicalBits; }

// The monotonic clock of one replica: never goes back, even when the wall clock does.
class HybridClock {
 public:
  explicit HybridClock(Timestamp last = 0) : last_(last) {}

  // A timestamp greater than every one handed out before and not behind `wall_ms`.
  Timestamp tick(std::uint64_t wall_ms) {
    last_ = std::max(last_ + 1, timestamp_from_ms(wall_ms));
    return last_;
  }
  Timestamp last() const { return last_; }

 private:
  Timestamp last_;
};

}  // namespace neuroplex::crdt
