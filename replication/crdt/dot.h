// Dots: unique names of update events, the unit of causality in delta-state CRDTs.
//
// A dot (replica, counter) names the counter-th event created by `replica`. Every piece of live
// CRDT content (a set element's add, a counter's contribution, a register's write) is tagged with
// exactly one dot, and a dot tags at most one piece of content: that is what lets a causal
// context say "I have seen this event and its content is gone" without a per-element tombstone.
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "replication/crdt/inline_vector.h"

namespace neuroplex::crdt {

// The Raft group is one replica; offline clients and other clusters are others (DESIGN.md).
using ReplicaId = std::uint64_t;

// Counters above this are refused from untrusted input and never generated, so that incrementing
// a counter can never wrap (a hostile context could otherwise set one to UINT64_MAX).
inline constexpr std::uint64_t kMaxDotCounter = std::uint64_t{1} << 62;

struct Dot {
  ReplicaId replica = 0;
  std::uint64_t counter = 0;  // >= 1 for a real event

  friend auto operator<=>(const Dot&, const Dot&) = default;
};

// A sorted, duplicate-free set of dots; nearly always one (a set element added once).
using DotSet = InlineVector<Dot>;

}  // namespace neuroplex::crdt
