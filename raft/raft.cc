// Roles, the step dispatch and the Ready / persistence pipeline of the Raft core.
#include "raft/raft.h"

#include <algorithm>
#include <cassert>

namespace neuroplex::raft {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

bool Ready::empty() const {
  return persist_id == 0 && messages.empty() && committed.empty() && read_states.empty() &&
         failed_reads.empty();
}

Raft::Raft(Config config, DurableState state)
    : config_(config), random_(config.random_seed), snapshot_(std::move(state.snapshot)) {
  assert(config_.id != kNoNode);
  assert(config_.heartbeat_ticks >= 1 && config_.election_ticks > config_.heartbeat_ticks);
  log_.reset(snapshot_.index, snapshot_.term, snapshot_.membership, std::move(state.entries));
  log_.set_persisted(log_.last_index());
  (void)log_.take_unwritten();  // everything given to us is already on disk
  // The commit index on disk may lag (it is written without sync), and the applied state may be
  // ahead of it: applied entries were committed, so either bounds the commit from below.
  const Index commit =
      std::min(std::max(state.hard_state.commit, state.applied), log_.last_index());
  log_.commit_to(commit);
  log_.applied_to(std::max(std::min(state.applied, commit), log_.applied()));
  term_ = state.hard_state.term;
  vote_ = state.hard_state.vote;
  persisted_hard_state_ = HardState{term_, vote_, log_.commit()};
  become_follower(term_, kNoNode);
}

// --- roles -------------------------------------------------------------------------------------

void Raft::reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
  }
  leader_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_election_timeout();
  votes_.clear();
  progress_.clear();
  uncommitted_bytes_ = 0;
  transfer_target_ = kNoNode;
  transfer_elapsed_ = 0;
  pending_broadcast_ = false;
  fail_reads(reads_.reset());
}

void Raft::reset_election_timeout() {
  randomized_timeout_ = random_.uniform(config_.election_ticks, 2 * config_.election_ticks);
}

void Raft::become_follower(Term term, NodeId leader) {
  reset(term);
  role_ = Role::kFollower;
  leader_ = leader;
}

void Raft::become_pre_candidate() {
  // Term and vote stay: a pre-vote changes nothing durable (section 9.6).
  votes_.clear();
  progress_.clear();
  leader_ = kNoNode;
  role_ = Role::kPreCandidate;
  reset_election_timeout();
}

void Raft::become_candidate() {
  reset(term_ + 1);
  vote_ = config_.id;
  role_ = Role::kCandidate;
}

void Raft::become_leader() {
  assert(role_ == Role::kCandidate);
  reset(term_);
  role_ = Role::kLeader;
  leader_ = config_.id;
  membership_changed();  // progress for every member
  for (auto& [id, progress] : progress_) progress.recent_active = true;
  // The no-op commits every earlier entry and opens ReadIndex and membership changes (6.4, 4.1).
  std::vector<Entry> noop(1);
  (void)append_as_leader(std::move(noop));
  uncommitted_bytes_ = 0;  // the no-op does not count against proposals
  pending_broadcast_ = true;
}

// A node campaigns if it is a voter in its latest membership — or if that membership removes it
// but has not committed yet. Without the second case, a leader whose own removal cannot commit
// (say {A,B} -> {B} while B is down) and that then steps down leaves nobody able to win: A does
// not campaign, and B, lacking the removal entry, cannot get A's vote. As a candidate A counts
// only the new membership's voters, exactly as a leader being removed does (thesis 4.2.2).
bool Raft::promotable() const {
  if (snapshot_to_install_.has_value()) return false;
  const Membership& latest = log_.membership();
  if (latest.is_voter(config_.id)) return true;
  return log_.membership_index() > log_.commit() &&
         log_.membership_at(log_.commit()).is_voter(config_.id) && latest.voter_count() > 0;
}

// --- time --------------------------------------------------------------------------------------

void Raft::tick() {
  ++now_ticks_;
  if (role_ == Role::kLeader) {
    tick_heartbeat();
  } else {
    tick_election();
  }
}

void Raft::tick_election() {
  ++election_elapsed_;
  if (promotable() && past_election_timeout()) {
    election_elapsed_ = 0;
    campaign(config_.pre_vote, /*transfer=*/false);
  }
}

void Raft::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (transfer_target_ != kNoNode && ++transfer_elapsed_ >= config_.election_ticks) {
    abort_transfer();
  }
  if (election_elapsed_ >= config_.election_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum) {
      std::size_t active = log_.membership().is_voter(config_.id) ? 1 : 0;
      for (auto& [id, progress] : progress_) {
        if (log_.membership().is_voter(id) && progress.recent_active) ++active;
        progress.recent_active = false;
      }
      if (!is_quorum(active)) {
        become_follower(term_, kNoNode);  // no quorum heard from in an election timeout
        return;
      }
    }
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat();
  }
}

// --- messages ----------------------------------------------------------------------------------

void Raft::step(Message message) {
  if (!step_term(message)) return;
  switch (message.type) {
    case MessageType::kPreVote:
    case MessageType::kVote:
      handle_vote_request(message);
      return;
    case MessageType::kReadIndex:
      handle_read_index(message);
      return;
    case MessageType::kReadIndexResponse:
      handle_read_index_response(message);
      return;
    default:
      break;
  }
  switch (role_) {
    case Role::kLeader:
      step_leader(message);
      return;
    case Role::kPreCandidate:
    case Role::kCandidate:
      step_candidate(message);
      return;
    case Role::kFollower:
      step_follower(message);
      return;
  }
}

// Applies the term rules shared by every role. Returns false when the message must be dropped.
bool Raft::step_term(const Message& message) {
  const bool vote_request =
      message.type == MessageType::kVote || message.type == MessageType::kPreVote;
  if (message.term > term_) {
    if (vote_request && !message.transfer && in_lease()) return false;  // leader stickiness
    if (message.type == MessageType::kPreVote) return true;  // a pre-vote changes nothing
    if (message.type == MessageType::kPreVoteResponse && !message.reject) return true;
    const bool from_leader = message.type == MessageType::kAppend ||
                             message.type == MessageType::kHeartbeat ||
                             message.type == MessageType::kSnapshot;
    become_follower(message.term, from_leader ? message.from : kNoNode);
    return true;
  }
  if (message.term < term_) {
    if ((config_.check_quorum || config_.pre_vote) &&
        (message.type == MessageType::kAppend || message.type == MessageType::kHeartbeat)) {
      // A stale leader (e.g. behind a partition that pre-vote kept us from disrupting) learns
      // the newer term from this answer and steps down.
      send(Message{
          .type = MessageType::kAppendResponse, .to = message.from, .term = term_, .reject = true});
    } else if (message.type == MessageType::kPreVote) {
      send(Message{.type = MessageType::kPreVoteResponse,
                   .to = message.from,
                   .term = term_,
                   .reject = true});
    }
    return false;
  }
  return true;
}

void Raft::step_leader(Message& message) {
  switch (message.type) {
    case MessageType::kAppendResponse:
      handle_append_response(message);
      return;
    case MessageType::kHeartbeatResponse:
      handle_heartbeat_response(message);
      return;
    default:
      return;
  }
}

void Raft::step_candidate(Message& message) {
  switch (message.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      become_follower(term_, message.from);  // a leader won this term
      step_follower(message);
      return;
    case MessageType::kVoteResponse:
    case MessageType::kPreVoteResponse:
      handle_vote_response(message);
      return;
    default:
      return;
  }
}

void Raft::step_follower(Message& message) {
  switch (message.type) {
    case MessageType::kAppend:
      handle_append(message);
      return;
    case MessageType::kHeartbeat:
      handle_heartbeat(message);
      return;
    case MessageType::kSnapshot:
      handle_snapshot(message);
      return;
    case MessageType::kTimeoutNow:
      handle_timeout_now();
      return;
    default:
      return;
  }
}

void Raft::send(Message message) {
  message.from = config_.id;
  outbox_.push_back(std::move(message));
}

void Raft::send_after_persist(Message message) {
  message.from = config_.id;
  held_.push_back(std::move(message));
}

void Raft::release(std::vector<Message> messages) {
  for (Message& message : messages) {
    if (message.to == config_.id) {
      to_self_.push_back(std::move(message));
    } else {
      outbox_.push_back(std::move(message));
    }
  }
}

void Raft::step_to_self() {
  std::vector<Message> messages = std::move(to_self_);
  to_self_.clear();
  for (Message& message : messages) step(std::move(message));
}

// --- status ------------------------------------------------------------------------------------

RaftStatus Raft::status() const {
  RaftStatus status{.id = config_.id,
                    .role = role_,
                    .term = term_,
                    .leader = leader_,
                    .commit = log_.commit(),
                    .applied = log_.applied(),
                    .last_index = log_.last_index(),
                    .persisted_index = log_.persisted(),
                    .membership = log_.membership(),
                    .match = {}};
  if (role_ == Role::kLeader) {
    status.match[config_.id] = log_.persisted();
    for (const auto& [id, progress] : progress_) status.match[id] = progress.match;
  }
  return status;
}

}  // namespace neuroplex::raft
