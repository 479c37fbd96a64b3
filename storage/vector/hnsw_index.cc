// HnswIndex's public face: argument checks, writes under the writer mutex, and the choice
// between scanning a filter's candidates and walking the graph.
#include "storage/vector/hnsw_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "storage/vector/search_level.h"

namespace neuroplex::vec {

namespace {

Status check_options(const IndexOptions& o) {
  if (o.dim < 1 || o.dim > kMaxDim) {
    return invalid_argument("dim must be 1.." + std::to_string(kMaxDim) + ", got " +
                            std::to_string(o.dim));
  }
  if (o.m < 2 || o.m > 64) return invalid_argument("m must be 2..64");
  if (o.ef_construction < 1 || o.ef_search < 1) return invalid_argument("ef must be at least 1");
  if (!(o.consolidate_share > 0 && o.consolidate_share <= 1)) {
    return invalid_argument("consolidate_share must be in (0, 1]");
  }
  return Status::ok();
}

// The padded, normalized-for-cosine copy of a caller's vector, or why it is unusable.
Result<std::vector<float>> prepare(const IndexOptions& o, std::span<const float> in,
                                   std::string_view what) {
  if (in.size() != o.dim) {
    return invalid_argument(std::string(what) + " has " + std::to_string(in.size()) +
                            " components; the collection's dim is " + std::to_string(o.dim));
  }
  std::vector<float> out(padded_dim(o.dim), 0.0f);
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!std::isfinite(in[i])) {
      return invalid_argument(std::string(what) + " component " + std::to_string(i) +
                              " is not a finite number");
    }
    out[i] = in[i];
  }
  if (o.metric == Metric::kCosine && !normalize(std::span(out).first(o.dim))) {
    return invalid_argument(std::string(what) + " has zero length; cosine needs a direction");
  }
  return out;
}

// Measured on Fashion-MNIST (bench/vector_bench): a walk computes about 8·ef distances, and
// 8·ef / selectivity under a filter; a scan computes one per candidate, at about half the cost
// of a walk's (sequential rows, no heap). So with s = candidates / live, scan when
// 0.5 · candidates <= 8 · ef / s, i.e. candidates² <= 16 · ef · live.
bool scan_is_cheaper(std::size_t candidates, std::size_t live, std::size_t ef) {
  const double c = static_cast<double>(candidates);
  return c * c <= 16.0 * static_cast<double>(ef) * static_cast<double>(live);
}

}  // namespace

HnswIndex::HnswIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HnswIndex::~HnswIndex() = default;

Result<std::unique_ptr<HnswIndex>> HnswIndex::create(const IndexOptions& options) {
  if (Status s = check_options(options); !s.is_ok()) return s;
  return std::unique_ptr<HnswIndex>(new HnswIndex(std::make_unique<Impl>(options)));
}

const IndexOptions& HnswIndex::options() const { return impl_->options; }
std::size_t HnswIndex::size() const { return impl_->live.load(std::memory_order_relaxed); }

std::vector<std::string> HnswIndex::ids() const {
  std::lock_guard lock(impl_->writer_mutex);
  std::vector<std::string> out;
  out.reserve(impl_->ids.size());
  for (const auto& [id, slot] : impl_->ids) out.push_back(id);
  return out;
}

bool HnswIndex::contains(std::string_view id) const {
  std::lock_guard lock(impl_->writer_mutex);
  return impl_->ids.contains(std::string(id));
}

Status HnswIndex::add(std::string_view id, std::span<const float> vector, const Terms& metadata) {
  Result<std::vector<float>> prepared = prepare(impl_->options, vector, "vector");
  if (!prepared.is_ok()) return prepared.status();
  Impl& g = *impl_;
  std::lock_guard lock(g.writer_mutex);
  if (auto it = g.ids.find(std::string(id)); it != g.ids.end()) g.remove_locked(it->second);
  const Slot slot = g.take_slot();
  std::memcpy(g.mutable_vector(slot), prepared.value().data(), g.padded * sizeof(float));
  SlotInfo& info = g.slots[slot];
  info.id = std::string(id);
  info.level = static_cast<int>(g.random_level());
  const std::size_t upper_words = static_cast<std::size_t>(info.level) * (g.options.m + 1);
  info.upper = upper_words ? std::make_unique<std::uint32_t[]>(upper_words) : nullptr;
  g.write_links(slot, 0, nullptr, 0);
  {
    std::unique_lock terms(g.terms_mutex);
    info.terms = g.term_index.intern(metadata);
    g.term_index.add(slot, info.terms);
    g.set_state(slot, kLive);  // visible to scans from here; to walks once linked below
  }
  g.insert(slot);
  g.ids.emplace(info.id, slot);
  g.live.fetch_add(1, std::memory_order_relaxed);
  return Status::ok();
}

void HnswIndex::Impl::remove_locked(Slot slot) {
  {
    std::unique_lock lock(terms_mutex);
    term_index.remove(slot);
    set_state(slot, kDeleted);
  }
  ids.erase(slots[slot].id);
  live.fetch_sub(1, std::memory_order_relaxed);
  ++tombstones;
}

bool HnswIndex::remove(std::string_view id) {
  Impl& g = *impl_;
  std::lock_guard lock(g.writer_mutex);
  auto it = g.ids.find(std::string(id));
  if (it == g.ids.end()) return false;
  g.remove_locked(it->second);
  const double occupied = static_cast<double>(g.live.load() + g.tombstones);
  if (static_cast<double>(g.tombstones) >= g.options.consolidate_share * occupied) {
    g.consolidate_locked();
  }
  return true;
}

void HnswIndex::consolidate() {
  std::lock_guard lock(impl_->writer_mutex);
  impl_->consolidate_locked();
}

std::vector<Candidate> HnswIndex::Impl::search_scan(const float* query, std::size_t k,
                                                    const std::vector<Slot>* candidates,
                                                    const CompiledFilter& filter,
                                                    SearchStats& stats) const {
  ResultHeap best;
  auto consider = [&](Slot s) {
    if (state(s) != kLive || !matches(s, filter)) return;
    const Candidate c{distance_to(query, s), s};
    ++stats.distances;
    if (best.size() < k) {
      best.push(c);
    } else if (c < best.top()) {
      best.pop();
      best.push(c);
    }
  };
  if (candidates != nullptr) {
    for (Slot s : *candidates) consider(s);
  } else {
    for (Slot s = 0; s < blocks.capacity(); ++s) consider(s);
  }
  std::vector<Candidate> out;
  for (; !best.empty(); best.pop()) out.push_back(best.top());
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<Candidate> HnswIndex::Impl::search_graph(const float* query, std::size_t k,
                                                     std::size_t ef, const CompiledFilter& filter,
                                                     SearchStats& stats) const {
  if (entry.load(std::memory_order_acquire) == kNoSlot) return {};
  const Candidate start = descend(query, 0, &stats.distances);
  auto accept = [&](Slot s) {
    return state(s) == kLive && (filter.terms.empty() || matches(s, filter));
  };
  ResultHeap found = search_level(query, start, ef, 0, accept, &stats.distances);
  while (found.size() > k) found.pop();
  std::vector<Candidate> out;
  for (; !found.empty(); found.pop()) out.push_back(found.top());
  std::reverse(out.begin(), out.end());
  return out;
}

Result<std::vector<Hit>> HnswIndex::search(std::span<const float> query, const SearchParams& params,
                                           SearchStats* stats) const {
  Result<std::vector<float>> prepared = prepare(impl_->options, query, "query vector");
  if (!prepared.is_ok()) return prepared.status();
  const Impl& g = *impl_;
  SearchStats local;
  SearchStats& st = stats ? *stats : local;
  st = SearchStats{};
  if (params.k == 0) return std::vector<Hit>{};
  const std::size_t ef =
      std::max<std::size_t>(params.ef ? params.ef : g.options.ef_search, params.k);
  const float* q = prepared.value().data();

  std::shared_lock grow(g.grow_mutex);
  const std::size_t live = g.live.load(std::memory_order_relaxed);
  std::vector<Candidate> found;
  {
    std::shared_lock terms(g.terms_mutex);
    CompiledFilter filter;
    const std::vector<Slot>* smallest = nullptr;
    if (!params.filter.empty()) {
      auto ids = g.term_index.lookup(params.filter);
      if (!ids) return std::vector<Hit>{};
      filter.terms = std::move(*ids);
      for (TermId t : filter.terms) {
        const auto& posting = g.term_index.posting(t);
        if (smallest == nullptr || posting.size() < smallest->size()) smallest = &posting;
      }
    }
    st.candidates = smallest ? smallest->size() : live;
    using Plan = SearchParams::Plan;
    const bool scan =
        params.plan == Plan::kExact || (params.plan == Plan::kAuto && smallest != nullptr &&
                                        scan_is_cheaper(smallest->size(), live, ef));
    if (scan) {
      st.exact = true;
      found = g.search_scan(q, params.k, smallest, filter, st);
    } else {
      terms.unlock();  // the walk reads only per-slot terms, fixed while a slot is reachable
      found = g.search_graph(q, params.k, ef, filter, st);
      // A walk that comes back short under a filter missed matches it could not reach.
      if (found.size() < std::min(params.k, st.candidates) && smallest != nullptr &&
          params.plan == Plan::kAuto) {
        terms.lock();
        st.exact = true;
        found = g.search_scan(q, params.k, smallest, filter, st);
      }
    }
  }
  std::vector<Hit> hits;
  hits.reserve(found.size());
  for (const Candidate& c : found) hits.push_back({g.slots[c.slot].id, c.distance});
  return hits;
}

IndexStats HnswIndex::stats() const {
  const Impl& g = *impl_;
  std::lock_guard lock(g.writer_mutex);
  IndexStats s;
  s.live = g.live.load();
  s.tombstones = g.tombstones;
  s.free_slots = g.free_slots.size();
  s.slots = g.used;
  s.memory_bytes = g.memory_bytes();
  s.consolidations = g.consolidations;
  s.max_level = g.max_level.load();
  return s;
}

}  // namespace neuroplex::vec
