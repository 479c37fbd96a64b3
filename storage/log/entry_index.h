// EntryIndex: where each live entry of the log sits on disk — a contiguous run of indexes
// [first, last] mapped to (segment, offset, size, term). Replay builds it; the writer extends it.
//
// Thread safety: none; the owner serializes access.
#pragma once

#include <cassert>
#include <cstdint>
#include <deque>

#include "raft/types.h"

namespace neuroplex::wal {

struct EntryLocation {
  std::uint64_t segment = 0;  // segment sequence number
  std::uint64_t offset = 0;   // of the record header
  std::uint32_t size = 0;     // record bytes, header included
  raft::Term term = 0;
};

class EntryIndex {
 public:
  bool empty() const { return entries_.empty(); }
  raft::Index first() const { return first_; }
  raft::Index last() const { return first_ + entries_.size() - 1; }  // first - 1 when empty

  const EntryLocation* find(raft::Index index) const {
    if (entries_.empty() || index < first_ || index > last()) return nullptr;
    return &entries_[index - first_];
  }

  // Adds entry `index`. An index at or before last() replaces the suffix from there (conflict
  // truncation); one past a gap restarts the run there (replay over deleted segments).
  void put(raft::Index index, const EntryLocation& location) {
    if (entries_.empty() || index < first_ || index > last() + 1) {
      entries_.clear();
      first_ = index;
    } else if (index <= last()) {
      entries_.resize(index - first_);
    }
    entries_.push_back(location);
  }

  // Drops entries at or below `index`; the run then starts at index + 1 at the earliest.
  void drop_through(raft::Index index) {
    if (index < first_) return;
    if (entries_.empty() || index >= last()) {
      entries_.clear();
      first_ = index + 1;
      return;
    }
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<long>(index + 1 - first_));
    first_ = index + 1;
  }

  // Drops everything; the next entry is expected at `next`.
  void reset(raft::Index next) {
    entries_.clear();
    first_ = next;
  }

  // The segment holding the first live entry (0 when empty).
  std::uint64_t first_segment() const { return entries_.empty() ? 0 : entries_.front().segment; }

 private:
  raft::Index first_ = 1;
  std::deque<EntryLocation> entries_;
};

}  // namespace neuroplex::wal

namespace neuroplex::wal {

// The Snapshot record rule of docs/log-format.md, shared by replay and the writer so both reach
// the same state: a snapshot above the current one keeps the entries after it when the log holds
// its entry (same term), keeps every entry when all lie above it, and otherwise drops them all.
inline void apply_snapshot(EntryIndex& index, raft::SnapshotMeta& current,
                           raft::SnapshotMeta snapshot) {
  if (snapshot.index <= current.index) return;  // a copy at a segment start, or stale
  const EntryLocation* at = index.find(snapshot.index);
  if (at != nullptr && at->term == snapshot.term) {
    index.drop_through(snapshot.index);
  } else if (index.empty() || snapshot.index >= index.first()) {
    index.reset(snapshot.index + 1);
  }
  current = std::move(snapshot);
}

}  // namespace neuroplex::wal
