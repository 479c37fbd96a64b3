// Simulated clients: each runs one operation at a time (put, cas or get on a few keys) against
// the cluster and records it in a history for the linearizability checker.
//
// Writes are proposed on the node the client believes leads (NOT_LEADER: follow the node's leader
// hint or try another node; any synchronous error means no effect, so the client retries). A
// proposed write completes when that node's KV session table shows the client's op (applied, with
// its cas result); if the node applied past the proposal's index and the table shows another op,
// the proposal lost its slot and is retried. When that node stays silent for a while (it lost
// leadership, was removed, or crashed), the client asks the other nodes the same question: any
// node that applied the index knows the answer. Still no answer at the op timeout: the outcome is
// unknown (return_time = kNeverReturned) and the client moves on.
//
// Gets use ReadIndex on the believed leader or on any node (followers ask their leader), and
// sometimes a lease read on the believed leader; the value is read from that node's KV once it
// applied the read's index. A get that hears nothing for a while asks again (gets have no effect).
//
// Single-threaded; driven by the cluster's events. Must outlive nothing: the cluster holds a
// raw pointer to it as its observer while a run lasts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/sim/kv_machine.h"
#include "tests/sim/linearizability.h"
#include "tests/sim/sim_cluster.h"

namespace neuroplex::sim {

struct ClientOptions {
  int clients = 3;
  int keys = 2;
  Time op_timeout = 2 * kSeconds;
  Time read_retry = 300 * kMillis;        // a get with no answer after this asks again
  Time ask_around_after = 300 * kMillis;  // a write with no answer: ask every node its fate
  Time think_min = 0;
  Time think_max = 20 * kMillis;
  Time backoff_min = 5 * kMillis;
  Time backoff_max = 30 * kMillis;
  double get_probability = 0.4;
  double cas_probability = 0.3;            // the rest are puts
  double lease_probability = 0.15;         // of gets: read_lease on the believed leader
  double follower_read_probability = 0.3;  // of gets: ReadIndex through a random node
};

struct ClientStats {
  std::uint64_t invoked = 0;
  std::uint64_t completed = 0;
  std::uint64_t unknown = 0;  // timed out or lost with their node
  std::uint64_t retries = 0;
  std::uint64_t lease_reads = 0;  // gets answered through read_lease
};

class SimClients final : public ClusterObserver {
 public:
  SimClients(SimCluster& cluster, ClientOptions options);
  ~SimClients() override;
  SimClients(const SimClients&) = delete;
  SimClients& operator=(const SimClients&) = delete;

  void start();
  void stop_issuing() { stopped_ = true; }
  // Operations invoked at or after `when` must complete (the liveness phase).
  void require_completion_after(Time when) { must_complete_after_ = when; }
  [[nodiscard]] bool idle() const;
  // Describes the operations invoked after require_completion_after() that did not complete
  // (empty when there are none).
  [[nodiscard]] std::string incomplete_required_ops() const;

  [[nodiscard]] const std::vector<HistoryOp>& history() const { return history_; }
  [[nodiscard]] const ClientStats& stats() const { return stats_; }

  // ClusterObserver
  void on_progress(const SimNode& node) override;
  void on_read(const SimNode& node, std::uint64_t request_id) override;
  void on_read_failed(const SimNode& node, std::uint64_t request_id) override;
  void on_crash(raft::NodeId node) override;

 private:
  enum class Phase : std::uint8_t { kIdle, kRetrying, kWaitApply, kWaitRead };

  struct Client {
    std::uint64_t id = 0;
    raft::NodeId guess = raft::kNoNode;  // the node believed to lead
    std::uint64_t next_op = 1;
    Phase phase = Phase::kIdle;
    std::uint64_t token = 0;  // bumped on every phase change; stale events check it
    std::size_t op = 0;       // index of the current op in history_
    std::uint64_t op_id = 0;
    KvCommand command;    // the current write
    std::size_t key = 0;  // the current op's key (index into seen)
    raft::NodeId node = raft::kNoNode;
    raft::Index index = 0;            // where the write was proposed
    std::uint64_t request_id = 0;     // the current read
    int read_attempts = 0;            // of the current get
    bool ask_around = false;          // the current write's fate may come from any node
    std::vector<raft::NodeId> avoid;  // nodes that failed the current op: try others first
    std::vector<std::string> seen;    // values this client saw per key (cas guesses)
  };

  void schedule(Client& client, Time delay, void (SimClients::*step)(Client&));
  void issue(Client& client);
  void attempt(Client& client);
  void attempt_write(Client& client);
  void attempt_read(Client& client);
  void retry(Client& client);
  void read_timed_out(Client& client);
  void ask_around(Client& client);
  void resolve_write(Client& client, const SimNode& node);
  void complete(Client& client);
  void give_up(Client& client);
  raft::NodeId pick_node(Client& client, bool prefer_leader);
  void learn_leader(Client& client, raft::NodeId asked, bool silent);

  SimCluster& cluster_;
  ClientOptions options_;
  SimRandom random_;
  std::vector<Client> clients_;
  std::vector<HistoryOp> history_;
  std::uint64_t next_request_id_ = 1;
  bool stopped_ = false;
  Time must_complete_after_ = ~Time{0};
  ClientStats stats_;
};

}  // namespace neuroplex::sim
