// The benchmark entry points declared in sim_cluster.h: replication throughput of the core in a
// fault-free simulated cluster, and failover time after a leader crash.
#include <chrono>
#include <memory>

#include "tests/sim/kv_machine.h"
#include "tests/sim/sim_cluster.h"

namespace neuroplex::sim {
namespace {

// Runs until some leader has committed an entry of its term; returns it (kNoNode on timeout).
raft::NodeId elect(SimCluster& cluster, Time deadline) {
  cluster.run_until(deadline, kMillis, [&] {
    const raft::NodeId leader = cluster.leader();
    if (leader == raft::kNoNode) return false;
    const raft::RaftLog& log = cluster.node(leader).raft().log();
    return log.commit() == log.last_index() &&
           log.term(log.commit()) == cluster.node(leader).raft().term();
  });
  return cluster.failed() ? raft::kNoNode : cluster.leader();
}

}  // namespace

ThroughputReport measure_propose_throughput(std::uint64_t entries, std::size_t entry_bytes,
                                            std::uint64_t seed) {
  ClusterOptions options{.seed = seed,
                         .max_nodes = 3,
                         .founders = 3,
                         .faults = NetworkFaults{.delay_min = 50, .delay_max = 100},
                         .disk_latency_min = 0,
                         .disk_latency_max = 0,
                         .sweep_every_events = 0};
  SimCluster cluster(options);
  ThroughputReport report;
  const raft::NodeId leader = elect(cluster, 5 * kSeconds);
  if (leader == raft::kNoNode) return report;
  const raft::Index start = cluster.node(leader).kv().applied();
  const raft::Index goal = start + entries;
  const std::string value(entry_bytes, 'x');
  const Time simulated_start = cluster.now();
  const auto wall_start = std::chrono::steady_clock::now();
  std::uint64_t proposed = 0;
  auto applied_everywhere = [&] {
    raft::Index lowest = goal;
    for (const SimNode* node : cluster.nodes()) lowest = std::min(lowest, node->kv().applied());
    return lowest;
  };
  while (!cluster.failed() && applied_everywhere() < goal) {
    SimNode& lead = cluster.node(leader);
    if (!lead.up() || lead.raft().role() != raft::Role::kLeader) break;  // no faults: never
    // Keep up to 1024 proposals in flight.
    while (proposed < entries && start + proposed < lead.kv().applied() + 1024) {
      const KvCommand put{.kind = KvCommandKind::kPut,
                          .client = 1,
                          .op = proposed + 1,
                          .key = "bench",
                          .value = value,
                          .expected = {}};
      if (!lead.propose(encode_command(put)).is_ok()) break;
      ++proposed;
    }
    cluster.run_until(cluster.now() + 50);
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  report.entries = applied_everywhere() - start;
  report.wall_seconds = wall;
  report.entries_per_second = wall > 0 ? static_cast<double>(report.entries) / wall : 0;
  report.simulated = cluster.now() - simulated_start;
  return report;
}

FailoverReport measure_failover(std::uint64_t seed, int nodes) {
  ClusterOptions options{.seed = seed, .max_nodes = nodes, .founders = nodes};
  SimCluster cluster(options);
  FailoverReport report;
  const raft::NodeId old_leader = elect(cluster, 5 * kSeconds);
  if (old_leader == raft::kNoNode) return report;
  if (!cluster.run_until(cluster.now() + 500 * kMillis)) return report;
  const raft::NodeId leader = cluster.leader();
  if (leader == raft::kNoNode) return report;
  report.crashed_at = cluster.now();
  cluster.crash(leader, /*keep_random_prefix=*/false);
  auto elected_at = std::make_shared<Time>(0);
  SimCluster* world = &cluster;
  cluster.add_check([world, leader, elected_at]() -> std::string {
    const raft::NodeId current = world->leader();
    if (*elected_at == 0 && current != raft::kNoNode && current != leader) {
      *elected_at = world->now();
    }
    return {};
  });
  cluster.run_until(cluster.now() + 10 * kSeconds, 10 * kMillis, [&] { return *elected_at != 0; });
  if (*elected_at == 0 || cluster.failed()) return report;
  report.ok = true;
  report.new_leader_at = *elected_at;
  report.failover = *elected_at - report.crashed_at;
  return report;
}

}  // namespace neuroplex::sim
