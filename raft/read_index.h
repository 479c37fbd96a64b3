// The leader's queue of linearizable reads (ReadIndex, section 6.4) and its lease.
//
// Reads are batched: every read that arrives before the next heartbeat round shares it. A round
// has a sequence number that followers echo; when a quorum echoed sequence s, every read queued
// for a round <= s is confirmed, and the lease starts at the tick round s was sent.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "raft/types.h"

namespace neuroplex::raft {

class ReadIndexQueue {
 public:
  struct Request {
    std::uint64_t request_id = 0;
    NodeId requester = kNoNode;  // this node or the follower that asked
    Index index = 0;             // 0 until the leader has committed an entry of its term
    std::uint64_t seq = 0;       // the heartbeat round that confirms it
  };

  // Queues a read for the next round; index 0 defers it until assign_index().
  void add(std::uint64_t request_id, NodeId requester, Index index);
  // Gives every deferred read the commit index (the leader's first commit in its term).
  void assign_index(Index commit);
  [[nodiscard]] bool round_needed() const { return round_needed_; }
  // A heartbeat round goes out now: returns its sequence number.
  std::uint64_t start_round(std::uint64_t now_ticks);
  [[nodiscard]] std::uint64_t last_seq() const { return last_seq_; }
  // A quorum has echoed `seq`: returns the reads it confirms (those with an index).
  std::vector<Request> confirm(std::uint64_t seq);
  // The tick at which the newest quorum-confirmed round was sent, if any in this term.
  [[nodiscard]] std::optional<std::uint64_t> lease_start() const { return lease_start_; }
  [[nodiscard]] std::size_t pending() const { return requests_.size(); }
  // Returns the pending reads (to fail them) and forgets everything: the term changed.
  std::vector<Request> reset();

 private:
  static constexpr std::size_t kMaxRoundsRemembered = 64;

  std::deque<Request> requests_;                                // in seq order
  std::deque<std::pair<std::uint64_t, std::uint64_t>> rounds_;  // (seq, tick sent)
  std::uint64_t last_seq_ = 0;
  bool round_needed_ = false;
  std::optional<std::uint64_t> lease_start_;
};

}  // namespace neuroplex::raft
