// Linearizable reads: ReadIndex (section 6.4, batched into heartbeat rounds), from the leader or
// through it from followers, and leader lease reads (section 6.4.1).
#include <algorithm>

#include "raft/raft.h"

namespace neuroplex::raft {

Status Raft::read_index(std::uint64_t request_id) {
  if (role_ == Role::kLeader) {
    reads_.add(request_id, config_.id, leader_committed_in_term() ? log_.commit() : 0);
    return Status::ok();
  }
  if (leader_ == kNoNode) return unavailable("no leader known; retry later");
  send(Message{
      .type = MessageType::kReadIndex, .to = leader_, .term = term_, .request_id = request_id});
  return Status::ok();
}

Status Raft::read_lease(std::uint64_t request_id) {
  if (role_ != Role::kLeader) return Status{ErrorCode::kNotLeader, "not the leader"};
  if (!config_.check_quorum) return unavailable("lease reads need check_quorum");
  if (transfer_target_ != kNoNode) return unavailable("leadership transfer in progress");
  const std::optional<std::uint64_t> start = reads_.lease_start();
  const auto lease_ticks =
      static_cast<std::uint64_t>(config_.election_ticks - config_.lease_margin_ticks);
  if (!leader_committed_in_term() || !start.has_value() || now_ticks_ >= *start + lease_ticks) {
    return unavailable("no valid leader lease; use a linearizable read");
  }
  read_states_.push_back(ReadState{request_id, log_.commit()});
  return Status::ok();
}

void Raft::handle_read_index(const Message& message) {
  if (role_ != Role::kLeader) {
    fail_reads(
        {ReadIndexQueue::Request{.request_id = message.request_id, .requester = message.from}});
    return;
  }
  reads_.add(message.request_id, message.from, leader_committed_in_term() ? log_.commit() : 0);
}

void Raft::handle_read_index_response(const Message& message) {
  if (message.reject) {
    failed_reads_.push_back(message.request_id);
  } else if (role_ == Role::kFollower && message.from == leader_) {
    read_states_.push_back(ReadState{message.request_id, message.log_index});
  }
}

// Tells each requester that its read will not be served here (a deposed or wrong leader).
void Raft::fail_reads(std::vector<ReadIndexQueue::Request> requests) {
  for (const ReadIndexQueue::Request& request : requests) {
    if (request.requester == config_.id) {
      failed_reads_.push_back(request.request_id);
    } else {
      send(Message{.type = MessageType::kReadIndexResponse,
                   .to = request.requester,
                   .term = term_,
                   .reject = true,
                   .request_id = request.request_id});
    }
  }
}

// The newest heartbeat round a quorum of voters has echoed (this leader echoes all of its own).
std::uint64_t Raft::quorum_acked_read_seq() const {
  std::vector<std::uint64_t> acked;
  for (const Member& member : log_.membership().members) {
    if (!member.voter) continue;
    const NodeId voter = member.id;
    acked.push_back(voter == config_.id ? reads_.last_seq() : progress_.at(voter).acked_read_seq);
  }
  if (acked.empty()) return 0;
  std::sort(acked.begin(), acked.end(), std::greater<>());
  return acked[acked.size() / 2];
}

void Raft::release_reads() {
  for (const ReadIndexQueue::Request& request : reads_.confirm(quorum_acked_read_seq())) {
    if (request.requester == config_.id) {
      read_states_.push_back(ReadState{request.request_id, request.index});
    } else {
      send(Message{.type = MessageType::kReadIndexResponse,
                   .to = request.requester,
                   .term = term_,
                   .log_index = request.index,
                   .request_id = request.request_id});
    }
  }
}

}  // namespace neuroplex::raft
