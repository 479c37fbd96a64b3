#include "replication/crdt/causal_context.h"

#include <algorithm>
#include <cassert>
#include <iterator>

namespace neuroplex::crdt {
namespace {

auto find_version(const CausalContext::Versions& versions, ReplicaId replica) {
  return std::lower_bound(versions.begin(), versions.end(), replica,
                          [](const auto& entry, ReplicaId r) { return entry.first < r; });
}

}  // namespace

std::uint64_t CausalContext::version_of(ReplicaId replica) const {
  auto it = find_version(versions_, replica);
  return it != versions_.end() && it->first == replica ? it->second : 0;
}

void CausalContext::set_version(ReplicaId replica, std::uint64_t counter) {
  auto it = std::lower_bound(versions_.begin(), versions_.end(), replica,
                             [](const auto& entry, ReplicaId r) { return entry.first < r; });
  if (it != versions_.end() && it->first == replica) {
    it->second = counter;
  } else {
    versions_.insert(it, {replica, counter});
  }
}

bool CausalContext::contains(const Dot& dot) const {
  return dot.counter <= version_of(dot.replica) || cloud_.contains(dot);
}

std::uint64_t CausalContext::max_counter(ReplicaId replica) const {
  if (cloud_.empty()) return version_of(replica);  // the usual case: one writer, no gaps
  auto after = cloud_.upper_bound(Dot{replica, UINT64_MAX});
  if (after != cloud_.begin() && std::prev(after)->replica == replica) {
    return std::prev(after)->counter;
  }
  return version_of(replica);
}

Dot CausalContext::next_dot(ReplicaId replica) {
  Dot dot{replica, max_counter(replica) + 1};
  add(dot);
  return dot;
}

void CausalContext::add(const Dot& dot) {
  assert(dot.counter >= 1);
  std::uint64_t version = version_of(dot.replica);
  if (dot.counter <= version) return;
  if (dot.counter == version + 1) {
    set_version(dot.replica, dot.counter);
    compact(dot.replica);
  } else {
    cloud_.insert(dot);
  }
}

void CausalContext::compact(ReplicaId replica) {
  std::uint64_t version = version_of(replica);
  auto it = cloud_.lower_bound(Dot{replica, 0});
  while (it != cloud_.end() && it->replica == replica && it->counter <= version + 1) {
    version = std::max(version, it->counter);
    it = cloud_.erase(it);
  }
  if (version > 0) set_version(replica, version);
}

void CausalContext::join(const CausalContext& other) {
  for (const auto& [replica, counter] : other.versions_) {
    if (counter > version_of(replica)) {
      set_version(replica, counter);
      // Cloud dots now covered by the raised vector are redundant.
      auto it = cloud_.lower_bound(Dot{replica, 0});
      while (it != cloud_.end() && it->replica == replica && it->counter <= counter) {
        it = cloud_.erase(it);
      }
      compact(replica);
    }
  }
  for (const Dot& dot : other.cloud_) add(dot);
}

CausalContext CausalContext::from_parts(const Versions& versions, const std::vector<Dot>& cloud) {
  CausalContext context;
  for (const auto& [replica, counter] : versions) {
    if (counter == 0) continue;
    CausalContext single;
    single.versions_.push_back({replica, counter});
    context.join(single);
  }
  for (const Dot& dot : cloud) {
    if (dot.counter >= 1) context.add(dot);
  }
  return context;
}

void CausalContext::check_invariants() const {
  for (std::size_t i = 0; i < versions_.size(); ++i) {
    assert(versions_[i].second >= 1);
    assert(i == 0 || versions_[i - 1].first < versions_[i].first);
  }
  for (const Dot& dot : cloud_) {
    assert(dot.counter > version_of(dot.replica) + 1);
    (void)dot;
  }
}

}  // namespace neuroplex::crdt
