// Slot storage and the sequence-locked link lists (see hnsw_graph.h for the invariants).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "storage/vector/search_level.h"

namespace neuroplex::vec {

namespace {

constexpr std::size_t kAlign = 64;
constexpr std::size_t kSeqWord = 0;
constexpr std::size_t kStateWord = 1;
constexpr std::size_t kCountWord = 2;
constexpr std::size_t kLinksWord = 3;

std::uint32_t load_word(const std::uint32_t* word, std::memory_order order) {
  return std::atomic_ref<std::uint32_t>(*const_cast<std::uint32_t*>(word)).load(order);
}
void store_word(std::uint32_t* word, std::uint32_t value, std::memory_order order) {
  std::atomic_ref<std::uint32_t>(*word).store(value, order);
}

}  // namespace

void BlockArray::Free::operator()(char* p) const { std::free(p); }

BlockArray::BlockArray(std::size_t stride, std::size_t capacity)
    : stride_(stride), capacity_(capacity) {
  const std::size_t bytes = std::max<std::size_t>(stride * capacity, kAlign);
  void* p = std::aligned_alloc(kAlign, (bytes + kAlign - 1) / kAlign * kAlign);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  data_.reset(static_cast<char*>(p));
}

VisitedMarks& VisitedMarks::for_this_thread(std::size_t slots) {
  thread_local VisitedMarks marks;
  marks.begin(slots);
  return marks;
}

void VisitedMarks::begin(std::size_t slots) {
  if (marks_.size() < slots) marks_.resize(slots, tag_);
  if (++tag_ == 0) {  // wrapped: old marks could equal the new tag
    std::fill(marks_.begin(), marks_.end(), 0);
    tag_ = 1;
  }
}

HnswIndex::Impl::Impl(const IndexOptions& opts)
    : options(opts),
      padded(padded_dim(opts.dim)),
      m0(2 * opts.m),
      header_bytes((kLinksWord + 2 * opts.m) * 4),
      distance(distance_fn(opts.metric)),
      rng_state(opts.seed) {
  header_bytes = (header_bytes + kAlign - 1) / kAlign * kAlign;
  stride = header_bytes + padded * sizeof(float);
}

SlotState HnswIndex::Impl::state(Slot slot) const {
  return static_cast<SlotState>(load_word(header(slot) + kStateWord, std::memory_order_acquire));
}

void HnswIndex::Impl::set_state(Slot slot, SlotState state) {
  store_word(header(slot) + kStateWord, state, std::memory_order_release);
}

namespace {

// The words of one link list: [count, links...].
std::uint32_t* list_of(const HnswIndex::Impl& impl, Slot slot, int level) {
  if (level == 0) return impl.header(slot) + kCountWord;
  return impl.slots[slot].upper.get() + static_cast<std::size_t>(level - 1) * (impl.options.m + 1);
}

}  // namespace

void HnswIndex::Impl::read_links(Slot slot, int level, std::vector<Slot>& out) const {
  const std::uint32_t* seq = header(slot) + kSeqWord;
  const std::uint32_t* list = list_of(*this, slot, level);
  const std::uint32_t capacity = max_links(level);
  for (;;) {
    const std::uint32_t before = load_word(seq, std::memory_order_acquire);
    if (before & 1) continue;  // a write is under way; it is a handful of stores
    const std::uint32_t count = std::min(load_word(list, std::memory_order_relaxed), capacity);
    out.resize(count);
    for (std::uint32_t i = 0; i < count; ++i) {
      out[i] = load_word(list + 1 + i, std::memory_order_relaxed);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (load_word(seq, std::memory_order_relaxed) == before) return;
  }
}

void HnswIndex::Impl::write_links(Slot slot, int level, const Slot* links, std::uint32_t count) {
  std::uint32_t* seq = header(slot) + kSeqWord;
  std::uint32_t* list = list_of(*this, slot, level);
  const std::uint32_t before = load_word(seq, std::memory_order_relaxed);
  store_word(seq, before + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (std::uint32_t i = 0; i < count; ++i)
    store_word(list + 1 + i, links[i], std::memory_order_relaxed);
  store_word(list, count, std::memory_order_relaxed);
  store_word(seq, before + 2, std::memory_order_release);
}

bool HnswIndex::Impl::matches(Slot slot, const CompiledFilter& filter) const {
  if (filter.matches_nothing) return false;
  const std::vector<TermId>& held = slots[slot].terms;
  return std::includes(held.begin(), held.end(), filter.terms.begin(), filter.terms.end());
}

Candidate HnswIndex::Impl::descend(const float* query, int target_level,
                                   std::size_t* distances) const {
  const Slot start = entry.load(std::memory_order_acquire);
  Candidate best{distance_to(query, start), start};
  ++*distances;
  std::vector<Slot> links;
  for (int level = slots[start].level; level > target_level; --level) {
    for (bool moved = true; moved;) {
      moved = false;
      read_links(best.slot, level, links);
      for (Slot next : links) {
        const Candidate candidate{distance_to(query, next), next};
        ++*distances;
        if (candidate < best) {
          best = candidate;
          moved = true;
        }
      }
    }
  }
  return best;
}

std::size_t HnswIndex::Impl::memory_bytes() const {
  std::size_t bytes = sizeof(*this) + blocks.bytes() + slots.capacity() * sizeof(SlotInfo);
  for (const SlotInfo& info : slots) {
    bytes += info.id.capacity() + info.terms.capacity() * sizeof(TermId);
    if (info.level > 0) bytes += static_cast<std::size_t>(info.level) * (options.m + 1) * 4;
  }
  bytes += ids.size() * 64 + free_slots.capacity() * sizeof(Slot);
  return bytes + term_index.memory_bytes();
}

}  // namespace neuroplex::vec
