// One simulated server: the host loop around a raft::Raft (the same loop neuroplexd runs), with a
// simulated disk and the KV state machine.
//
// After every input (tick, message, disk completion, client request) the node drains the core:
// sends r.messages into the network, queues the write of r.hard_state / r.snapshot / r.entries
// on its disk (acknowledged with on_persisted when the write completes), applies r.committed to
// its KV machine, holds r.read_states until applied >= their index, takes a snapshot every
// `snapshot_every` applied entries, and runs raft.check_invariants().
//
// A crash discards the core, the KV state, the staged snapshots, the waiting reads and the
// writes that had not reached the disk; start() rebuilds the node from its durable image.
//
// Lifecycle and threads: owned by SimCluster; single-threaded. The node never calls another node:
// everything that crosses nodes goes through NodeEnv, which queues it as an event.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "raft/raft.h"
#include "tests/sim/kv_machine.h"
#include "tests/sim/sim_disk.h"
#include "tests/sim/sim_runtime.h"

namespace neuroplex::sim {

class SimNode;

// What a node needs from the world around it (the cluster implements it).
class NodeEnv {
 public:
  virtual ~NodeEnv() = default;
  [[nodiscard]] virtual Time now() const = 0;
  // A message the core of `from` sent. Never delivered before this call returns.
  virtual void send(raft::NodeId from, raft::Message message) = 0;
  // The node queued a disk write that completes at `when`: call disk_completed() then.
  virtual void disk_write_queued(const SimNode& node, Time when) = 0;
  // Observation hooks (trace, safety checker, clients). They must not call into any node.
  virtual void observe_started(const SimNode& node) = 0;  // before the first Ready of a life
  virtual void observe_ready(const SimNode& node, const raft::Ready& ready) = 0;
  virtual void observe_applied(const SimNode& node, const raft::Entry& entry) = 0;
  virtual void observe_restored(const SimNode& node) = 0;  // KV replaced by a snapshot
  virtual void observe_progress(const SimNode& node) = 0;  // after a Ready's applies
  virtual void observe_read(const SimNode& node, std::uint64_t request_id) = 0;
  virtual void observe_read_failed(const SimNode& node, std::uint64_t request_id) = 0;
  // A broken contract the node detected (the run fails with this text).
  virtual void fail(std::string why) = 0;
};

struct NodeOptions {
  raft::NodeId id = raft::kNoNode;
  std::uint64_t raft_seed = 1;
  Time disk_latency_min = 100;
  Time disk_latency_max = 1000;
  raft::Index snapshot_every = 0;  // 0: never take a snapshot
  raft::Index snapshot_retain = 10;
};

class SimNode {
 public:
  SimNode(NodeOptions options, DurableImage initial, NodeEnv& env, SimRandom random);

  [[nodiscard]] raft::NodeId id() const { return options_.id; }
  [[nodiscard]] bool up() const { return raft_ != nullptr; }
  // Bumped by every crash: events scheduled for an earlier life are ignored.
  [[nodiscard]] std::uint64_t incarnation() const { return incarnation_; }

  // Builds the core from the durable image. Precondition: !up().
  void start();
  // Power loss. Precondition: up().
  void crash(bool keep_random_prefix);

  // Inputs; each drains the core afterwards. Precondition: up().
  void tick();
  void deliver(raft::Message message);
  void disk_completed();
  [[nodiscard]] Result<raft::Index> propose(std::string data);
  [[nodiscard]] Result<raft::Index> propose_membership(const raft::MembershipChange& change);
  [[nodiscard]] Status read_index(std::uint64_t request_id);
  [[nodiscard]] Status read_lease(std::uint64_t request_id);
  [[nodiscard]] Status transfer_leadership(raft::NodeId target);
  void report_snapshot(raft::NodeId to, bool success);
  void report_unreachable(raft::NodeId to);
  // The data of a snapshot whose chunks all arrived, for the core's next install of `meta`.
  void stage_snapshot(const raft::SnapshotMeta& meta, std::string data);

  void set_disk_latency(Time min, Time max) { disk_.set_latency(min, max); }
  void set_snapshot_every(raft::Index every) { options_.snapshot_every = every; }

  // State. raft() and kv() require up().
  [[nodiscard]] const raft::Raft& raft() const { return *raft_; }
  [[nodiscard]] const KvMachine& kv() const { return kv_; }
  [[nodiscard]] const SimDisk& disk() const { return disk_; }
  // The newest snapshot this node has (taken, installed or reloaded): what it streams to others.
  [[nodiscard]] const raft::SnapshotMeta& snapshot_meta() const { return snapshot_meta_; }
  [[nodiscard]] const std::string& snapshot_data() const { return snapshot_data_; }
  [[nodiscard]] std::uint64_t snapshots_taken() const { return snapshots_taken_; }
  [[nodiscard]] std::uint64_t snapshots_installed() const { return snapshots_installed_; }
  [[nodiscard]] std::size_t reads_waiting() const { return reads_.size(); }

 private:
  void pump();
  void handle(raft::Ready ready);
  bool install(const raft::SnapshotMeta& meta, DiskWrite& write);
  void serve_reads();
  void maybe_take_snapshot();

  NodeOptions options_;
  NodeEnv& env_;
  SimRandom random_;  // disk latencies and crash prefixes
  SimDisk disk_;
  std::uint64_t incarnation_ = 0;

  // Volatile: gone after a crash.
  std::unique_ptr<raft::Raft> raft_;
  KvMachine kv_;
  raft::SnapshotMeta snapshot_meta_;
  std::string snapshot_data_;
  std::map<raft::Index, std::pair<raft::Term, std::string>> staged_;  // by snapshot index
  std::vector<raft::ReadState> reads_;  // waiting for applied >= index

  std::uint64_t snapshots_taken_ = 0;
  std::uint64_t snapshots_installed_ = 0;
};

}  // namespace neuroplex::sim
