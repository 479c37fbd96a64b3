// Tuning of one Raft node. Times are in ticks: the host calls Raft::tick() at a fixed period
// (neuroplexd: 10 ms), so the core never reads a clock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "raft/types.h"

namespace neuroplex::raft {

struct Config {
  NodeId id = kNoNode;

  // A follower campaigns after a random timeout in [election_ticks, 2 * election_ticks) without
  // hearing from a leader. Must be > heartbeat_ticks.
  int election_ticks = 10;
  int heartbeat_ticks = 1;

  // The randomness of the election timeouts. The host seeds it (neuroplexd: from the OS; the
  // simulator: from the run's seed), so a run replays exactly.
  std::uint64_t random_seed = 1;

  bool pre_vote = true;      // a candidate first asks whether it could win (section 9.6)
  bool check_quorum = true;  // a leader steps down without a quorum; followers ignore votes
                             // while they hear from a leader (required by lease reads)

  // Flow control (per follower in replicate state).
  std::size_t max_message_bytes = 1 << 20;  // entries per kAppend, beyond the first one
  std::size_t max_inflight_messages = 256;
  std::size_t max_inflight_bytes = std::size_t{32} << 20;

  // A proposal fails with UNAVAILABLE when it would take the leader's uncommitted entries past
  // this (one proposal is always accepted when nothing is uncommitted).
  std::size_t max_uncommitted_bytes = std::size_t{64} << 20;

  // Lease reads are served until the lease, which starts when the heartbeat round a quorum
  // acknowledged was sent, has run for election_ticks - lease_margin_ticks (the margin covers
  // clock drift between nodes).
  int lease_margin_ticks = 2;
};

}  // namespace neuroplex::raft
