// The core's output side: proposing batched writes, draining Raft's Ready, persisting through the
// log, applying committed entries and answering the writes that wait for them.
#include <chrono>

#include "node/core.h"
#include "replication/batch_codec.h"
#include "replication/validation.h"

namespace neuroplex::node {
namespace {

// Ready rounds in one turn without new input beyond this mean the core is spinning.
constexpr int kMaxReadyRounds = 100000;

std::uint64_t wall_clock_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// What a write costs the apply in index insertion: the floats of the vector it adds. Every node
// inserts on its core thread while applying, so an entry's total bounds how long apply holds it.
std::size_t vector_floats(const replication::WriteOp& op) {
  const auto* put = std::get_if<replication::MemoryPutOp>(&op);
  return put == nullptr ? 0 : put->vector.size();
}

}  // namespace

WriteReply Core::not_leader_reply() const {
  WriteReply reply;
  const raft::NodeId leader = raft_->leader();
  if (leader == raft::kNoNode) {
    reply.status = unavailable(
        "no leader is known (an election is in progress or this node is "
        "cut off); retry shortly");
    return reply;
  }
  reply.status = Status(ErrorCode::kNotLeader, "node " + std::to_string(leader) + " is the leader");
  reply.leader = leader;
  if (const raft::Member* member = raft_->log().membership().find(leader)) {
    reply.leader_address = member->address;
  }
  return reply;
}

void Core::propose_expiry() {
  if (expire_in_flight_ || machine_ == nullptr || raft_->role() != raft::Role::kLeader) return;
  const std::optional<std::uint64_t> due = machine_->vectors().next_deadline_ms();
  if (!due || *due > wall_clock_ms()) return;
  // The entry carries this leader's clock; every replica expires by it, not by its own.
  expire_in_flight_ = true;
  queued_writes_.push_back({replication::ExpireOp{},
                            {},
                            [this](const WriteReply&) { expire_in_flight_ = false; },
                            std::chrono::steady_clock::now()});
}

// Group commit at the Raft level: every write queued this turn goes into one entry (or a few,
// past the batch bounds), so one fdatasync and one replication round serve them all.
void Core::propose_writes() {
  while (!queued_writes_.empty()) {
    if (raft_->role() != raft::Role::kLeader) {
      for (QueuedWrite& write : queued_writes_) {
        WriteReply reply = not_leader_reply();
        reply.unproposed = std::make_shared<replication::WriteOp>(std::move(write.op));
        write.done(std::move(reply));
      }
      queued_writes_.clear();
      return;
    }
    replication::Batch batch{.timestamp_ms = wall_clock_ms()};
    std::vector<WriteCallback> done;
    std::size_t bytes = 0;
    std::size_t floats = 0;
    std::size_t taken = 0;
    const TimePoint since = queued_writes_.front().since;  // the same for every write of a turn
    for (; taken < queued_writes_.size(); ++taken) {
      QueuedWrite& write = queued_writes_[taken];
      const std::size_t size = replication::payload_bytes(write.op) + 64;
      const std::size_t vector = vector_floats(write.op);
      if (taken > 0 &&
          (taken == options_.max_batch_ops || bytes + size > options_.max_batch_bytes ||
           floats + vector > options_.max_batch_vector_floats)) {
        break;
      }
      bytes += size;
      floats += vector;
      batch.operations.push_back(std::move(write.op));
      batch.request_ids.push_back(write.id);
      done.push_back(std::move(write.done));
    }
    queued_writes_.erase(queued_writes_.begin(), queued_writes_.begin() + taken);
    Result<raft::Index> index = raft_->propose(replication::encode_batch(batch));
    if (!index.is_ok()) {
      WriteReply reply = index.status().code() == ErrorCode::kNotLeader
                             ? not_leader_reply()
                             : WriteReply{.status = index.status()};
      for (WriteCallback& callback : done) callback(reply);
      continue;
    }
    metrics_.batch_ops.observe(static_cast<double>(taken));
    waiters_[*index] = EntryWaiter{raft_->term(), std::move(done), since};
  }
}

void Core::pump() {
  for (int round = 0; raft_->has_ready(); ++round) {
    if (round == kMaxReadyRounds) fatal("Raft keeps producing output without input");
    handle(raft_->ready());
  }
}

void Core::handle(raft::Ready ready) {
  std::vector<raft::Message> messages;
  for (raft::Message& message : ready.messages) {
    if (message.type == raft::MessageType::kSnapshot) {
      send_snapshot(std::move(message));
    } else {
      messages.push_back(std::move(message));
    }
  }
  if (!messages.empty()) transport_.send(std::move(messages));

  if (ready.snapshot && !install_snapshot(*ready.snapshot)) {
    fatal("Raft asked to install snapshot " + std::to_string(ready.snapshot->index) +
          " but it was not staged or did not install");
  }
  if (ready.persist_id != 0) persist(ready);

  for (const raft::Entry& entry : ready.committed) apply(entry);
  for (raft::ReadState& state : ready.read_states) {
    auto asked = reads_asked_.find(state.request_id);
    if (asked == reads_asked_.end()) continue;
    for (QueuedRead& read : asked->second) reads_waiting_.emplace(state.index, std::move(read));
    reads_asked_.erase(asked);
  }
  for (std::uint64_t request_id : ready.failed_reads) {
    auto asked = reads_asked_.find(request_id);
    if (asked == reads_asked_.end()) continue;
    for (QueuedRead& read : asked->second) {
      read.done(
          ReadReply{.status = unavailable("leadership changed while the read waited; retry")});
    }
    reads_asked_.erase(asked);
  }
  publish_members();
  if (!ready.committed.empty()) {
    serve_reads();
    maybe_take_snapshot(/*forced=*/false);
  }
}

// The leader's messages already went out above: its own disk write runs in parallel with the
// followers' (Raft holds back what depends on durability until on_persisted).
void Core::persist(raft::Ready& ready) {
  wal::AppendRequest request{.entries = std::move(ready.entries),
                             .hard_state = ready.hard_state,
                             .snapshot = ready.snapshot,
                             .sync = ready.must_sync};
  const std::uint64_t persist_id = ready.persist_id;
  log_->append(std::move(request), [this, persist_id](Status status) {
    if (!status.is_ok()) fatal("the Raft log failed: " + status.to_string());
    post([this, persist_id] { raft_->on_persisted(persist_id); });
  });
}

void Core::apply(const raft::Entry& entry) {
  if (machine_ == nullptr) fatal("an entry committed before the node knew its cluster");
  if (entry.type == raft::EntryType::kMembership || entry.data.empty()) {
    Status status = machine_->skip(entry.index);
    if (!status.is_ok()) fatal("the state store failed: " + status.to_string());
    answer_writes(entry, nullptr);
    return;
  }
  Result<replication::ApplyResult> result = machine_->apply_encoded(entry.index, entry.data);
  if (!result.is_ok()) fatal("the state store failed: " + result.status().to_string());
  metrics_.applied_ops.add(result->results.size());  // one result per operation
  answer_writes(entry, &*result);
  if (!result->changes.empty()) {
    watches_.changed(entry.index, result->changes, document_reader());
  }
}

void Core::answer_writes(const raft::Entry& entry, const replication::ApplyResult* result) {
  // Waiters below this entry whose entries were overwritten by another leader never apply.
  while (!waiters_.empty() && waiters_.begin()->first <= entry.index) {
    const raft::Index index = waiters_.begin()->first;
    EntryWaiter waiter = std::move(waiters_.begin()->second);
    waiters_.erase(waiters_.begin());
    const bool ours = index == entry.index && waiter.term == entry.term;
    if (ours && entry.type != raft::EntryType::kMembership && !waiter.done.empty()) {
      // Every write of the entry was queued at waiter.since: one observation per write.
      const std::chrono::duration<double> latency = std::chrono::steady_clock::now() - waiter.since;
      metrics_.commit_seconds.observe_many(latency.count(), waiter.done.size());
    }
    for (std::size_t i = 0; i < waiter.done.size(); ++i) {
      WriteReply reply{.index = entry.index};
      if (!ours) {
        reply.status = unavailable(
            "leadership changed before the write committed; retry it (a retry with the same "
            "request id is applied at most once)");
      } else if (result != nullptr && i < result->results.size()) {
        reply.status = result->results[i];
        if (i < result->indexes.size()) reply.index = result->indexes[i];
      }
      waiter.done[i](std::move(reply));
    }
  }
}

void Core::publish_members() {
  const raft::Membership& members = raft_->log().membership();
  if (members == published_members_) return;
  published_members_ = members;
  transport_.set_members(members);
}

}  // namespace neuroplex::node
