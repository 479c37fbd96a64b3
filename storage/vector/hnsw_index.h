// HnswIndex: one collection's approximate nearest-neighbour index — a hierarchical navigable
// small-world graph (Malkov & Yashunin 2016) with metadata filters, deletes and slot reuse.
//
// Concurrency: one writer at a time (add/remove/consolidate serialize on an internal mutex) and
// any number of concurrent searches, which never wait for a write except for the brief moment
// the writer grows its arrays or hands freed slots back for reuse.
//
// Determinism: node levels come from a seeded generator whose state is saved with the index, so
// the same sequence of add/remove calls builds the same graph on every replica, and an index
// loaded from its file goes on exactly as the one that saved it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/vector/distance.h"

namespace neuroplex::vec {

struct IndexOptions {
  std::uint32_t dim = 0;  // 1..kMaxDim
  Metric metric = Metric::kCosine;
  std::uint32_t m = 16;  // links per node on upper levels; level 0 keeps 2 * m
  std::uint32_t ef_construction = 200;
  std::uint32_t ef_search = 64;  // default search breadth; a search may override it
  std::uint64_t seed = 0x6e6575726f706c78;
  // Once tombstones make up this share of the occupied slots, remove() consolidates: links to
  // deleted nodes are repaired away and their slots become free for new vectors.
  double consolidate_share = 0.2;
};

inline constexpr std::uint32_t kMaxDim = 4096;

// Metadata and filters are opaque terms: the caller encodes "field=value" canonically (so equal
// values give equal bytes). A node matches a filter when it holds every term of the filter.
using Terms = std::vector<std::string>;

struct SearchParams {
  std::size_t k = 10;
  std::uint32_t ef = 0;  // 0: the index's ef_search; always at least k
  Terms filter;          // AND of terms; empty matches everything
  enum class Plan : std::uint8_t {
    kAuto,
    kExact,
    kGraph
  } plan = Plan::kAuto;  // kAuto unless testing
};

struct Hit {
  std::string id;
  float distance = 0;  // internal distance, smaller is closer (see distance.h)
};

struct SearchStats {
  bool exact = false;          // the filter's candidates were scanned instead of the graph
  std::size_t candidates = 0;  // the filter's candidate estimate (live count when no filter)
  std::size_t distances = 0;   // distance computations
};

struct IndexStats {
  std::size_t live = 0;        // searchable vectors
  std::size_t tombstones = 0;  // deleted, still routing, not yet consolidated
  std::size_t free_slots = 0;  // consolidated, waiting for reuse
  std::size_t slots = 0;       // live + tombstones + free
  std::size_t memory_bytes = 0;
  std::size_t consolidations = 0;
  int max_level = -1;
};

class HnswIndex {
 public:
  // Fails with INVALID_ARGUMENT on a dim outside 1..kMaxDim or m outside 2..64.
  static Result<std::unique_ptr<HnswIndex>> create(const IndexOptions& options);
  // Reads an index written by save(); corrupt or truncated files fail with a clear error.
  static Result<std::unique_ptr<HnswIndex>> load(const std::string& path);

  ~HnswIndex();
  HnswIndex(const HnswIndex&) = delete;
  HnswIndex& operator=(const HnswIndex&) = delete;

  // Inserts `vector` (dim floats, all finite) under `id`, replacing any vector stored under it.
  // A cosine vector of zero norm is INVALID_ARGUMENT. Nothing changes on error.
  Status add(std::string_view id, std::span<const float> vector, const Terms& metadata);
  // Removes `id`; false when absent.
  bool remove(std::string_view id);
  bool contains(std::string_view id) const;

  // The k closest live vectors that match params.filter, closest first.
  Result<std::vector<Hit>> search(std::span<const float> query, const SearchParams& params,
                                  SearchStats* stats = nullptr) const;

  // Writes the whole index to `path` durably (temp file, fsync, rename).
  Status save(const std::string& path) const;

  // Repairs links to tombstones and frees their slots now (remove() does it at the threshold).
  void consolidate();

  const IndexOptions& options() const;
  IndexStats stats() const;
  std::size_t size() const;  // live vectors
  // Every live id, in no particular order.
  std::vector<std::string> ids() const;

  struct Impl;  // internal to storage/vector/ (hnsw_graph.h)

 private:
  explicit HnswIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace neuroplex::vec
