// Raft::check_invariants(): the invariants written at the fields of raft.h and log.h, as code
// (LogCabin's RaftConsensusInvariants). The simulator runs it after every step.
#include <cassert>

#include "raft/raft.h"

namespace neuroplex::raft {

void Raft::check_invariants() const {
  log_.check_invariants();
  assert((role_ == Role::kLeader) == (leader_ == config_.id));
  assert(role_ != Role::kCandidate || vote_ == config_.id);
  assert(persisted_hard_state_.term <= term_);
  assert(snapshot_.index <= log_.applied());
  assert(log_.prev_index() <= snapshot_.index || snapshot_.index == 0);
  assert(randomized_timeout_ >= config_.election_ticks &&
         randomized_timeout_ < 2 * config_.election_ticks);
  if (role_ == Role::kLeader) {
    const Membership& membership = log_.membership();
    std::size_t others = 0;
    for (const Member& member : membership.members) {
      if (member.id == config_.id) continue;
      ++others;
      auto it = progress_.find(member.id);
      assert(it != progress_.end());
      const Progress& progress = it->second;
      assert(progress.match < progress.next);
      assert(progress.match <= log_.last_index());
      assert(progress.next <= log_.last_index() + 1);
      (void)progress;
    }
    assert(progress_.size() == others);
    (void)others;
  } else {
    assert(progress_.empty());
    assert(uncommitted_bytes_ == 0);
    assert(transfer_target_ == kNoNode);
  }
  std::uint64_t previous_id = 0;
  for (const PendingWrite& write : pending_writes_) {
    assert(write.id > previous_id && write.id < next_persist_id_);
    previous_id = write.id;
  }
  (void)previous_id;
}

}  // namespace neuroplex::raft
