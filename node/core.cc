#include "node/core.h"

#include <pthread.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace neuroplex::node {

Core::Core(NodeOptions options, Transport& transport)
    : options_(std::move(options)), dir_{options_.data_dir}, transport_(transport) {}

Core::~Core() { stop(); }

Core::Metrics Core::Metrics::lookup() {
  metrics::Registry& registry = metrics::registry();
  auto reads = [&](const char* consistency) -> metrics::Counter& {
    return registry.counter("neuroplex_reads_total", "Reads answered, by requested consistency.",
                            {{"consistency", consistency}});
  };
  return Metrics{
      .commit_seconds = registry.histogram(
          "neuroplex_commit_seconds",
          "Leader: time from a client write queued on the core to its answer after apply.",
          metrics::latency_buckets()),
      .batch_ops = registry.histogram("neuroplex_batch_ops",
                                      "Leader: client operations per proposed Batch entry.",
                                      metrics::size_buckets()),
      .applied_ops = registry.counter("neuroplex_applied_ops_total",
                                      "Client operations applied by this node's state machine."),
      .watch_subscribers =
          registry.gauge("neuroplex_watch_subscribers", "Open watches on this node."),
      .reads_linearizable = reads("linearizable"),
      .reads_lease = reads("lease"),
      .reads_local = reads("local"),
  };
}

metrics::Counter& Core::Metrics::reads(Consistency consistency) const {
  switch (consistency) {
    case Consistency::kLinearizable:
      return reads_linearizable;
    case Consistency::kLease:
      return reads_lease;
    case Consistency::kLocal:
      break;
  }
  return reads_local;
}

Result<std::unique_ptr<Core>> Core::open(NodeOptions options, Transport& transport) {
  std::unique_ptr<Core> core(new Core(std::move(options), transport));
  NPX_RETURN_IF_ERROR(core->open_storage());
  return core;
}

void Core::start() {
  publish_members();
  search_pool_ = std::make_unique<SearchPool>(options_.search_threads);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "neuroplex-core");  // for top -H, perf and gdb
    run();
  });
}

void Core::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  search_pool_.reset();  // searches in flight finish; what they post back is ignored now
  save_vector_indexes();
  // The log thread may still complete writes; its callbacks only post (now ignored).
  if (log_) log_.reset();
}

void Core::post(std::function<void()> task) {
  bool was_empty;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    was_empty = inbox_.empty();
    inbox_.push_back(std::move(task));
  }
  // The core thread drains the whole inbox per wake-up: only the first task needs to wake it.
  if (was_empty) wake_.notify_one();
}

void Core::run() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_tick = Clock::now() + options_.tick;
  Clock::time_point next_expiry = next_tick;
  std::vector<std::function<void()>> tasks;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next_tick, [&] { return stopping_ || !inbox_.empty(); });
      if (stopping_) break;
      tasks.swap(inbox_);
    }
    for (std::function<void()>& task : tasks) task();
    tasks.clear();
    const Clock::time_point now = Clock::now();
    if (now >= next_tick) {
      if (now >= next_expiry) {
        expire_requests(now);
        next_expiry = now + std::chrono::seconds(1);
      }
      raft_->tick();
      next_tick += options_.tick;
      if (next_tick < now) next_tick = now + options_.tick;  // fell behind: skip, don't burst
    }
    turn();
  }
  watches_.close_all(unavailable("the node is shutting down"));
  metrics_.watch_subscribers.set(0);
}

// At a clean stop the vector indexes are saved beside the store, so the next start loads them
// as they are instead of catching up from an older snapshot's (or rebuilding). Best effort: a
// failure only costs that catch-up.
void Core::save_vector_indexes() {
  if (machine_ == nullptr || store_ == nullptr || state_path_.empty()) return;
  if (machine_->vectors().collections().empty()) return;
  Status status = store_->sync_wal();  // the files must not be ahead of the durable store
  if (status.is_ok()) status = machine_->save_vector_indexes(state_path_);
  if (!status.is_ok()) {
    std::fprintf(stderr, "neuroplexd: saving the vector indexes at stop failed: %s\n",
                 status.to_string().c_str());
  }
}

void Core::turn() {
  propose_expiry();
  propose_writes();
  request_reads();
  pump();
  serve_reads();
  // Watches come and go in this turn's closures and when a delivery finds the watcher gone.
  metrics_.watch_subscribers.set(static_cast<std::int64_t>(watches_.size()));
}

void Core::fatal(const std::string& why) {
  std::fprintf(stderr, "neuroplexd: node %llu stops: %s\n",
               static_cast<unsigned long long>(options_.id), why.c_str());
  std::fflush(stderr);
  // The disk state is crash-consistent; a restart recovers from it. Nothing may run on after a
  // failed write (fsyncgate), so no destructors, no further replies.
  std::_Exit(70);
}

// ---- Entry points: each queues its work for the core thread. ----

void Core::write(replication::WriteOp op, replication::RequestId id, WriteCallback done) {
  post([this, op = std::move(op), id, done = std::move(done)]() mutable {
    if (raft_->role() != raft::Role::kLeader) {
      WriteReply reply = not_leader_reply();
      reply.unproposed = std::make_shared<replication::WriteOp>(std::move(op));
      done(std::move(reply));
      return;
    }
    // propose_writes() empties the queue every turn: the first write of a turn reads the clock.
    const TimePoint since =
        queued_writes_.empty() ? std::chrono::steady_clock::now() : queued_writes_.back().since;
    queued_writes_.push_back(QueuedWrite{std::move(op), id, std::move(done), since});
  });
}

void Core::read(ReadRequest request, Consistency consistency, ReadCallback done) {
  post([this, request = std::move(request), consistency, done = std::move(done)]() mutable {
    if (consistency == Consistency::kLocal || machine_ == nullptr) {
      answer_read(request, consistency, done);
      return;
    }
    if (consistency == Consistency::kLease) lease_requested_ = true;
    queued_reads_.push_back(QueuedRead{std::move(request), std::move(done),
                                       std::chrono::steady_clock::now(), consistency});
  });
}

void Core::status(std::function<void(NodeStatus)> done) {
  post([this, done = std::move(done)] { done(make_status()); });
}

void Core::change_membership(raft::MembershipChange change, WriteCallback done) {
  post([this, change = std::move(change), done = std::move(done)] {
    Result<raft::Index> index = raft_->propose_membership(change);
    if (!index.is_ok()) {
      WriteReply reply = index.status().code() == ErrorCode::kNotLeader
                             ? not_leader_reply()
                             : WriteReply{.status = index.status()};
      done(std::move(reply));
      return;
    }
    waiters_[*index] = EntryWaiter{raft_->term(), {done}, std::chrono::steady_clock::now()};
  });
}

void Core::transfer_leader(raft::NodeId target, WriteCallback done) {
  post([this, target, done = std::move(done)] {
    Status status = raft_->transfer_leadership(target);
    if (status.code() == ErrorCode::kNotLeader) {
      done(not_leader_reply());
      return;
    }
    done(WriteReply{.status = std::move(status), .index = raft_->log().commit()});
  });
}

void Core::take_snapshot(WriteCallback done) {
  post([this, done = std::move(done)] {
    snapshot_waiters_.push_back(done);
    maybe_take_snapshot(/*forced=*/true);
  });
}

std::uint64_t Core::watch(WatchSpec spec, std::unique_ptr<WatchSink> sink) {
  static std::atomic<std::uint64_t> next_id{1};
  const std::uint64_t id = next_id.fetch_add(1);
  // std::function needs a copyable closure; the sink moves in through a shared holder.
  auto holder = std::make_shared<std::unique_ptr<WatchSink>>(std::move(sink));
  post([this, id, spec = std::move(spec), holder] {
    if (machine_ == nullptr) {
      (*holder)->close(unavailable("this node has no state yet (it is waiting to join)"));
      return;
    }
    watches_.add(id, spec, std::move(*holder), machine_->applied_index(), document_reader(),
                 key_lister());
  });
  return id;
}

void Core::unwatch(std::uint64_t watch_id) {
  post([this, watch_id] { watches_.remove(watch_id); });
}

void Core::deliver(std::vector<raft::Message> messages, std::function<void(bool)> done) {
  post([this, messages = std::move(messages), done = std::move(done)]() mutable {
    for (raft::Message& message : messages) raft_->step(std::move(message));
    done(true);
  });
}

void Core::deliver_snapshot(raft::Message message, std::string dir) {
  post([this, message = std::move(message), dir = std::move(dir)]() mutable {
    staged_[message.snapshot.index] = {message.snapshot, std::move(dir)};
    raft_->step(std::move(message));
  });
}

void Core::report_unreachable(raft::NodeId peer) {
  post([this, peer] { raft_->report_unreachable(peer); });
}

void Core::report_snapshot(raft::NodeId peer, bool success) {
  post([this, peer, success] { raft_->report_snapshot(peer, success); });
}

Status Core::accept_cluster(std::uint64_t cluster_id) {
  if (cluster_id == 0) return invalid_argument("cluster id 0 is not a cluster");
  std::uint64_t expected = 0;
  if (cluster_id_.compare_exchange_strong(expected, cluster_id)) {
    // First contact of a joining node: record it before anything of that cluster is stored.
    NPX_RETURN_IF_ERROR(write_identity(dir_, Identity{options_.id, cluster_id}));
    post([this] {
      Status status = open_state_machine();
      if (!status.is_ok()) fatal(status.to_string());
    });
    return Status::ok();
  }
  if (expected == cluster_id) return Status::ok();
  return invalid_argument("this node belongs to cluster " + std::to_string(expected) + ", not " +
                          std::to_string(cluster_id));
}

}  // namespace neuroplex::node
