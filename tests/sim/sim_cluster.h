// A whole Raft cluster in one thread on a simulated clock: the event queue, the network, the
// nodes (ids 1..max_nodes; founders bootstrap the cluster, the others wait to be added), the
// snapshot streams between them, the safety checker, and the trace hash.
//
// Every event (a tick, a delivery, a disk completion, a snapshot chunk, a client or nemesis
// action) runs alone; after each one the safety checker runs. Given the same options (seed
// included) and the same calls, a run is identical: same events, same trace hash.
//
// Ticks: every node ticks every tick_period with a per-node phase offset. Snapshots: a kSnapshot
// message makes the sender's current snapshot data travel as chunks, each one a network delivery
// subject to the faults; once all arrived the receiver stages the data and its core gets the
// message, and the sender hears report_snapshot(to, true) when the acknowledgement comes back,
// or report_snapshot(to, false) after snapshot_timeout.
//
// Owns everything it builds; single-threaded.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "raft/raft.h"
#include "tests/sim/safety_checker.h"
#include "tests/sim/sim_network.h"
#include "tests/sim/sim_node.h"
#include "tests/sim/sim_runtime.h"

namespace neuroplex::sim {

struct ClusterOptions {
  std::uint64_t seed = 1;
  int max_nodes = 3;  // node ids 1..max_nodes
  int founders = 3;   // ids 1..founders start as the founding voters (<= max_nodes)
  NetworkFaults faults;
  Time disk_latency_min = 100;
  Time disk_latency_max = 1000;
  raft::Index snapshot_every = 0;  // 0: nodes never snapshot
  raft::Index snapshot_retain = 10;
  std::size_t snapshot_chunk_bytes = 64;
  Time snapshot_timeout = 500 * kMillis;
  Time tick_period = 10 * kMillis;
  std::uint64_t sweep_every_events = 4000;  // full log / disk sweep of the safety checker
  bool print_trace = false;                 // every delivery and Ready to stderr
};

// Who else wants to hear about node activity (the clients).
class ClusterObserver {
 public:
  virtual ~ClusterObserver() = default;
  virtual void on_progress(const SimNode& node) = 0;  // the node applied entries / a snapshot
  virtual void on_read(const SimNode& node, std::uint64_t request_id) = 0;
  virtual void on_read_failed(const SimNode& node, std::uint64_t request_id) = 0;
  virtual void on_crash(raft::NodeId node) = 0;
};

class SimCluster final : public NodeEnv {
 public:
  explicit SimCluster(ClusterOptions options);
  ~SimCluster() override;
  SimCluster(const SimCluster&) = delete;
  SimCluster& operator=(const SimCluster&) = delete;

  [[nodiscard]] const ClusterOptions& options() const { return options_; }
  [[nodiscard]] EventQueue& events() { return events_; }
  [[nodiscard]] Time now() const override { return events_.now(); }
  [[nodiscard]] SimNetwork& network() { return network_; }
  // A new independent random stream (for clients, nemesis, scenarios); deterministic in the
  // order of calls.
  [[nodiscard]] SimRandom fork_random() { return random_.fork(); }
  void set_observer(ClusterObserver* observer) { observer_ = observer; }

  [[nodiscard]] std::vector<raft::NodeId> ids() const;
  [[nodiscard]] SimNode& node(raft::NodeId id);
  [[nodiscard]] const SimNode& node(raft::NodeId id) const;
  [[nodiscard]] std::vector<const SimNode*> nodes() const;
  // The up node that is leader with the highest term, or kNoNode.
  [[nodiscard]] raft::NodeId leader() const;

  void crash(raft::NodeId id, bool keep_random_prefix);
  void restart(raft::NodeId id);

  // Runs events until simulated time `until` (then the clock reads `until`), or until the run
  // failed. Returns !failed().
  bool run_until(Time until);
  // A scenario-specific property, checked after every event: a non-empty answer fails the run.
  void add_check(std::function<std::string()> check) { checks_.push_back(std::move(check)); }
  // Called after each message is delivered to (and handled by) node `to`: the nemesis uses it to
  // crash a node right after it promised something.
  void set_delivery_hook(std::function<void(raft::NodeId to, raft::MessageType type)> hook) {
    delivery_hook_ = std::move(hook);
  }
  // Re-checks every log and disk entry (also done every sweep_every_events events).
  void sweep();
  // Runs until `done()` (polled every `poll`) or `deadline`. Returns whether done() held.
  bool run_until(Time deadline, Time poll, const std::function<bool()>& done);

  [[nodiscard]] bool failed() const { return !failure_.empty(); }
  [[nodiscard]] const std::string& failure() const { return failure_; }
  void fail(std::string why) override;

  [[nodiscard]] std::uint64_t trace_hash() const { return trace_.value(); }
  [[nodiscard]] const SafetyChecker& safety() const { return safety_; }
  [[nodiscard]] std::uint64_t messages_delivered() const { return delivered_; }
  [[nodiscard]] std::uint64_t snapshots_streamed() const { return streams_done_; }
  // One line per node: up/down, role, term, leader, commit, applied, last index, snapshot,
  // membership and queued disk writes.
  [[nodiscard]] std::string describe() const;

  // NodeEnv
  void send(raft::NodeId from, raft::Message message) override;
  void disk_write_queued(const SimNode& node, Time when) override;
  void observe_started(const SimNode& node) override;
  void observe_ready(const SimNode& node, const raft::Ready& ready) override;
  void observe_applied(const SimNode& node, const raft::Entry& entry) override;
  void observe_restored(const SimNode& node) override;
  void observe_progress(const SimNode& node) override;
  void observe_read(const SimNode& node, std::uint64_t request_id) override;
  void observe_read_failed(const SimNode& node, std::uint64_t request_id) override;

 private:
  struct SnapshotStream {
    raft::NodeId from = raft::kNoNode;
    raft::NodeId to = raft::kNoNode;
    std::uint64_t from_life = 0;
    std::uint64_t to_life = 0;
    raft::Message message;
    std::string data;
    std::vector<bool> arrived;
    std::size_t missing = 0;
    bool delivered = false;
  };

  void schedule_tick(raft::NodeId id, Time when);
  void deliver(raft::Message message);
  void start_stream(raft::NodeId from, raft::Message message);
  void chunk_arrived(std::uint64_t stream_id, std::size_t chunk);
  void finish_stream(std::uint64_t stream_id, bool success);
  void after_event();
  void trace_message(const raft::Message& message);
  // Calls `action` on node `id` at `when` if it is still in the same life then.
  void at_node(Time when, raft::NodeId id, std::function<void(SimNode&)> action);

  ClusterOptions options_;
  EventQueue events_;
  SimRandom random_;
  SimNetwork network_;
  std::map<raft::NodeId, std::unique_ptr<SimNode>> nodes_;
  std::map<raft::NodeId, Time> tick_phase_;
  SafetyChecker safety_;
  ClusterObserver* observer_ = nullptr;  // not owned
  std::vector<std::function<std::string()>> checks_;
  std::function<void(raft::NodeId, raft::MessageType)> delivery_hook_;

  std::map<std::uint64_t, SnapshotStream> streams_;
  std::uint64_t next_stream_id_ = 1;
  std::uint64_t streams_done_ = 0;

  Hasher trace_;
  std::uint64_t delivered_ = 0;
  std::string failure_;
};

// ---- For benchmarks ----------------------------------------------------------------------------

struct ThroughputReport {
  std::uint64_t entries = 0;
  double wall_seconds = 0;
  double entries_per_second = 0;  // committed entries per second of wall time
  Time simulated = 0;             // simulated time the run took
};
// A fault-free 3-node cluster with no disk latency: proposes `entries` entries of `entry_bytes`
// (KV puts) on the leader as fast as flow control allows and reports how fast they committed
// (applied on every node) in wall time.
[[nodiscard]] ThroughputReport measure_propose_throughput(std::uint64_t entries,
                                                          std::size_t entry_bytes = 64,
                                                          std::uint64_t seed = 1);

struct FailoverReport {
  bool ok = false;
  Time crashed_at = 0;
  Time new_leader_at = 0;
  Time failover = 0;  // simulated time from the leader's crash to a new leader
};
// A fault-free cluster of `nodes` elects a leader, the leader crashes, and another is elected.
[[nodiscard]] FailoverReport measure_failover(std::uint64_t seed, int nodes = 3);

}  // namespace neuroplex::sim
