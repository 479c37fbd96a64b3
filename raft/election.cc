// Leader election: pre-vote, votes, leader stickiness (check-quorum) and leadership transfer.
#include <cassert>

#include "raft/raft.h"

namespace neuroplex::raft {

void Raft::campaign(bool pre_vote, bool transfer) {
  MessageType request = MessageType::kVote;
  Term vote_term = 0;
  if (pre_vote) {
    become_pre_candidate();
    request = MessageType::kPreVote;
    vote_term = term_ + 1;
    votes_[config_.id] = true;  // a pre-vote promises nothing, so it counts at once
  } else {
    become_candidate();
    vote_term = term_;
    // Our own vote counts once term and vote are durable: otherwise a crash could let us vote
    // again in this term, or lead it twice with different logs.
    send_after_persist(
        Message{.type = MessageType::kVoteResponse, .to = config_.id, .term = term_});
  }
  for (const Member& member : log_.membership().members) {
    if (!member.voter) continue;
    const NodeId voter = member.id;
    if (voter == config_.id) continue;
    Message message{.type = request,
                    .to = voter,
                    .term = vote_term,
                    .log_index = log_.last_index(),
                    .log_term = log_.last_term(),
                    .transfer = transfer};
    // A real vote request carries the new term, which must be durable before anyone sees it.
    if (pre_vote) {
      send(std::move(message));
    } else {
      send_after_persist(std::move(message));
    }
  }
  if (pre_vote) {
    Message own{.type = MessageType::kPreVoteResponse, .from = config_.id, .term = vote_term};
    handle_vote_response(own);  // a single voter wins its pre-vote alone
  }
}

void Raft::handle_vote_request(const Message& message) {
  const bool pre_vote = message.type == MessageType::kPreVote;
  // A pre-vote for a future term may be granted even after voting in this one; a real vote
  // only once per term (and again to the same candidate, whose request may be a retry).
  const bool can_vote = vote_ == message.from || (vote_ == kNoNode && leader_ == kNoNode) ||
                        (pre_vote && message.term > term_);
  const bool grant = can_vote && log_.is_up_to_date(message.log_index, message.log_term);
  Message response{.type = pre_vote ? MessageType::kPreVoteResponse : MessageType::kVoteResponse,
                   .to = message.from,
                   .term = grant ? message.term : term_,
                   .reject = !grant};
  if (!grant || pre_vote) {
    send(std::move(response));
    return;
  }
  election_elapsed_ = 0;
  vote_ = message.from;
  send_after_persist(std::move(response));  // the vote must be durable before it is promised
}

void Raft::handle_vote_response(const Message& message) {
  const bool pre = role_ == Role::kPreCandidate;
  if (message.type != (pre ? MessageType::kPreVoteResponse : MessageType::kVoteResponse)) return;
  if (message.term != (pre ? term_ + 1 : term_) && !message.reject) return;
  votes_[message.from] = !message.reject;
  std::size_t granted = 0;
  std::size_t rejected = 0;
  for (const Member& member : log_.membership().members) {
    if (!member.voter) continue;
    const NodeId voter = member.id;
    auto it = votes_.find(voter);
    if (it == votes_.end()) continue;
    (it->second ? granted : rejected) += 1;
  }
  if (is_quorum(granted)) {
    if (pre) {
      campaign(/*pre_vote=*/false, /*transfer=*/false);
    } else {
      become_leader();
    }
  } else if (is_quorum(rejected)) {
    become_follower(term_, kNoNode);
  }
}

// With check-quorum, a node that heard from a leader within the minimum election timeout
// ignores vote requests (section 4.2.3), so a disconnected node cannot depose a live leader and
// a leader's lease is sound.
bool Raft::in_lease() const {
  return config_.check_quorum && leader_ != kNoNode && election_elapsed_ < config_.election_ticks;
}

Status Raft::transfer_leadership(NodeId target) {
  if (role_ != Role::kLeader) return Status{ErrorCode::kNotLeader, "not the leader"};
  if (target == config_.id) return Status::ok();
  if (!log_.membership().is_voter(target)) {
    return invalid_argument("leadership transfer: target is not a voter");
  }
  if (transfer_target_ == target) return Status::ok();
  transfer_target_ = target;
  transfer_elapsed_ = 0;
  const Progress& progress = progress_.at(target);
  if (progress.match == log_.last_index()) {
    send(Message{.type = MessageType::kTimeoutNow, .to = target, .term = term_});
  } else {
    (void)send_append(target, /*send_if_empty=*/true);  // catch it up first
  }
  return Status::ok();
}

void Raft::abort_transfer() {
  transfer_target_ = kNoNode;
  transfer_elapsed_ = 0;
}

void Raft::handle_timeout_now() {
  if (promotable()) campaign(/*pre_vote=*/false, /*transfer=*/true);
}

}  // namespace neuroplex::raft
