// The Raft core's ceiling, with no I/O: a 3-node cluster in one thread whose network is a set of
// in-memory queues and whose disks acknowledge at once.
//
//   throughput: entries/s committed and applied on the leader, and propose->commit latency
//               (wall clock), with --window entries allowed in flight.
//   election:   simulated time from a leader crash to a new leader, and to its first commit
//               (writes served again), over --seeds runs with 1-3 ms network delays, 10 ms ticks,
//               election_ticks = 10.
//
// build/release/bench/raft_bench [--entries N] [--entry-size B] [--window W] [--seeds S]
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "bench/bench_util.h"
#include "raft/raft.h"

namespace neuroplex::bench {
namespace {

using raft::Config;
using raft::Index;
using raft::Message;
using raft::NodeId;
using raft::Raft;
using raft::Ready;
using raft::Role;

raft::Membership three_voters() {
  raft::Membership membership;
  for (NodeId id = 1; id <= 3; ++id) membership.members.push_back({id, true, ""});
  return membership;
}

std::vector<std::unique_ptr<Raft>> make_cluster(std::uint64_t seed) {
  std::vector<std::unique_ptr<Raft>> nodes;
  for (NodeId id = 1; id <= 3; ++id) {
    Config config;
    config.id = id;
    config.random_seed = seed * 31 + id;
    nodes.push_back(std::make_unique<Raft>(config, raft::bootstrap(three_voters())));
  }
  return nodes;
}

// --- throughput --------------------------------------------------------------------------------

constexpr Index kSnapshotEvery = 10'000;

struct ThroughputCluster {
  std::vector<std::unique_ptr<Raft>> nodes = make_cluster(1);
  std::deque<Message> wire;
  std::map<Index, Clock::time_point> proposed_at;
  Latencies commit_latency;
  std::uint64_t applied_on_leader = 0;

  Raft& node(NodeId id) { return *nodes[id - 1]; }

  // One turn of every node's host loop, then every message in flight is delivered.
  void pump(NodeId leader) {
    for (auto& raft : nodes) {
      while (raft->has_ready()) {
        Ready ready = raft->ready();
        for (Message& message : ready.messages) wire.push_back(std::move(message));
        if (raft->id() == leader) {
          const auto now = Clock::now();
          for (const raft::Entry& entry : ready.committed) {
            auto it = proposed_at.find(entry.index);
            if (it == proposed_at.end()) continue;
            commit_latency.add(now - it->second);
            proposed_at.erase(it);
            ++applied_on_leader;
          }
        }
        if (ready.persist_id != 0) raft->on_persisted(ready.persist_id);
        // Snapshot as a node would, so the in-memory log stays bounded.
        const Index applied = raft->log().applied();
        if (applied >= raft->snapshot().index + kSnapshotEvery) raft->on_snapshot(applied, 1000);
      }
    }
    while (!wire.empty()) {
      Message message = std::move(wire.front());
      wire.pop_front();
      node(message.to).step(std::move(message));
    }
  }

  NodeId elect() {
    for (int tick = 0; tick < 1000; ++tick) {
      for (auto& raft : nodes) raft->tick();
      for (int turn = 0; turn < 8; ++turn) pump(0);
      for (auto& raft : nodes) {
        if (raft->role() == Role::kLeader && raft->log().commit() == raft->log().last_index()) {
          return raft->id();
        }
      }
    }
    std::fprintf(stderr, "no leader\n");
    std::exit(1);
  }
};

void run_throughput(std::uint64_t entries, std::size_t entry_size, std::size_t window) {
  ThroughputCluster cluster;
  const NodeId leader = cluster.elect();
  Raft& raft = cluster.node(leader);
  const std::string payload(entry_size, 'x');
  std::uint64_t proposed = 0;
  const auto start = Clock::now();
  while (cluster.applied_on_leader < entries) {
    const auto now = Clock::now();
    while (proposed < entries && cluster.proposed_at.size() < window) {
      Result<Index> index = raft.propose(payload);
      if (!index.is_ok()) break;
      cluster.proposed_at[*index] = now;
      ++proposed;
    }
    cluster.pump(leader);
  }
  const double seconds = seconds_since(start);
  std::printf(
      "raft_throughput: nodes=3 entry_bytes=%zu window=%zu entries=%llu entries_per_sec=%.0f "
      "MB_per_sec=%.1f p50_us=%.1f p99_us=%.1f\n",
      entry_size, window, static_cast<unsigned long long>(entries),
      static_cast<double>(entries) / seconds,
      static_cast<double>(entries * entry_size) / seconds / 1e6,
      cluster.commit_latency.percentile(0.50), cluster.commit_latency.percentile(0.99));
}

// --- election after a leader crash (simulated time) --------------------------------------------

constexpr std::uint64_t kTickMicros = 10'000;

struct Flight {
  std::uint64_t at_us;
  std::uint64_t order;
  Message message;
};

struct TimedCluster {
  explicit TimedCluster(std::uint64_t seed) : nodes(make_cluster(seed)), rng(seed) {}

  std::vector<std::unique_ptr<Raft>> nodes;
  std::mt19937_64 rng;
  std::vector<Flight> flights;
  std::uint64_t now_us = 0;
  std::uint64_t order = 0;
  NodeId crashed = raft::kNoNode;

  // Advances simulated time by 100 us: deliveries due, ticks due, every host loop.
  void step() {
    now_us += 100;
    for (std::size_t i = 0; i < flights.size();) {
      if (flights[i].at_us <= now_us) {
        Message message = std::move(flights[i].message);
        flights.erase(flights.begin() + static_cast<std::ptrdiff_t>(i));
        if (message.to != crashed) nodes[message.to - 1]->step(std::move(message));
      } else {
        ++i;
      }
    }
    for (auto& raft : nodes) {
      if (raft->id() == crashed) continue;
      // Ticks are staggered by 3 ms per node, as independent clocks would be.
      if ((now_us + raft->id() * 3'000) % kTickMicros == 0) raft->tick();
      while (raft->has_ready()) {
        Ready ready = raft->ready();
        for (Message& message : ready.messages) {
          const std::uint64_t delay = 1'000 + rng() % 2'000;  // 1-3 ms
          flights.push_back(Flight{now_us + delay, order++, std::move(message)});
        }
        if (ready.persist_id != 0) raft->on_persisted(ready.persist_id);
      }
    }
  }

  std::optional<NodeId> leader_with_commit_in_term() const {
    for (const auto& raft : nodes) {
      if (raft->id() != crashed && raft->role() == Role::kLeader &&
          raft->log().term(raft->log().commit()) == raft->term()) {
        return raft->id();
      }
    }
    return std::nullopt;
  }
};

void run_election(std::uint64_t seeds) {
  Latencies elected;
  Latencies writable;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    TimedCluster cluster(seed);
    std::optional<NodeId> old_leader;
    while (!(old_leader = cluster.leader_with_commit_in_term())) cluster.step();
    for (int i = 0; i < 5'000; ++i) cluster.step();  // half a second of steady state
    old_leader = cluster.leader_with_commit_in_term();
    cluster.crashed = *old_leader;
    const std::uint64_t crash_us = cluster.now_us;
    bool seen_leader = false;
    while (true) {
      cluster.step();
      for (const auto& raft : cluster.nodes) {
        if (!seen_leader && raft->id() != cluster.crashed && raft->role() == Role::kLeader) {
          seen_leader = true;
          elected.add(std::chrono::microseconds(cluster.now_us - crash_us));
        }
      }
      if (cluster.leader_with_commit_in_term()) break;
    }
    writable.add(std::chrono::microseconds(cluster.now_us - crash_us));
  }
  std::printf(
      "raft_election: nodes=3 tick_ms=10 election_ticks=10 seeds=%llu new_leader_p50_ms=%.1f "
      "new_leader_p99_ms=%.1f writable_p50_ms=%.1f writable_p99_ms=%.1f writable_max_ms=%.1f\n",
      static_cast<unsigned long long>(seeds), elected.percentile(0.5) / 1000,
      elected.percentile(0.99) / 1000, writable.percentile(0.5) / 1000,
      writable.percentile(0.99) / 1000, writable.percentile(1.0) / 1000);
}

}  // namespace
}  // namespace neuroplex::bench

int main(int argc, char** argv) {
  using neuroplex::bench::flag;
  const std::uint64_t entries = flag(argc, argv, "entries", 1'000'000);
  const std::uint64_t window = flag(argc, argv, "window", 256);
  for (std::uint64_t size : {flag(argc, argv, "entry-size", 256), std::uint64_t{4096}}) {
    neuroplex::bench::run_throughput(entries, size, window);
  }
  neuroplex::bench::run_election(flag(argc, argv, "seeds", 500));
  return 0;
}
