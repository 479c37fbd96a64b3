#include "tests/sim/sim_node.h"

#include <algorithm>
#include <cassert>

namespace neuroplex::sim {
namespace {

// A ready() loop longer than this means the core keeps producing output without new input.
constexpr int kMaxReadyRounds = 10000;

}  // namespace

SimNode::SimNode(NodeOptions options, DurableImage initial, NodeEnv& env, SimRandom random)
    : options_(options), env_(env), random_(random), disk_(std::move(initial)) {
  disk_.set_latency(options_.disk_latency_min, options_.disk_latency_max);
}

void SimNode::start() {
  assert(!up());
  const DurableImage& image = disk_.image();
  kv_ = KvMachine{};
  if (image.snapshot.index > 0) {
    if (!kv_.restore(image.snapshot_data) || kv_.applied() != image.snapshot.index) {
      env_.fail("node " + std::to_string(id()) + ": durable snapshot data does not restore");
    }
  }
  snapshot_meta_ = image.snapshot;
  snapshot_data_ = image.snapshot_data;
  // Each life gets its own election-timeout stream, derived from the run's seed.
  raft::Config config{.id = id(),
                      .election_ticks = 10,
                      .heartbeat_ticks = 1,
                      .random_seed = Hasher{}.add(options_.raft_seed).add(incarnation_).value()};
  raft_ = std::make_unique<raft::Raft>(config, image.to_durable_state());
  raft_->check_invariants();
  env_.observe_started(*this);
  pump();
}

void SimNode::crash(bool keep_random_prefix) {
  assert(up());
  raft_.reset();
  kv_ = KvMachine{};
  snapshot_meta_ = {};
  snapshot_data_.clear();
  staged_.clear();
  reads_.clear();
  disk_.crash(random_, keep_random_prefix);
  ++incarnation_;
}

void SimNode::tick() {
  raft_->tick();
  pump();
}

void SimNode::deliver(raft::Message message) {
  raft_->step(std::move(message));
  pump();
}

void SimNode::disk_completed() {
  raft_->on_persisted(disk_.complete_next());
  pump();
}

Result<raft::Index> SimNode::propose(std::string data) {
  Result<raft::Index> result = raft_->propose(std::move(data));
  pump();
  return result;
}

Result<raft::Index> SimNode::propose_membership(const raft::MembershipChange& change) {
  Result<raft::Index> result = raft_->propose_membership(change);
  pump();
  return result;
}

Status SimNode::read_index(std::uint64_t request_id) {
  Status status = raft_->read_index(request_id);
  pump();
  return status;
}

Status SimNode::read_lease(std::uint64_t request_id) {
  Status status = raft_->read_lease(request_id);
  pump();
  return status;
}

Status SimNode::transfer_leadership(raft::NodeId target) {
  Status status = raft_->transfer_leadership(target);
  pump();
  return status;
}

void SimNode::report_snapshot(raft::NodeId to, bool success) {
  raft_->report_snapshot(to, success);
  pump();
}

void SimNode::report_unreachable(raft::NodeId to) {
  raft_->report_unreachable(to);
  pump();
}

void SimNode::stage_snapshot(const raft::SnapshotMeta& meta, std::string data) {
  staged_[meta.index] = {meta.term, std::move(data)};
}

void SimNode::pump() {
  int round = 0;
  for (; raft_->has_ready(); ++round) {
    if (round == kMaxReadyRounds) {
      env_.fail("node " + std::to_string(id()) + ": has_ready() is still true after " +
                std::to_string(kMaxReadyRounds) + " ready() calls without new input");
      return;
    }
    handle(raft_->ready());
    raft_->check_invariants();
  }
  if (round == 0) raft_->check_invariants();  // the input alone changed the core
}

void SimNode::handle(raft::Ready ready) {
  env_.observe_ready(*this, ready);
  for (raft::Message& message : ready.messages) env_.send(id(), std::move(message));

  if (ready.persist_id != 0) {
    DiskWrite write{.persist_id = ready.persist_id,
                    .hard_state = ready.hard_state,
                    .snapshot = ready.snapshot,
                    .snapshot_data = {},
                    .entries = std::move(ready.entries),
                    .must_sync = ready.must_sync};
    if (ready.snapshot && !install(*ready.snapshot, write)) return;
    const Time when = disk_.submit(std::move(write), env_.now(), random_);
    env_.disk_write_queued(*this, when);
  } else if (ready.snapshot || !ready.entries.empty() || ready.hard_state) {
    env_.fail("node " + std::to_string(id()) + ": a Ready with something to persist has no " +
              "persist_id");
    return;
  }

  for (const raft::Entry& entry : ready.committed) {
    if (entry.index != kv_.applied() + 1) {
      env_.fail("node " + std::to_string(id()) + ": committed entry " +
                std::to_string(entry.index) + " handed out after applied index " +
                std::to_string(kv_.applied()));
      return;
    }
    kv_.apply(entry);
    env_.observe_applied(*this, entry);
  }
  if (kv_.applied() != raft_->log().applied()) {
    env_.fail("node " + std::to_string(id()) + ": KV applied " + std::to_string(kv_.applied()) +
              " but the core's applied is " + std::to_string(raft_->log().applied()));
    return;
  }
  reads_.insert(reads_.end(), ready.read_states.begin(), ready.read_states.end());
  for (std::uint64_t request_id : ready.failed_reads) env_.observe_read_failed(*this, request_id);
  serve_reads();
  if (!ready.committed.empty() || ready.snapshot) env_.observe_progress(*this);
  maybe_take_snapshot();
}

// The core accepted a snapshot from the leader: the KV state becomes the staged data now (the
// committed entries after it build on it), and the data is written with this Ready.
bool SimNode::install(const raft::SnapshotMeta& meta, DiskWrite& write) {
  auto it = staged_.find(meta.index);
  if (it == staged_.end() || it->second.first != meta.term) {
    env_.fail("node " + std::to_string(id()) + ": Ready asks to install snapshot (" +
              std::to_string(meta.index) + ", term " + std::to_string(meta.term) +
              ") but no such snapshot was staged");
    return false;
  }
  std::string data = std::move(it->second.second);
  staged_.erase(staged_.begin(), std::next(it));
  if (!kv_.restore(data) || kv_.applied() != meta.index) {
    env_.fail("node " + std::to_string(id()) + ": staged snapshot data does not restore");
    return false;
  }
  snapshot_meta_ = meta;
  snapshot_data_ = data;
  write.snapshot_data = std::move(data);
  ++snapshots_installed_;
  env_.observe_restored(*this);
  return true;
}

void SimNode::serve_reads() {
  auto ready_end = std::stable_partition(
      reads_.begin(), reads_.end(), [&](const auto& read) { return read.index <= kv_.applied(); });
  std::vector<raft::ReadState> served(reads_.begin(), ready_end);
  reads_.erase(reads_.begin(), ready_end);
  for (const raft::ReadState& read : served) env_.observe_read(*this, read.request_id);
}

void SimNode::maybe_take_snapshot() {
  if (options_.snapshot_every == 0) return;
  const raft::Index index = kv_.applied();
  if (index < snapshot_meta_.index + options_.snapshot_every) return;
  raft_->on_snapshot(index, options_.snapshot_retain);
  const raft::SnapshotMeta& meta = raft_->snapshot();
  if (meta.index != index) return;  // the core declined (e.g. it holds a newer one)
  snapshot_meta_ = meta;
  snapshot_data_ = kv_.serialize();
  disk_.save_snapshot(meta, snapshot_data_);
  ++snapshots_taken_;
}

}  // namespace neuroplex::sim
