// The in-memory Raft log of one node: the entries after the last compaction point, the commit,
// applied and persisted indexes, and the membership history of the entries held.
//
// The whole uncompacted suffix is held in memory (as LogCabin does); the host bounds it by taking
// snapshots (see docs/decisions/0004-raft-core-shape.md). Durability is the host's job: this
// class only tracks which prefix the host has acknowledged as durable (persisted()).
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "raft/types.h"

namespace neuroplex::raft {

class RaftLog {
 public:
  RaftLog() = default;

  // Restarts the log after (prev_index, prev_term), where `base` was the membership.
  void reset(Index prev_index, Term prev_term, Membership base, std::vector<Entry> entries);

  [[nodiscard]] Index first_index() const { return prev_index_ + 1; }
  [[nodiscard]] Index last_index() const { return prev_index_ + entries_.size(); }
  [[nodiscard]] Term last_term() const { return *term(last_index()); }
  // The term of `index`, known for prev_index()..last_index().
  [[nodiscard]] std::optional<Term> term(Index index) const;
  [[nodiscard]] bool matches(Index index, Term term_at) const;
  // Whether a candidate whose log ends at (last, last_term_of_candidate) is at least as
  // up-to-date as this log (section 5.4.1).
  [[nodiscard]] bool is_up_to_date(Index last, Term last_term_of_candidate) const;
  [[nodiscard]] const Entry& at(Index index) const;
  [[nodiscard]] Index prev_index() const { return prev_index_; }

  // The largest index <= `index` whose term is <= `term_at`, or prev_index() when none held:
  // the conflict hint of fast backtracking, used by both sides.
  [[nodiscard]] Index find_conflict_by_term(Index index, Term term_at) const;

  // Leader: appends at the end. Precondition: entry.index == last_index() + 1.
  void append(Entry entry);
  // Follower: entries that follow a matched entry. Keeps the entries already present with the
  // same term, truncates at the first conflict and appends the rest. Returns the index of the
  // first entry written (0 when every entry was already present).
  Index merge(std::vector<Entry> entries);
  // Entries [from, to], stopping before max_bytes but never returning fewer than one.
  [[nodiscard]] std::vector<Entry> slice(Index from, Index to, std::size_t max_bytes) const;
  // Drops entries <= upto from memory. Precondition: upto <= applied().
  void compact(Index upto);

  [[nodiscard]] Index commit() const { return commit_; }
  void commit_to(Index index);
  [[nodiscard]] Index applied() const { return applied_; }
  void applied_to(Index index);
  [[nodiscard]] Index persisted() const { return persisted_; }
  void set_persisted(Index index);

  // Entries changed since the last take_unwritten() (to hand to the host for writing).
  [[nodiscard]] bool has_unwritten() const { return unwritten_from_ <= last_index(); }
  [[nodiscard]] Index unwritten_from() const { return unwritten_from_; }
  std::vector<Entry> take_unwritten();

  // The latest membership in the log (effective as soon as appended, section 4.1) and where it
  // came from (an entry index, or prev_index() for the base).
  [[nodiscard]] const Membership& membership() const;
  [[nodiscard]] Index membership_index() const;
  [[nodiscard]] Membership membership_at(Index index) const;

  // Invariants, checked by Raft::check_invariants().
  void check_invariants() const;

 private:
  void truncate_from(Index index);

  // Invariant: entries_[i].index == prev_index_ + 1 + i; terms never decrease along the log and
  // are >= prev_term_.
  Index prev_index_ = 0;
  Term prev_term_ = 0;
  std::vector<Entry> entries_;

  // Invariant: applied_ <= commit_; prev_index_ <= applied_ (entries are dropped only once
  // applied); persisted_ <= last_index().
  Index commit_ = 0;
  Index applied_ = 0;
  Index persisted_ = 0;
  Index unwritten_from_ = 1;

  // Membership at prev_index_, then each membership entry held, in index order.
  Membership base_membership_;
  std::vector<std::pair<Index, Membership>> memberships_;
};

}  // namespace neuroplex::raft
