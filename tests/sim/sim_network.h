// The simulated network: decides, for each message sent, whether and when it arrives.
//
// Faults: a per-message drop probability, a delay drawn from a range (so messages reorder), a
// duplicate probability, blocked directed links (a symmetric partition blocks both directions,
// an asymmetric one only some), and clogging (FoundationDB's term: every message to or from a
// clogged node is held until the clog ends, then released with fresh jitter). Whether the
// destination is up is the cluster's business at delivery time: messages to a crashed node are
// dropped there.
//
// Deterministic (one SimRandom stream, ordered containers). Single-threaded.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "raft/types.h"
#include "tests/sim/sim_runtime.h"

namespace neuroplex::sim {

struct NetworkFaults {
  double drop_probability = 0;
  double duplicate_probability = 0;
  Time delay_min = 100;   // microseconds
  Time delay_max = 1000;  // microseconds; >= delay_min

  friend bool operator==(const NetworkFaults&, const NetworkFaults&) = default;
};

class SimNetwork {
 public:
  SimNetwork(SimRandom random, NetworkFaults faults);

  [[nodiscard]] const NetworkFaults& faults() const { return faults_; }
  void set_faults(NetworkFaults faults) { faults_ = faults; }

  // Partitions. Links are directed: block(a, b) stops a -> b only.
  void block(raft::NodeId from, raft::NodeId to) { blocked_.emplace(from, to); }
  void unblock(raft::NodeId from, raft::NodeId to) { blocked_.erase({from, to}); }
  // Blocks every link between different groups, both ways (nodes in no group are untouched).
  void partition(const std::vector<std::vector<raft::NodeId>>& groups);
  // Blocks every link to and from `node`, among `all`.
  void isolate(raft::NodeId node, const std::vector<raft::NodeId>& all);
  void heal_partitions() { blocked_.clear(); }
  [[nodiscard]] bool link_up(raft::NodeId from, raft::NodeId to) const {
    return !blocked_.contains({from, to});
  }
  [[nodiscard]] const std::set<std::pair<raft::NodeId, raft::NodeId>>& blocked() const {
    return blocked_;
  }

  // Holds every message to or from `node` sent before `until` until then.
  void clog(raft::NodeId node, Time until);
  void unclog_all() { clogged_until_.clear(); }
  [[nodiscard]] bool clogged(raft::NodeId node, Time now) const;

  // Everything back to `faults` with no partition and no clog.
  void heal(NetworkFaults faults);

  // The arrival times of one message sent at `now` (empty: it is lost; two: duplicated).
  [[nodiscard]] std::vector<Time> route(raft::NodeId from, raft::NodeId to, Time now);

 private:
  Time one_delay(raft::NodeId from, raft::NodeId to, Time now);

  SimRandom random_;
  NetworkFaults faults_;
  std::set<std::pair<raft::NodeId, raft::NodeId>> blocked_;
  std::map<raft::NodeId, Time> clogged_until_;
};

}  // namespace neuroplex::sim
