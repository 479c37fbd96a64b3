// The inside of HnswIndex (internal to storage/vector/): slot storage, the graph's link lists
// under per-slot sequence locks, and the operations the .cc files of this folder share.
//
// Memory layout. Every slot owns one block in `blocks`, `stride` bytes, 64-byte aligned:
//   header words (uint32): [0] sequence lock, [1] state, [2] level-0 link count,
//                          [3 .. 3+m0) level-0 links; padded to 64 bytes
//   the vector: padded_dim floats (zero padding past dim; normalized for cosine)
// so a search touching a node reads its links and then its vector from one place. Upper-level
// links live in Slot::upper: per level 1..level, [count, m links].
//
// Concurrency invariants:
// - One writer (writer_mutex), the only thread that changes the graph. It takes `grow_mutex`
//   exclusively, briefly, to reallocate arrays or to free consolidated slots; every search holds
//   it shared from start to end.
// - Link lists change only inside the owning slot's sequence lock (odd while writing); readers
//   copy them and retry when the sequence moved. All link and header words are accessed through
//   std::atomic_ref, so a concurrent read is never a data race.
// - A slot's vector, id, level, terms and upper array are written only while no link reaches
//   it: when it is new, or when it came off the free list. A slot reaches the free list only
//   after consolidation removed every link to it and the writer took grow_mutex exclusively,
//   so no search that might still hold it is running.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <queue>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/vector/hnsw_index.h"
#include "storage/vector/term_index.h"

namespace neuroplex::vec {

using Slot = std::uint32_t;
inline constexpr Slot kNoSlot = std::numeric_limits<Slot>::max();

enum SlotState : std::uint32_t { kFree = 0, kLive = 1, kDeleted = 2 };

struct Candidate {
  float distance;
  Slot slot;
  // Ties break on the slot so every replica orders equal distances the same way.
  bool operator<(const Candidate& other) const {
    return distance < other.distance || (distance == other.distance && slot < other.slot);
  }
  bool operator>(const Candidate& other) const { return other < *this; }
};

// Worst on top: the current results of a search.
using ResultHeap = std::priority_queue<Candidate>;
// Closest on top: the frontier still to expand.
using FrontierHeap =
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>>;

// 64-byte aligned, zero-filled storage for the slot blocks.
class BlockArray {
 public:
  BlockArray() = default;
  BlockArray(std::size_t stride, std::size_t capacity);
  char* block(Slot slot) const { return data_.get() + static_cast<std::size_t>(slot) * stride_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t bytes() const { return stride_ * capacity_; }

 private:
  struct Free {
    void operator()(char* p) const;
  };
  std::unique_ptr<char, Free> data_;
  std::size_t stride_ = 0;
  std::size_t capacity_ = 0;
};

struct SlotInfo {
  std::string id;
  int level = -1;
  std::vector<TermId> terms;               // sorted; what filters match against
  std::unique_ptr<std::uint32_t[]> upper;  // levels 1..level: [count, m links] each
};

// A filter compiled against the term index: the sorted term ids a node must all hold.
struct CompiledFilter {
  std::vector<TermId> terms;
  bool matches_nothing = false;
  bool empty() const { return terms.empty() && !matches_nothing; }
};

struct HnswIndex::Impl {
  explicit Impl(const IndexOptions& options);

  // --- layout ---
  IndexOptions options;
  std::size_t padded = 0;  // padded dimension
  std::uint32_t m0 = 0;    // level-0 link capacity (2 * m)
  std::size_t header_bytes = 0;
  std::size_t stride = 0;
  DistanceFn distance = nullptr;

  // --- state (see the invariants above) ---
  mutable std::mutex writer_mutex;
  mutable std::shared_mutex grow_mutex;
  mutable std::shared_mutex terms_mutex;  // guards term_index
  BlockArray blocks;
  std::vector<SlotInfo> slots;
  std::size_t used = 0;  // writer-only: slots [0, used) have been handed out at least once
  std::vector<Slot> free_slots;
  std::unordered_map<std::string, Slot> ids;  // live ids only; writer-only
  TermIndex term_index;
  std::atomic<Slot> entry{kNoSlot};
  std::atomic<int> max_level{-1};
  std::atomic<std::size_t> live{0};  // searches read it to weigh a filter's selectivity
  std::size_t tombstones = 0;
  std::size_t consolidations = 0;
  std::uint64_t rng_state = 0;

  // --- slot words ---
  std::uint32_t* header(Slot slot) const {
    return reinterpret_cast<std::uint32_t*>(blocks.block(slot));
  }
  const float* vector(Slot slot) const {
    return reinterpret_cast<const float*>(blocks.block(slot) + header_bytes);
  }
  float* mutable_vector(Slot slot) {
    return reinterpret_cast<float*>(blocks.block(slot) + header_bytes);
  }
  SlotState state(Slot slot) const;
  void set_state(Slot slot, SlotState state);
  std::uint32_t max_links(int level) const { return level == 0 ? m0 : options.m; }

  // Copies slot's links at `level` into `out` (consistent snapshot under the sequence lock).
  void read_links(Slot slot, int level, std::vector<Slot>& out) const;
  // Replaces slot's links at `level` (writer only).
  void write_links(Slot slot, int level, const Slot* links, std::uint32_t count);

  // --- the graph (hnsw_search.cc) ---
  float distance_to(const float* query, Slot slot) const {
    return distance(query, vector(slot), padded);
  }
  // Greedy walk down from the entry point to `target_level` + 1; returns the closest node found.
  Candidate descend(const float* query, int target_level, std::size_t* distances) const;
  // Best-first search of one level from `start`. Nodes for which accept() is false still route
  // but are not returned. Returns up to ef results, worst on top.
  template <typename Accept>
  ResultHeap search_level(const float* query, Candidate start, std::size_t ef, int level,
                          Accept accept, std::size_t* distances) const;
  bool matches(Slot slot, const CompiledFilter& filter) const;

  // --- writes (hnsw_insert.cc) ---
  std::uint32_t random_level();
  Slot take_slot();  // writer, grow_mutex not held
  void insert(Slot slot);
  // Heuristic neighbour choice (HNSW paper, algorithm 4): keeps a candidate only when it is
  // closer to the base than to every neighbour already kept, so links spread in direction.
  void select_neighbors(std::vector<Candidate>& candidates, std::uint32_t limit) const;
  void link_back(Slot from, Slot to, int level);
  void consolidate_locked();      // writer
  void remove_locked(Slot slot);  // writer

  // --- searches (hnsw_index.cc) ---
  std::vector<Candidate> search_graph(const float* query, std::size_t k, std::size_t ef,
                                      const CompiledFilter& filter, SearchStats& stats) const;
  // Scans `slots` (or every slot when null) for the k closest that match.
  std::vector<Candidate> search_scan(const float* query, std::size_t k,
                                     const std::vector<Slot>* candidates,
                                     const CompiledFilter& filter, SearchStats& stats) const;

  std::size_t memory_bytes() const;
};

}  // namespace neuroplex::vec
