// One run of a scenario (internal to scenarios.cc and regressions.cc): the cluster, its clients
// and its nemesis, and the phases every scenario shares.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/sim/nemesis.h"
#include "tests/sim/scenarios.h"
#include "tests/sim/sim_clients.h"
#include "tests/sim/sim_cluster.h"

namespace neuroplex::sim {

inline constexpr Time kLivenessDeadline = 10 * kSeconds;  // after the heal
inline constexpr Time kClientWindow = 1500 * kMillis;     // clients keep issuing after the heal

class ScenarioRun {
 public:
  ScenarioRun(const Scenario& scenario, std::uint64_t seed, bool print_trace);

  [[nodiscard]] SimCluster& cluster() { return *cluster_; }
  [[nodiscard]] SimClients& clients() { return *clients_; }
  [[nodiscard]] Nemesis& nemesis() { return *nemesis_; }
  [[nodiscard]] SimRandom& random() { return random_; }
  [[nodiscard]] bool failed() const { return cluster_->failed(); }
  void fail(std::string why) { cluster_->fail(std::move(why)); }

  // Runs until a leader that every up voter of its membership follows exists (or `deadline`).
  bool wait_for_stable_leader(Time deadline);
  // Empty when converged; otherwise what is still missing.
  [[nodiscard]] std::string not_converged() const;
  // The chaos scenario: warm-up, nemesis for scenario.chaos.
  void chaos();
  // Heal, let clients run kClientWindow more, then require convergence by kLivenessDeadline.
  void liveness();
  // Final checks (sweep, same KV state on every member, linearizability) and the result.
  [[nodiscard]] RunResult finish();

 private:
  const Scenario& scenario_;
  std::uint64_t seed_;
  std::unique_ptr<SimCluster> cluster_;
  std::unique_ptr<SimClients> clients_;
  std::unique_ptr<Nemesis> nemesis_;
  SimRandom random_;
};

// The named regressions (regressions.cc). Each runs its script and the liveness phase.
void run_election_storm(ScenarioRun& run);
void run_leader_removed_in_transfer(ScenarioRun& run);
void run_slow_follower_compaction(ScenarioRun& run);
void run_slow_disk_follower(ScenarioRun& run);

}  // namespace neuroplex::sim
