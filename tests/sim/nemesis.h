// The nemesis: injects faults into a simulated cluster during a scenario's chaos phase, then
// heals everything for the liveness phase.
//
// Faults (each enabled per scenario): partitions (a node isolated, a random split, or some
// directed links blocked), crashes with restarts (losing unsynced writes, or keeping a random
// prefix of them), clogging, loss storms, slow disks, membership changes (add a learner, promote
// it, remove a member; proposed on the leader, retried on UNAVAILABLE / NOT_LEADER) and
// leadership transfers. Every action is chosen with the nemesis' own random stream.
//
// Single-threaded; acts through the cluster's events. Must outlive the cluster's run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "raft/types.h"
#include "tests/sim/sim_cluster.h"

namespace neuroplex::sim {

struct NemesisOptions {
  bool partitions = false;
  bool crashes = false;
  bool clogging = false;
  bool loss_storms = false;
  bool slow_disks = false;
  bool membership = false;
  bool transfers = false;
  // With crashes: sometimes crash a node right after it granted a vote or acknowledged an append
  // (its disk write still queued), and restart it soon: the promises must have waited for disk.
  bool targeted_crashes = false;
  Time interval_min = 100 * kMillis;  // between two actions
  Time interval_max = 400 * kMillis;
  double keep_unsynced_probability = 0.5;  // a crash keeps a random prefix of unsynced writes
  NetworkFaults base_faults;               // the network during chaos, outside storms
  NetworkFaults healed_faults;             // the network after heal()
  Time disk_latency_min = 100;             // normal disks, and after heal()
  Time disk_latency_max = 1000;
};

class Nemesis {
 public:
  Nemesis(SimCluster& cluster, NemesisOptions options);

  // Random actions from now until `until`.
  void start(Time until);
  // Stops acting and undoes every fault: network and disks back to normal, crashed nodes
  // restarted (except `keep_down`).
  void heal(const std::vector<raft::NodeId>& keep_down = {});

  // Proposes `change` on whoever leads, retrying every 20 ms for up to `attempts` tries.
  void change_membership(raft::MembershipChange change, int attempts);
  // The change the nemesis would try next (kNoNode in .node: none possible).
  [[nodiscard]] raft::MembershipChange random_change();

  // What the nemesis did, one line per action (for failure reports).
  [[nodiscard]] const std::string& log() const { return log_; }
  [[nodiscard]] std::uint64_t actions() const { return actions_; }

 private:
  void act();
  void partition();
  void crash();
  // Crashes `victim` now unless that would take down a majority of the slots; restarts it after
  // a random downtime in [min, max].
  void crash_node(raft::NodeId victim, Time downtime_min, Time downtime_max);
  void after_delivery(raft::NodeId to, raft::MessageType type);
  void clog();
  void storm();
  void slow_disk();
  void transfer();
  void note(const std::string& line);

  SimCluster& cluster_;
  NemesisOptions options_;
  SimRandom random_;
  Time until_ = 0;
  bool healed_ = false;
  std::uint64_t partition_epoch_ = 0;
  std::uint64_t storm_epoch_ = 0;
  std::uint64_t actions_ = 0;
  std::string log_;
};

}  // namespace neuroplex::sim
