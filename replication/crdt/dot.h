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

// A sorted, duplicate-free set of dots. It nearly always holds one dot (a set element added
// once), which is kept inline: no allocation, and no pointer to chase when a document is walked
// to be encoded. Two or more dots live in a vector.
class DotSet {
 public:
  using value_type = Dot;

  DotSet() = default;
  DotSet(std::initializer_list<Dot> dots) {  // NOLINT(google-explicit-constructor)
    for (const Dot& dot : dots) push_back(dot);
  }

  std::size_t size() const { return more_.empty() ? (has_one_ ? 1 : 0) : more_.size(); }
  bool empty() const { return size() == 0; }
  const Dot* begin() const { return more_.empty() ? &one_ : more_.data(); }
  const Dot* end() const { return begin() + size(); }
  Dot* begin() { return more_.empty() ? &one_ : more_.data(); }
  Dot* end() { return begin() + size(); }
  const Dot& operator[](std::size_t i) const { return begin()[i]; }
  Dot& operator[](std::size_t i) { return begin()[i]; }
  const Dot& front() const { return *begin(); }

  // Appends `dot`; callers append in ascending order.
  void push_back(const Dot& dot) {
    if (more_.empty() && !has_one_) {
      one_ = dot;
      has_one_ = true;
      return;
    }
    if (more_.empty()) more_.push_back(one_);
    more_.push_back(dot);
  }
  void reserve(std::size_t) {}
  void clear() {
    has_one_ = false;
    more_.clear();
  }

  friend bool operator==(const DotSet& x, const DotSet& y) {
    return std::equal(x.begin(), x.end(), y.begin(), y.end());
  }

 private:
  // Invariant: more_ is empty (the dots are one_ if has_one_) or holds two or more dots.
  Dot one_;
  bool has_one_ = false;
  std::vector<Dot> more_;
};

}  // namespace neuroplex::crdt
