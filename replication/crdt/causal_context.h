// CausalContext: the set of every dot a replica state has seen, stored compactly.
//
// Representation: a version vector (replica -> n, meaning dots (replica, 1..n) were all seen)
// plus a "dot cloud" of seen dots that are not contiguous with the vector yet. Deltas that arrive
// out of order or with gaps land in the cloud; compact() folds them into the vector as soon as
// the gap closes. With one replica writing (the Raft group) the cloud stays empty and the whole
// history of a document costs one (replica, counter) pair — this is why removed elements need
// no tombstones.
//
// Invariants (checked by check_invariants()):
//   - every version entry has n >= 1 (no zero entries);
//   - every cloud dot d has d.counter > versions[d.replica] + 1 (it is neither covered by nor
//     adjacent to the vector; adjacent dots are always compacted in).
// Thread safety: a value type.
#pragma once

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "replication/crdt/dot.h"

namespace neuroplex::crdt {

class CausalContext {
 public:
  using Versions = std::vector<std::pair<ReplicaId, std::uint64_t>>;  // sorted by replica

  CausalContext() = default;

  bool contains(const Dot& dot) const;
  bool empty() const { return versions_.empty() && cloud_.empty(); }

  // The highest counter of `replica` seen, whether in the vector or the cloud.
  std::uint64_t max_counter(ReplicaId replica) const;

  // Creates the next dot of `replica` and records it as seen.
  Dot next_dot(ReplicaId replica);

  // Records `dot` as seen.
  void add(const Dot& dot);
  // Records every dot of `other` as seen (the join of two contexts).
  void join(const CausalContext& other);

  const Versions& versions() const { return versions_; }
  const std::set<Dot>& cloud() const { return cloud_; }

  // Rebuilds a context from decoded parts; entries need not be sorted, compact or unique.
  static CausalContext from_parts(const Versions& versions, const std::vector<Dot>& cloud);

  void check_invariants() const;

  friend bool operator==(const CausalContext&, const CausalContext&) = default;

 private:
  std::uint64_t version_of(ReplicaId replica) const;
  void set_version(ReplicaId replica, std::uint64_t counter);
  // Moves cloud dots of `replica` that became contiguous with the vector into it.
  void compact(ReplicaId replica);

  Versions versions_;
  std::set<Dot> cloud_;
};

}  // namespace neuroplex::crdt
