// Log replication: proposals, appends with flow control and fast backtracking, heartbeats, and
// the commit rule.
#include <algorithm>
#include <cassert>

#include "raft/raft.h"

namespace neuroplex::raft {

Result<Index> Raft::propose(std::string data) {
  if (role_ != Role::kLeader) return Status{ErrorCode::kNotLeader, "not the leader"};
  if (transfer_target_ != kNoNode) return unavailable("leadership transfer in progress");
  Entry entry{.data = std::move(data)};
  const std::size_t bytes = entry_size_bytes(entry);
  if (uncommitted_bytes_ > 0 && uncommitted_bytes_ + bytes > config_.max_uncommitted_bytes) {
    return unavailable("too many uncommitted entries; retry later");
  }
  std::vector<Entry> entries;
  entries.push_back(std::move(entry));
  return append_as_leader(std::move(entries));
}

Index Raft::append_as_leader(std::vector<Entry> entries) {
  assert(role_ == Role::kLeader);
  for (Entry& entry : entries) {
    entry.index = log_.last_index() + 1;
    entry.term = term_;
    uncommitted_bytes_ += entry_size_bytes(entry);
    const bool membership = entry.type == EntryType::kMembership;
    log_.append(std::move(entry));
    if (membership) membership_changed();
  }
  pending_broadcast_ = true;
  return log_.last_index();
}

void Raft::broadcast_append() {
  for (auto& [id, progress] : progress_) (void)send_append(id, /*send_if_empty=*/true);
}

// Sends `to` the entries it needs next, within the flow-control limits. Returns whether a message
// went out.
bool Raft::send_append(NodeId to, bool send_if_empty) {
  Progress& progress = progress_.at(to);
  if (progress.paused()) return false;
  const Index prev = progress.next - 1;
  const std::optional<Term> prev_term = log_.term(prev);
  if (!prev_term.has_value()) {
    send_snapshot(to, progress);  // the entries it needs were compacted
    return false;
  }
  std::vector<Entry> entries;
  if (progress.next <= log_.last_index()) {
    entries = log_.slice(progress.next, log_.last_index(), config_.max_message_bytes);
  }
  if (entries.empty() && !send_if_empty) return false;
  std::size_t bytes = 0;
  for (const Entry& entry : entries) bytes += entry_size_bytes(entry);
  progress.sent(entries.empty() ? prev : entries.back().index, bytes);
  send(Message{.type = MessageType::kAppend,
               .to = to,
               .term = term_,
               .log_index = prev,
               .log_term = *prev_term,
               .commit = log_.commit(),
               .entries = std::move(entries)});
  return true;
}

void Raft::send_heartbeat(NodeId to, std::uint64_t read_seq) {
  // Never tell a follower to commit past what it is known to hold: its log beyond match may
  // still differ from ours.
  const Index commit = std::min(progress_.at(to).match, log_.commit());
  send(Message{.type = MessageType::kHeartbeat,
               .to = to,
               .term = term_,
               .commit = commit,
               .read_seq = read_seq});
}

void Raft::broadcast_heartbeat() {
  const std::uint64_t seq = reads_.start_round(now_ticks_);
  for (const auto& [id, progress] : progress_) send_heartbeat(id, seq);
  release_reads();  // a single voter confirms its own round
}

void Raft::handle_append(const Message& message) {
  leader_ = message.from;
  election_elapsed_ = 0;
  Message response{.type = MessageType::kAppendResponse, .to = message.from, .term = term_};
  if (message.log_index < log_.commit()) {
    response.log_index = log_.commit();  // an old, duplicated append: report what we hold
    send_after_persist(std::move(response));
    return;
  }
  if (!log_.matches(message.log_index, message.log_term)) {
    // Fast backtracking (section 5.3): point the leader at our last entry whose term is not
    // newer than the one it probed, so a whole divergent term is skipped in one round trip.
    const Index hint = log_.find_conflict_by_term(message.log_index, message.log_term);
    response.reject = true;
    response.log_index = message.log_index;
    response.hint_index = hint;
    response.hint_term = log_.term(hint).value_or(0);
    send(std::move(response));
    return;
  }
  const Index last_new = message.log_index + message.entries.size();
  if (!message.entries.empty()) {
    const Index membership_before = log_.membership_index();
    if (log_.merge(message.entries) != 0) from_leader_since_ready_ = true;
    if (log_.membership_index() != membership_before) membership_changed();
  }
  log_.commit_to(std::min(message.commit, last_new));
  response.log_index = last_new;
  send_after_persist(std::move(response));  // it promises entries up to last_new are durable
}

void Raft::handle_append_response(const Message& message) {
  auto it = progress_.find(message.from);
  if (it == progress_.end()) return;
  Progress& progress = it->second;
  progress.recent_active = true;
  if (message.reject) {
    const Index hint = message.hint_term == 0
                           ? message.hint_index
                           : log_.find_conflict_by_term(message.hint_index, message.hint_term);
    if (progress.maybe_decrease_to(message.log_index, hint)) {
      if (progress.state == ProgressState::kReplicate) progress.become_probe();
      (void)send_append(message.from, /*send_if_empty=*/true);
    }
    return;
  }
  if (!progress.maybe_update(message.log_index)) return;
  switch (progress.state) {
    case ProgressState::kProbe:
      progress.become_replicate();
      break;
    case ProgressState::kSnapshot:
      if (progress.match >= progress.pending_snapshot) {
        progress.become_probe();
        progress.become_replicate();
      }
      break;
    case ProgressState::kReplicate:
      progress.inflights.free_up_to(progress.match);
      break;
  }
  if (maybe_commit()) {
    if (role_ != Role::kLeader) return;  // the commit removed this leader
    broadcast_append();
  }
  while (send_append(message.from, /*send_if_empty=*/false)) {
  }
  if (message.from == transfer_target_ && progress.match == log_.last_index()) {
    send(Message{.type = MessageType::kTimeoutNow, .to = message.from, .term = term_});
  }
}

void Raft::handle_heartbeat(const Message& message) {
  leader_ = message.from;
  election_elapsed_ = 0;
  log_.commit_to(std::min(message.commit, log_.last_index()));
  send(Message{.type = MessageType::kHeartbeatResponse,
               .to = message.from,
               .term = term_,
               .read_seq = message.read_seq});
}

void Raft::handle_heartbeat_response(const Message& message) {
  auto it = progress_.find(message.from);
  if (it == progress_.end()) return;
  Progress& progress = it->second;
  progress.recent_active = true;
  progress.acked_read_seq = std::max(progress.acked_read_seq, message.read_seq);
  progress.probe_sent = false;  // a probe lost on the way is retried now
  // A full window whose appends were all lost (the follower restarted) would never drain:
  // each heartbeat answer frees one slot, so an append goes out and its rejection resets the
  // window (etcd does the same).
  if (progress.state == ProgressState::kReplicate && progress.inflights.full()) {
    progress.inflights.free_first_one();
  }
  if (progress.match < log_.last_index()) (void)send_append(message.from, true);
  release_reads();
}

// Commits the largest index a quorum of voters holds durably, if it is of the current term
// (section 5.4.2: older entries commit only by committing one of ours after them).
bool Raft::maybe_commit() {
  std::vector<Index> matches;
  for (const Member& member : log_.membership().members) {
    if (!member.voter) continue;
    const NodeId voter = member.id;
    matches.push_back(voter == config_.id ? log_.persisted() : progress_.at(voter).match);
  }
  if (matches.empty()) return false;
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const Index quorum_index = matches[matches.size() / 2];
  if (quorum_index <= log_.commit() || log_.term(quorum_index) != term_) return false;
  const bool first_in_term = !leader_committed_in_term();
  for (Index index = log_.commit() + 1; index <= quorum_index; ++index) {
    const std::size_t bytes = entry_size_bytes(log_.at(index));
    uncommitted_bytes_ -= std::min(uncommitted_bytes_, bytes);
  }
  log_.commit_to(quorum_index);
  if (first_in_term) reads_.assign_index(log_.commit());
  maybe_step_down_after_removal();
  return true;
}

bool Raft::leader_committed_in_term() const { return log_.term(log_.commit()) == term_; }

}  // namespace neuroplex::raft
