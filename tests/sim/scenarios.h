// The simulation scenarios: a cluster size, the faults the nemesis may inject, a client workload,
// and for the named regressions a scripted sequence with its own checks.
//
// A generic run: clients start; after a short warm-up the nemesis acts for `chaos`; then it heals
// everything (network, disks, crashed nodes) and the liveness phase requires, within 10 s of
// simulated time, one leader that every live voter follows, every member's commit at the
// leader's last index, and every client op issued after the heal completed. Safety is checked
// after every event; at the end the client history must be linearizable.
//
// run_scenario() is a pure function of (scenario, seed): the same seed replays exactly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/sim/nemesis.h"
#include "tests/sim/sim_clients.h"
#include "tests/sim/sim_runtime.h"

namespace neuroplex::sim {

enum class Regression : std::uint8_t {
  kNone,
  kElectionStorm,            // etcd #9241: a long-isolated node rejoins; pre-vote keeps the leader
  kLeaderRemovedInTransfer,  // the leader is removed while it transfers leadership
  kSlowFollowerCompaction,   // a partitioned follower catches up through a snapshot
  kSlowDiskFollower,         // a follower with 200 ms writes causes no election
};

struct Scenario {
  std::string name;
  int founders = 3;
  int max_nodes = 3;
  NemesisOptions nemesis;
  NetworkFaults faults;            // the network during chaos
  raft::Index snapshot_every = 0;  // 0: no snapshots
  raft::Index snapshot_retain = 10;
  ClientOptions clients;
  Time chaos = 4 * kSeconds;
  Regression regression = Regression::kNone;
  int default_seeds = 20;  // seeds per ctest run (NEUROPLEX_SIM_SEEDS overrides)
};

struct RunResult {
  bool ok = true;
  std::string failure;  // what failed, the cluster's state and the nemesis' actions
  std::uint64_t trace_hash = 0;
  std::uint64_t events = 0;
  std::uint64_t messages = 0;
  std::uint64_t ops_completed = 0;
  std::uint64_t ops_unknown = 0;
  std::uint64_t lease_reads = 0;
  std::uint64_t elections = 0;
  std::uint64_t snapshots_streamed = 0;
  Time simulated = 0;
};

[[nodiscard]] const std::vector<Scenario>& scenarios();
[[nodiscard]] const Scenario* find_scenario(std::string_view name);
[[nodiscard]] RunResult run_scenario(const Scenario& scenario, std::uint64_t seed,
                                     bool print_trace = false);

}  // namespace neuroplex::sim
