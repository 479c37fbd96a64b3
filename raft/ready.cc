// The Ready / persistence pipeline: what the host must write, send and apply, and what becomes
// possible once a write is durable.
#include <algorithm>
#include <cassert>
#include <limits>

#include "raft/raft.h"

namespace neuroplex::raft {

bool Raft::has_ready() const {
  return !outbox_.empty() || !read_states_.empty() || !failed_reads_.empty() || !held_.empty() ||
         hard_state() != persisted_hard_state_ || log_.has_unwritten() ||
         snapshot_to_install_.has_value() || pending_broadcast_ || reads_.round_needed() ||
         log_.applied() < std::min(log_.commit(), log_.persisted());
}

Ready Raft::ready() {
  if (role_ == Role::kLeader) {
    if (pending_broadcast_) {
      for (auto& [id, progress] : progress_) {
        while (send_append(id, /*send_if_empty=*/false)) {
        }
      }
    }
    if (reads_.round_needed()) broadcast_heartbeat();
  }
  pending_broadcast_ = false;

  Ready ready;
  const HardState current = hard_state();
  if (current != persisted_hard_state_ || log_.has_unwritten() || snapshot_to_install_) {
    PendingWrite write;
    write.id = next_persist_id_++;
    if (snapshot_to_install_) {
      ready.snapshot = snapshot_to_install_;
      write.snapshot = std::move(snapshot_to_install_);
      snapshot_to_install_.reset();
    }
    ready.entries = log_.take_unwritten();
    if (!ready.entries.empty()) write.first_index = ready.entries.front().index;
    if (current != persisted_hard_state_) {
      ready.must_sync =
          current.term != persisted_hard_state_.term || current.vote != persisted_hard_state_.vote;
      ready.hard_state = current;
      persisted_hard_state_ = current;
    }
    ready.must_sync = ready.must_sync || !ready.entries.empty() || ready.snapshot.has_value();
    write.last_index = log_.last_index();
    write.from_leader = from_leader_since_ready_;
    write.held = std::move(held_);
    held_.clear();
    ready.persist_id = write.id;
    pending_writes_.push_back(std::move(write));
  } else if (!held_.empty()) {
    if (pending_writes_.empty()) {
      release(std::move(held_));
    } else {
      auto& waiting = pending_writes_.back().held;
      waiting.insert(waiting.end(), held_.begin(), held_.end());
    }
    held_.clear();
  }
  from_leader_since_ready_ = false;

  ready.committed = take_committed();
  ready.messages = std::move(outbox_);
  outbox_.clear();
  ready.read_states = std::move(read_states_);
  read_states_.clear();
  ready.failed_reads = std::move(failed_reads_);
  failed_reads_.clear();
  step_to_self();  // its output goes into the next Ready
  return ready;
}

// Committed entries are applied only once durable here too, so the state machine never runs
// ahead of the local log (a restart then finds every applied entry in the log or a snapshot).
std::vector<Entry> Raft::take_committed() {
  const Index upto = std::min(log_.commit(), log_.persisted());
  if (upto <= log_.applied()) return {};
  std::vector<Entry> committed =
      log_.slice(log_.applied() + 1, upto, std::numeric_limits<std::size_t>::max());
  log_.applied_to(upto);
  return committed;
}

void Raft::on_persisted(std::uint64_t persist_id) {
  bool leader_entries = false;
  while (!pending_writes_.empty() && pending_writes_.front().id <= persist_id) {
    PendingWrite write = std::move(pending_writes_.front());
    pending_writes_.pop_front();
    // Durable now: the log up to write.last_index, except what later writes still replace.
    Index persisted = write.last_index;
    for (const PendingWrite& later : pending_writes_) {
      if (later.first_index != 0) persisted = std::min(persisted, later.first_index - 1);
      if (later.snapshot) persisted = std::min(persisted, later.snapshot->index);
    }
    log_.set_persisted(persisted);
    leader_entries = leader_entries || write.first_index != 0;
    // A follower that just finished writing the leader's entries heard from it recently: a slow
    // disk must not make it start an election.
    if (write.from_leader && role_ == Role::kFollower) election_elapsed_ = 0;
    release(std::move(write.held));
  }
  // maybe_commit() may commit this leader's own removal and make it a follower.
  if (role_ == Role::kLeader && leader_entries && maybe_commit() && role_ == Role::kLeader) {
    broadcast_append();
  }
  step_to_self();
}

}  // namespace neuroplex::raft
