// Best-first search of one HNSW level (internal to storage/vector/), shared by searches and
// inserts. A template so the accept test (filter, tombstones) inlines into the inner loop.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <vector>

#include "storage/vector/hnsw_graph.h"

namespace neuroplex::vec {

// Per-thread visited marks: a slot is visited when its mark equals the current tag, so
// starting a search is one increment instead of clearing an array.
class VisitedMarks {
 public:
  static VisitedMarks& for_this_thread(std::size_t slots);
  bool test_and_set(Slot slot) {
    if (marks_[slot] == tag_) return true;
    marks_[slot] = tag_;
    return false;
  }

 private:
  void begin(std::size_t slots);
  std::vector<std::uint16_t> marks_;
  std::uint16_t tag_ = 0;
};

template <typename Accept>
ResultHeap HnswIndex::Impl::search_level(const float* query, Candidate start, std::size_t ef,
                                         int level, Accept accept, std::size_t* distances) const {
  VisitedMarks& visited = VisitedMarks::for_this_thread(blocks.capacity());
  FrontierHeap frontier;
  ResultHeap results;
  visited.test_and_set(start.slot);
  frontier.push(start);
  if (accept(start.slot)) results.push(start);
  std::vector<Slot> links;
  links.reserve(m0);
  while (!frontier.empty()) {
    const Candidate current = frontier.top();
    // Stop once the nearest unexpanded node is worse than the worst of a full result set.
    if (results.size() >= ef && results.top() < current) break;
    frontier.pop();
    read_links(current.slot, level, links);
    for (Slot next : links) _mm_prefetch(reinterpret_cast<const char*>(vector(next)), _MM_HINT_T0);
    for (Slot next : links) {
      if (visited.test_and_set(next)) continue;
      const Candidate candidate{distance_to(query, next), next};
      ++*distances;
      if (results.size() < ef || candidate < results.top()) {
        frontier.push(candidate);
        if (accept(next)) {
          results.push(candidate);
          if (results.size() > ef) results.pop();
        }
      }
    }
  }
  return results;
}

}  // namespace neuroplex::vec
