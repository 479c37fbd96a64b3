#include "tests/sim/sim_network.h"

#include <algorithm>
#include <cassert>

namespace neuroplex::sim {

SimNetwork::SimNetwork(SimRandom random, NetworkFaults faults) : random_(random), faults_(faults) {
  assert(faults_.delay_min <= faults_.delay_max);
}

void SimNetwork::partition(const std::vector<std::vector<raft::NodeId>>& groups) {
  for (std::size_t a = 0; a < groups.size(); ++a) {
    for (std::size_t b = 0; b < groups.size(); ++b) {
      if (a == b) continue;
      for (raft::NodeId from : groups[a]) {
        for (raft::NodeId to : groups[b]) block(from, to);
      }
    }
  }
}

void SimNetwork::isolate(raft::NodeId node, const std::vector<raft::NodeId>& all) {
  for (raft::NodeId other : all) {
    if (other == node) continue;
    block(node, other);
    block(other, node);
  }
}

void SimNetwork::clog(raft::NodeId node, Time until) {
  Time& current = clogged_until_[node];
  current = std::max(current, until);
}

bool SimNetwork::clogged(raft::NodeId node, Time now) const {
  auto it = clogged_until_.find(node);
  return it != clogged_until_.end() && it->second > now;
}

void SimNetwork::heal(NetworkFaults faults) {
  faults_ = faults;
  blocked_.clear();
  clogged_until_.clear();
}

Time SimNetwork::one_delay(raft::NodeId from, raft::NodeId to, Time now) {
  Time arrival = now + random_.range(faults_.delay_min, faults_.delay_max);
  for (raft::NodeId end : {from, to}) {
    auto it = clogged_until_.find(end);
    if (it != clogged_until_.end() && it->second > now) {
      // Held until the clog ends, then released in a burst with fresh jitter.
      arrival = std::max(arrival, it->second + random_.range(faults_.delay_min, faults_.delay_max));
    }
  }
  return arrival;
}

std::vector<Time> SimNetwork::route(raft::NodeId from, raft::NodeId to, Time now) {
  std::vector<Time> arrivals;
  if (!link_up(from, to)) return arrivals;
  if (random_.chance(faults_.drop_probability)) return arrivals;
  arrivals.push_back(one_delay(from, to, now));
  if (random_.chance(faults_.duplicate_probability)) arrivals.push_back(one_delay(from, to, now));
  return arrivals;
}

}  // namespace neuroplex::sim
