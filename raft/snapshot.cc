// Snapshots: compaction after the host took one, sending it to lagging followers, installing one.
#include <cassert>

#include "raft/raft.h"

namespace neuroplex::raft {

void Raft::on_snapshot(Index index, Index retain_entries) {
  assert(index <= log_.applied());
  if (index <= snapshot_.index || index < log_.prev_index()) return;
  snapshot_ = SnapshotMeta{index, *log_.term(index), log_.membership_at(index)};
  const Index compact_to = index > retain_entries ? index - retain_entries : 0;
  log_.compact(compact_to);
}

void Raft::send_snapshot(NodeId to, Progress& progress) {
  // Entries below the log's start are only ever dropped after a snapshot covering them.
  assert(snapshot_.index >= log_.prev_index() && snapshot_.index > 0);
  progress.become_snapshot(snapshot_.index);
  send(Message{.type = MessageType::kSnapshot, .to = to, .term = term_, .snapshot = snapshot_});
}

void Raft::report_snapshot(NodeId to, bool success) {
  auto it = progress_.find(to);
  if (role_ != Role::kLeader || it == progress_.end()) return;
  Progress& progress = it->second;
  if (progress.state != ProgressState::kSnapshot) return;
  if (!success) progress.pending_snapshot = 0;
  progress.become_probe();
  // Wait for the follower's answer (or a heartbeat response) before probing again.
  progress.probe_sent = true;
}

void Raft::report_unreachable(NodeId to) {
  auto it = progress_.find(to);
  if (role_ != Role::kLeader || it == progress_.end()) return;
  // Appends in flight were probably lost: stop pipelining until the follower answers again.
  if (it->second.state == ProgressState::kReplicate) it->second.become_probe();
}

void Raft::handle_snapshot(const Message& message) {
  leader_ = message.from;
  election_elapsed_ = 0;
  const SnapshotMeta& meta = message.snapshot;
  Message response{.type = MessageType::kAppendResponse, .to = message.from, .term = term_};
  if (meta.index <= log_.commit()) {
    response.log_index = log_.commit();  // nothing new in it
    send_after_persist(std::move(response));
    return;
  }
  if (log_.matches(meta.index, meta.term)) {
    // Our log already holds what it covers: only the commit index moves.
    log_.commit_to(meta.index);
  } else {
    snapshot_ = meta;
    snapshot_to_install_ = meta;
    log_.reset(meta.index, meta.term, meta.membership, {});
    membership_changed();
  }
  response.log_index = meta.index;
  send_after_persist(std::move(response));
}

}  // namespace neuroplex::raft
