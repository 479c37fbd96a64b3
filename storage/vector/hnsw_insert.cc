// Writes to the graph: level draws, slot allocation, insertion with heuristic neighbour choice,
// and consolidation of tombstones (see hnsw_graph.h for the invariants these keep).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "storage/vector/search_level.h"

namespace neuroplex::vec {

namespace {

// splitmix64: tiny, fast, and its whole state is one word saved with the index.
std::uint64_t next_random(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr std::uint32_t kMaxLevel = 16;

}  // namespace

// P(level >= l) = m^-l, as floor(-ln(U) / ln(m)) gives, but in integers: the result must not
// depend on a libm's last bit, or replicas on different systems would build different graphs.
std::uint32_t HnswIndex::Impl::random_level() {
  const std::uint64_t draw = next_random(rng_state);
  std::uint32_t level = 0;
  for (std::uint64_t threshold = UINT64_MAX / options.m; level < kMaxLevel && draw <= threshold;
       threshold /= options.m) {
    ++level;
  }
  return level;
}

Slot HnswIndex::Impl::take_slot() {
  if (!free_slots.empty()) {
    const Slot slot = free_slots.back();
    free_slots.pop_back();
    return slot;
  }
  if (used == blocks.capacity()) {
    // Reallocation moves every block: no search may run meanwhile.
    std::unique_lock grow(grow_mutex);
    const std::size_t capacity = std::max<std::size_t>(64, blocks.capacity() * 2);
    BlockArray bigger(stride, capacity);
    if (used > 0) std::memcpy(bigger.block(0), blocks.block(0), used * stride);
    blocks = std::move(bigger);
    slots.resize(capacity);
  }
  return static_cast<Slot>(used++);
}

void HnswIndex::Impl::select_neighbors(std::vector<Candidate>& candidates,
                                       std::uint32_t limit) const {
  std::sort(candidates.begin(), candidates.end());
  if (candidates.size() <= limit) return;
  std::vector<Candidate> kept;
  kept.reserve(limit);
  for (const Candidate& candidate : candidates) {
    if (kept.size() >= limit) break;
    const float* vec = vector(candidate.slot);
    bool diverse = true;
    for (const Candidate& neighbor : kept) {
      if (distance(vec, vector(neighbor.slot), padded) < candidate.distance) {
        diverse = false;
        break;
      }
    }
    if (diverse) kept.push_back(candidate);
  }
  candidates = std::move(kept);
}

void HnswIndex::Impl::link_back(Slot from, Slot to, int level) {
  std::vector<Slot> links;
  read_links(from, level, links);
  if (std::find(links.begin(), links.end(), to) != links.end()) return;
  const std::uint32_t limit = max_links(level);
  if (links.size() < limit) {
    links.push_back(to);
    write_links(from, level, links.data(), static_cast<std::uint32_t>(links.size()));
    return;
  }
  // Full: choose again among the old links and the newcomer, as seen from `from`.
  const float* base = vector(from);
  std::vector<Candidate> candidates;
  candidates.reserve(links.size() + 1);
  for (Slot slot : links) candidates.push_back({distance(base, vector(slot), padded), slot});
  candidates.push_back({distance(base, vector(to), padded), to});
  select_neighbors(candidates, limit);
  links.clear();
  for (const Candidate& c : candidates) links.push_back(c.slot);
  write_links(from, level, links.data(), static_cast<std::uint32_t>(links.size()));
}

void HnswIndex::Impl::insert(Slot slot) {
  const int level = slots[slot].level;
  const Slot start = entry.load(std::memory_order_relaxed);
  if (start == kNoSlot) {
    entry.store(slot, std::memory_order_release);
    max_level.store(level, std::memory_order_release);
    return;
  }
  const float* query = vector(slot);
  std::size_t distances = 0;
  const int top = max_level.load(std::memory_order_relaxed);
  Candidate nearest = descend(query, std::min(level, top), &distances);
  // New nodes link only to live nodes; tombstones still route until consolidation.
  auto live_only = [this](Slot s) { return state(s) == kLive; };
  std::vector<Candidate> chosen;
  for (int l = std::min(level, top); l >= 0; --l) {
    ResultHeap found =
        search_level(query, nearest, options.ef_construction, l, live_only, &distances);
    chosen.clear();
    for (; !found.empty(); found.pop()) chosen.push_back(found.top());
    if (!chosen.empty()) nearest = *std::min_element(chosen.begin(), chosen.end());
    select_neighbors(chosen, options.m);
    std::vector<Slot> links;
    for (const Candidate& c : chosen) links.push_back(c.slot);
    write_links(slot, l, links.data(), static_cast<std::uint32_t>(links.size()));
    for (Slot neighbor : links) link_back(neighbor, slot, l);
  }
  if (level > top) {
    max_level.store(level, std::memory_order_release);
    entry.store(slot, std::memory_order_release);
  }
}

namespace {

// New links for `slot` at `level` that route around deleted nodes: its live links plus the live
// links of its deleted ones (the neighbourhood the deleted node used to bridge).
std::vector<Candidate> bridged_candidates(const HnswIndex::Impl& impl, Slot slot, int level,
                                          const std::vector<Slot>& links) {
  std::unordered_set<Slot> seen;
  std::vector<Candidate> candidates;
  std::vector<Slot> second;
  const float* base = impl.vector(slot);
  auto consider = [&](Slot s) {
    if (s == slot || impl.state(s) != kLive || !seen.insert(s).second) return;
    candidates.push_back({impl.distance(base, impl.vector(s), impl.padded), s});
  };
  for (Slot s : links) {
    if (impl.state(s) == kLive) {
      consider(s);
      continue;
    }
    impl.read_links(s, level, second);
    for (Slot t : second) consider(t);
  }
  return candidates;
}

}  // namespace

void HnswIndex::Impl::consolidate_locked() {
  if (tombstones == 0) return;
  std::vector<Slot> links;
  std::size_t distances = 0;
  auto live_only = [this](Slot s) { return state(s) == kLive; };
  // Entry first: repairs below search from it, and a deleted entry may be about to be freed.
  Slot best = kNoSlot;
  for (Slot s = 0; s < used; ++s) {
    if (state(s) == kLive && (best == kNoSlot || slots[s].level > slots[best].level)) best = s;
  }
  for (Slot s = 0; s < used; ++s) {
    if (state(s) != kLive) continue;
    for (int l = 0; l <= slots[s].level; ++l) {
      read_links(s, l, links);
      const bool touches_deleted =
          std::any_of(links.begin(), links.end(), [&](Slot t) { return state(t) != kLive; });
      if (!touches_deleted) continue;
      std::vector<Candidate> candidates = bridged_candidates(*this, s, l, links);
      if (candidates.empty() && entry.load() != kNoSlot && l <= max_level.load()) {
        // Every neighbour and their neighbours went: find new ones by searching (tombstones
        // still route, so the old graph is whole).
        Candidate start = descend(vector(s), l, &distances);
        ResultHeap found =
            search_level(vector(s), start, options.ef_construction, l, live_only, &distances);
        for (; !found.empty(); found.pop()) {
          if (found.top().slot != s) candidates.push_back(found.top());
        }
      }
      select_neighbors(candidates, max_links(l));
      links.clear();
      for (const Candidate& c : candidates) links.push_back(c.slot);
      write_links(s, l, links.data(), static_cast<std::uint32_t>(links.size()));
    }
  }
  entry.store(best, std::memory_order_release);
  max_level.store(best == kNoSlot ? -1 : slots[best].level, std::memory_order_release);
  // No link reaches a tombstone now; once no search that began before is running (the
  // exclusive lock waits for them), the slots are free.
  std::unique_lock grow(grow_mutex);
  for (Slot s = 0; s < used; ++s) {
    if (state(s) != kDeleted) continue;
    set_state(s, kFree);
    SlotInfo& info = slots[s];
    info = SlotInfo{};
    free_slots.push_back(s);
  }
  // Reuse low slots first: a LIFO of a descending list hands out the lowest.
  std::sort(free_slots.begin(), free_slots.end(), std::greater<Slot>());
  tombstones = 0;
  ++consolidations;
}

}  // namespace neuroplex::vec
