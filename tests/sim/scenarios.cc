#include "tests/sim/scenarios.h"

#include "tests/sim/linearizability.h"
#include "tests/sim/scenario_run.h"

namespace neuroplex::sim {
namespace {

NetworkFaults calm_network() { return NetworkFaults{}; }

NetworkFaults lossy_network() {
  return NetworkFaults{.drop_probability = 0.05,
                       .duplicate_probability = 0.02,
                       .delay_min = 100,
                       .delay_max = 15 * kMillis};
}

Scenario base(std::string name, int nodes) {
  Scenario scenario;
  scenario.name = std::move(name) + "_n" + std::to_string(nodes);
  scenario.founders = nodes;
  scenario.max_nodes = nodes;
  scenario.faults = calm_network();
  return scenario;
}

std::vector<Scenario> make_scenarios() {
  std::vector<Scenario> all;
  for (int nodes : {1, 3, 5}) {
    const bool multi = nodes > 1;
    all.push_back(base("plain", nodes));

    if (multi) {
      Scenario lossy = base("lossy", nodes);
      lossy.faults = lossy_network();
      lossy.nemesis.loss_storms = true;
      all.push_back(lossy);

      Scenario partitions = base("partitions", nodes);
      partitions.nemesis.partitions = true;
      all.push_back(partitions);
    }

    Scenario crashes = base("crashes", nodes);
    crashes.nemesis.crashes = true;
    crashes.nemesis.slow_disks = true;
    crashes.nemesis.targeted_crashes = true;
    all.push_back(crashes);

    if (multi) {
      Scenario clogging = base("clogging", nodes);
      clogging.nemesis.clogging = true;
      all.push_back(clogging);
    }

    Scenario membership = base("membership", nodes);
    membership.max_nodes = 5;
    membership.nemesis.membership = true;
    membership.nemesis.crashes = nodes > 1;
    all.push_back(membership);

    if (multi) {
      Scenario transfers = base("transfers", nodes);
      transfers.nemesis.transfers = true;
      transfers.nemesis.interval_max = 250 * kMillis;
      all.push_back(transfers);
    }

    Scenario snapshots = base("snapshots", nodes);
    snapshots.snapshot_every = 30;
    snapshots.snapshot_retain = 5;
    snapshots.nemesis.partitions = multi;
    snapshots.nemesis.crashes = true;
    snapshots.clients.clients = 4;
    snapshots.clients.get_probability = 0.25;
    all.push_back(snapshots);

    Scenario everything = base("everything", nodes);
    everything.max_nodes = 5;
    everything.faults = lossy_network();
    everything.snapshot_every = 50;
    everything.snapshot_retain = 5;
    everything.nemesis = NemesisOptions{.partitions = true,
                                        .crashes = true,
                                        .clogging = true,
                                        .loss_storms = true,
                                        .slow_disks = true,
                                        .membership = true,
                                        .transfers = true,
                                        .targeted_crashes = true};
    everything.nemesis.interval_max = 250 * kMillis;
    all.push_back(everything);
  }

  Scenario storm = base("election_storm", 5);
  storm.name = "election_storm";
  storm.regression = Regression::kElectionStorm;
  storm.default_seeds = 10;
  all.push_back(storm);

  Scenario removed = base("leader_removed_in_transfer", 3);
  removed.name = "leader_removed_in_transfer";
  removed.regression = Regression::kLeaderRemovedInTransfer;
  all.push_back(removed);

  Scenario compaction = base("slow_follower_compaction", 3);
  compaction.name = "slow_follower_compaction";
  compaction.regression = Regression::kSlowFollowerCompaction;
  compaction.snapshot_every = 20;
  compaction.snapshot_retain = 5;
  compaction.clients.clients = 4;
  compaction.clients.get_probability = 0.1;
  all.push_back(compaction);

  Scenario slow_disk = base("slow_disk_follower", 3);
  slow_disk.name = "slow_disk_follower";
  slow_disk.regression = Regression::kSlowDiskFollower;
  slow_disk.default_seeds = 10;
  all.push_back(slow_disk);

  for (Scenario& scenario : all) {
    scenario.nemesis.base_faults = scenario.faults;
    scenario.nemesis.healed_faults = calm_network();
  }
  return all;
}

}  // namespace

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> all = make_scenarios();
  return all;
}

const Scenario* find_scenario(std::string_view name) {
  for (const Scenario& scenario : scenarios()) {
    if (scenario.name == name) return &scenario;
  }
  return nullptr;
}

ScenarioRun::ScenarioRun(const Scenario& scenario, std::uint64_t seed, bool print_trace)
    : scenario_(scenario), seed_(seed), random_(0) {
  ClusterOptions options{.seed = seed,
                         .max_nodes = scenario.max_nodes,
                         .founders = scenario.founders,
                         .faults = scenario.faults,
                         .snapshot_every = scenario.snapshot_every,
                         .snapshot_retain = scenario.snapshot_retain,
                         .print_trace = print_trace};
  cluster_ = std::make_unique<SimCluster>(options);
  clients_ = std::make_unique<SimClients>(*cluster_, scenario.clients);
  nemesis_ = std::make_unique<Nemesis>(*cluster_, scenario.nemesis);
  random_ = cluster_->fork_random();
}

std::string ScenarioRun::not_converged() const {
  const raft::NodeId leader = cluster_->leader();
  if (leader == raft::kNoNode) return "no leader";
  const raft::Raft& lead = cluster_->node(leader).raft();
  const raft::Index last = lead.log().last_index();
  if (lead.log().commit() != last) {
    return "leader " + std::to_string(leader) + " has committed " +
           std::to_string(lead.log().commit()) + " of " + std::to_string(last);
  }
  for (const raft::Member& member : lead.log().membership().members) {
    const SimNode& node = cluster_->node(member.id);
    const std::string who = "member " + std::to_string(member.id);
    if (!node.up()) return who + " is down";
    const raft::Raft& raft = node.raft();
    if (member.voter && (raft.term() != lead.term() || raft.leader() != leader)) {
      return who + " does not follow leader " + std::to_string(leader);
    }
    if (raft.log().commit() < last || node.kv().applied() < last) {
      return who + " has not applied up to " + std::to_string(last);
    }
  }
  return {};
}

bool ScenarioRun::wait_for_stable_leader(Time deadline) {
  return cluster_->run_until(deadline, 10 * kMillis, [&] {
    const raft::NodeId leader = cluster_->leader();
    if (leader == raft::kNoNode) return false;
    const raft::Raft& lead = cluster_->node(leader).raft();
    for (raft::NodeId voter : lead.log().membership().voters()) {
      const SimNode& node = cluster_->node(voter);
      if (!node.up() || node.raft().leader() != leader || node.raft().term() != lead.term()) {
        return false;
      }
    }
    return lead.log().commit() == lead.log().last_index();
  });
}

void ScenarioRun::chaos() {
  clients_->start();
  if (!cluster_->run_until(cluster_->now() + 200 * kMillis)) return;
  nemesis_->start(cluster_->now() + scenario_.chaos);
  cluster_->run_until(cluster_->now() + scenario_.chaos);
}

void ScenarioRun::liveness() {
  if (failed()) return;
  nemesis_->heal();
  const Time healed = cluster_->now();
  clients_->require_completion_after(healed);
  if (!cluster_->run_until(healed + kClientWindow)) return;
  clients_->stop_issuing();
  const bool live = cluster_->run_until(healed + kLivenessDeadline, 20 * kMillis, [&] {
    return clients_->idle() && not_converged().empty();
  });
  if (failed()) return;
  if (!live) {
    fail("liveness: " + std::to_string(kLivenessDeadline / kSeconds) +
         "s after the heal the cluster has not converged (" + not_converged() + ")" +
         (clients_->idle() ? "" : "; clients still busy"));
    return;
  }
  const std::string incomplete = clients_->incomplete_required_ops();
  if (!incomplete.empty())
    fail("liveness: ops issued after the heal did not complete:\n" + incomplete);
}

RunResult ScenarioRun::finish() {
  if (!failed()) cluster_->sweep();
  if (!failed() && not_converged().empty()) {
    const SimNode& lead = cluster_->node(cluster_->leader());
    for (const raft::Member& member : lead.raft().log().membership().members) {
      if (cluster_->node(member.id).kv().state_hash() != lead.kv().state_hash()) {
        fail("member " + std::to_string(member.id) + " ended with another KV state than leader " +
             std::to_string(lead.id()));
      }
    }
  }
  if (!failed()) {
    const CheckResult check = check_linearizable(clients_->history());
    if (check.verdict != Verdict::kLinearizable) {
      fail(std::string("linearizability: ") + verdict_name(check.verdict) + " on key " + check.key +
           "\n" + check.explanation);
    }
  }
  RunResult result;
  result.ok = !failed();
  result.trace_hash = cluster_->trace_hash();
  result.events = cluster_->events().events_run();
  result.messages = cluster_->messages_delivered();
  result.ops_completed = clients_->stats().completed;
  result.ops_unknown = clients_->stats().unknown;
  result.lease_reads = clients_->stats().lease_reads;
  result.elections = cluster_->safety().elections_won();
  result.snapshots_streamed = cluster_->snapshots_streamed();
  result.simulated = cluster_->now();
  if (!result.ok) {
    result.failure = "scenario " + scenario_.name + ", seed " + std::to_string(seed_) + ": " +
                     cluster_->failure() + "\ncluster:\n" + cluster_->describe() + "nemesis:\n" +
                     nemesis_->log();
  }
  return result;
}

RunResult run_scenario(const Scenario& scenario, std::uint64_t seed, bool print_trace) {
  ScenarioRun run(scenario, seed, print_trace);
  switch (scenario.regression) {
    case Regression::kNone:
      run.chaos();
      run.liveness();
      break;
    case Regression::kElectionStorm:
      run_election_storm(run);
      break;
    case Regression::kLeaderRemovedInTransfer:
      run_leader_removed_in_transfer(run);
      break;
    case Regression::kSlowFollowerCompaction:
      run_slow_follower_compaction(run);
      break;
    case Regression::kSlowDiskFollower:
      run_slow_disk_follower(run);
      break;
  }
  return run.finish();
}

}  // namespace neuroplex::sim
