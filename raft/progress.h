// The leader's view of one follower: how far its log matches, what to send next, and how much
// may be in flight (etcd/raft's probe / replicate / snapshot states).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>

#include "raft/types.h"

namespace neuroplex::raft {

enum class ProgressState : std::uint8_t {
  kProbe,      // where the logs diverge is unknown: one append at a time
  kReplicate,  // in sync: appends are pipelined up to the inflight limits
  kSnapshot,   // waiting for a snapshot transfer to finish: no appends
};

// The appends sent and not yet acknowledged, by last index and size.
class Inflights {
 public:
  Inflights(std::size_t max_count, std::size_t max_bytes)
      : max_count_(max_count), max_bytes_(max_bytes) {}

  void add(Index last_index, std::size_t bytes);
  void free_up_to(Index index);
  void free_first_one();
  void clear();
  [[nodiscard]] bool full() const;
  [[nodiscard]] std::size_t count() const { return items_.size(); }

 private:
  std::size_t max_count_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::deque<std::pair<Index, std::size_t>> items_;
};

struct Progress {
  Progress(Index next_index, std::size_t max_count, std::size_t max_bytes)
      : next(next_index), inflights(max_count, max_bytes) {}

  // Invariant: match < next.
  Index match = 0;
  Index next = 1;
  ProgressState state = ProgressState::kProbe;
  bool probe_sent = false;     // probe: an append is out; wait for its answer or a heartbeat's
  Index pending_snapshot = 0;  // snapshot: the index being sent
  bool recent_active = false;  // heard from since the last check-quorum
  std::uint64_t acked_read_seq = 0;
  Inflights inflights;

  void become_probe();
  void become_replicate();
  void become_snapshot(Index snapshot_index);
  // An acknowledgement that the follower's log matches up to `index`; false if stale.
  bool maybe_update(Index index);
  // A rejection of the append that probed `rejected`; retry from hint + 1. False if stale.
  bool maybe_decrease_to(Index rejected, Index hint);
  // An append ending at last_index of `bytes` was sent.
  void sent(Index last_index, std::size_t bytes);
  [[nodiscard]] bool paused() const;
};

std::string_view progress_state_name(ProgressState state);

}  // namespace neuroplex::raft
