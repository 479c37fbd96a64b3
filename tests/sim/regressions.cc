// The named regression scenarios: scripted fault sequences for bugs other Raft implementations
// shipped, each with the property that catches it.
#include <algorithm>
#include <memory>

#include "tests/sim/scenario_run.h"

namespace neuroplex::sim {
namespace {

// Waits for a stable leader and returns it (kNoNode after failing the run).
raft::NodeId settle(ScenarioRun& run) {
  SimCluster& cluster = run.cluster();
  if (!run.wait_for_stable_leader(cluster.now() + 5 * kSeconds)) {
    if (!run.failed()) run.fail("no stable leader within 5s:\n" + cluster.describe());
    return raft::kNoNode;
  }
  if (!cluster.run_until(cluster.now() + 300 * kMillis)) return raft::kNoNode;
  const raft::NodeId leader = cluster.leader();
  if (leader == raft::kNoNode) run.fail("the leader vanished in a healthy cluster");
  return leader;
}

raft::NodeId random_follower(ScenarioRun& run, raft::NodeId leader) {
  std::vector<raft::NodeId> voters = run.cluster().node(leader).raft().log().membership().voters();
  std::erase(voters, leader);
  return voters.empty() ? raft::kNoNode : run.random().pick(voters);
}

// A check that no up node's term moves away from `term` and `leader` keeps leading it.
void require_stable_term(ScenarioRun& run, raft::NodeId leader, raft::Term term,
                         const std::string& why) {
  SimCluster* cluster = &run.cluster();
  cluster->add_check([cluster, leader, term, why]() -> std::string {
    for (const SimNode* node : cluster->nodes()) {
      if (node->up() && node->raft().term() != term) {
        return why + ": node " + std::to_string(node->id()) + " moved to term " +
               std::to_string(node->raft().term()) + " (was " + std::to_string(term) + ")";
      }
    }
    const SimNode& lead = cluster->node(leader);
    if (lead.up() && lead.raft().role() != raft::Role::kLeader) {
      return why + ": leader " + std::to_string(leader) + " lost leadership";
    }
    return {};
  });
}

}  // namespace

// etcd #9241: a node partitioned alone for a long time kept campaigning, and on rejoining its
// inflated term deposed a healthy leader. With pre-vote its term never moves, so on rejoining it
// follows: the leader and the term stay the same through the whole run.
void run_election_storm(ScenarioRun& run) {
  SimCluster& cluster = run.cluster();
  run.clients().start();
  const raft::NodeId leader = settle(run);
  if (leader == raft::kNoNode) return;
  const raft::Term term = cluster.node(leader).raft().term();
  require_stable_term(run, leader, term, "election storm");
  const raft::NodeId loner = random_follower(run, leader);
  cluster.network().isolate(loner, cluster.ids());  // 20-40 election timeouts alone
  if (!cluster.run_until(cluster.now() + 4 * kSeconds)) return;
  cluster.network().heal_partitions();
  if (!cluster.run_until(cluster.now() + 1 * kSeconds)) return;
  run.liveness();
}

// The leader starts a transfer and its own removal is proposed (in either order, a few
// milliseconds apart). The cluster must elect a leader among the others and stay live, and once
// the removal committed the removed node must never lead again.
void run_leader_removed_in_transfer(ScenarioRun& run) {
  SimCluster& cluster = run.cluster();
  run.clients().start();
  const raft::NodeId leader = settle(run);
  if (leader == raft::kNoNode) return;
  const raft::NodeId target = random_follower(run, leader);
  SimCluster* world = &cluster;
  auto removal_committed = std::make_shared<bool>(false);
  cluster.add_check([world, leader, removal_committed]() -> std::string {
    for (const SimNode* node : world->nodes()) {
      if (!node->up()) continue;
      const raft::RaftLog& log = node->raft().log();
      if (!log.membership_at(log.commit()).contains(leader)) *removal_committed = true;
    }
    const SimNode& removed = world->node(leader);
    if (*removal_committed && removed.up() && removed.raft().role() == raft::Role::kLeader) {
      return "node " + std::to_string(leader) + " leads term " +
             std::to_string(removed.raft().term()) + " after its removal committed";
    }
    return {};
  });
  const raft::MembershipChange removal{raft::ChangeType::kRemove, leader, {}};
  const Time gap = run.random().range(0, 30 * kMillis);
  auto transfer = [world, leader, target] {
    SimNode& node = world->node(leader);
    if (node.up() && node.raft().role() == raft::Role::kLeader) {
      (void)node.transfer_leadership(target);
    }
  };
  if (run.random().chance(0.5)) {
    transfer();
    cluster.events().after(gap, [&run, removal] { run.nemesis().change_membership(removal, 200); });
  } else {
    run.nemesis().change_membership(removal, 200);
    cluster.events().after(gap, transfer);
  }
  if (!cluster.run_until(cluster.now() + 3 * kSeconds)) return;
  if (!*removal_committed) {
    run.fail("the removal of leader " + std::to_string(leader) + " never committed");
    return;
  }
  run.liveness();
}

// A follower partitioned while the others snapshot and compact far past its log must catch up
// through a snapshot, and end with the same state.
void run_slow_follower_compaction(ScenarioRun& run) {
  SimCluster& cluster = run.cluster();
  run.clients().start();
  const raft::NodeId leader = settle(run);
  if (leader == raft::kNoNode) return;
  const raft::NodeId lagger = random_follower(run, leader);
  cluster.network().isolate(lagger, cluster.ids());
  const raft::Index behind = cluster.node(lagger).raft().log().last_index();
  const bool compacted = cluster.run_until(cluster.now() + 8 * kSeconds, 50 * kMillis, [&] {
    const raft::NodeId current = cluster.leader();
    return current != raft::kNoNode &&
           cluster.node(current).raft().log().prev_index() > behind + 50;
  });
  if (run.failed()) return;
  if (!compacted) {
    run.fail("the leader never compacted 50 entries past the partitioned follower:\n" +
             cluster.describe());
    return;
  }
  const std::uint64_t installs = cluster.node(lagger).snapshots_installed();
  run.liveness();
  if (!run.failed() && cluster.node(lagger).snapshots_installed() == installs) {
    run.fail("follower " + std::to_string(lagger) + " caught up without installing a snapshot");
  }
}

// A follower whose disk takes ~200 ms per write, in a healthy network: it acknowledges appends
// late, but it hears heartbeats, so nobody campaigns: the term never changes over a long run.
void run_slow_disk_follower(ScenarioRun& run) {
  SimCluster& cluster = run.cluster();
  run.clients().start();
  const raft::NodeId leader = settle(run);
  if (leader == raft::kNoNode) return;
  const raft::Term term = cluster.node(leader).raft().term();
  const raft::NodeId slow = random_follower(run, leader);
  cluster.node(slow).set_disk_latency(150 * kMillis, 250 * kMillis);
  require_stable_term(run, leader, term, "slow disk follower " + std::to_string(slow));
  if (!cluster.run_until(cluster.now() + 10 * kSeconds)) return;  // ~50 slow writes
  run.liveness();
}

}  // namespace neuroplex::sim
