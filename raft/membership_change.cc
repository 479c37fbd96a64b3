// Membership changes, one server at a time (thesis section 4.1): a change takes effect as soon as
// its entry is in the log, and the leader proposes the next only after the previous committed
// and after its own no-op committed (the fix for the bug in the single-server algorithm).
#include <cassert>

#include "raft/raft.h"

namespace neuroplex::raft {

Result<Index> Raft::propose_membership(const MembershipChange& change) {
  if (role_ != Role::kLeader) return Status{ErrorCode::kNotLeader, "not the leader"};
  if (transfer_target_ != kNoNode) return unavailable("leadership transfer in progress");
  if (!leader_committed_in_term()) {
    return unavailable("membership change: the new leader has not committed its first entry");
  }
  if (log_.membership_index() > log_.commit()) {
    return unavailable("membership change: another change is still uncommitted");
  }
  Result<Membership> next = apply_change(log_.membership(), change);
  if (!next.is_ok()) return next.status();
  std::vector<Entry> entries(1);
  entries[0].type = EntryType::kMembership;
  entries[0].data = encode_membership(*next);
  return append_as_leader(std::move(entries));
}

Progress Raft::new_progress() const {
  Progress progress(log_.last_index() + 1, config_.max_inflight_messages,
                    config_.max_inflight_bytes);
  progress.recent_active = true;  // give a new member an election timeout to answer
  return progress;
}

// Keeps the leader's progress map in step with the membership in its log.
void Raft::membership_changed() {
  if (role_ != Role::kLeader) return;
  const Membership& membership = log_.membership();
  std::erase_if(progress_, [&](const auto& item) { return !membership.contains(item.first); });
  for (const Member& member : membership.members) {
    if (member.id != config_.id && !progress_.contains(member.id)) {
      progress_.emplace(member.id, new_progress());
    }
  }
  if (transfer_target_ != kNoNode && !membership.is_voter(transfer_target_)) abort_transfer();
}

// A leader that is no longer a voter keeps leading until the change that removed it commits,
// then steps down (thesis section 4.2.2), handing over to the most up-to-date voter at once.
void Raft::maybe_step_down_after_removal() {
  if (role_ != Role::kLeader || log_.membership().is_voter(config_.id)) return;
  if (log_.membership_index() > log_.commit()) return;
  NodeId successor = kNoNode;
  for (const auto& [id, progress] : progress_) {
    if (log_.membership().is_voter(id) && progress.match == log_.last_index()) {
      successor = id;
      break;
    }
  }
  if (successor != kNoNode) {
    send(Message{.type = MessageType::kTimeoutNow, .to = successor, .term = term_});
  }
  become_follower(term_, kNoNode);
}

}  // namespace neuroplex::raft
