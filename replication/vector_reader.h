// Reads of vector memories: collection.list, memory.get and memory.search against the store and
// the VectorState of this node's applied state. Expired memories (deadline at or before the
// replicated clock, VectorState::now_ms) are hidden even before an expire entry removes them.
//
// A search runs in three steps so the expensive part can leave the core thread:
//   prepare_search   (core thread)  checks the request against the collection, takes the index
//   run_search       (any thread)   walks or scans the index (HnswIndex allows concurrent use)
//   resolve_hits     (any thread    reads the rows of the hits, drops those gone or expired
//                    that may read  since, and turns distances into scores
//                    the store)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "replication/vector_state.h"
#include "storage/state/kv_store.h"
#include "storage/vector/hnsw_index.h"

namespace neuroplex::replication {

struct CollectionInfo {
  std::string name;
  std::uint32_t dim = 0;
  vec::Metric metric = vec::Metric::kCosine;
  std::size_t count = 0;  // memories in its index (expired but not yet removed included)
};

std::vector<CollectionInfo> list_collections(const VectorState& state);

struct Memory {
  std::string id;
  std::vector<float> vector;
  std::string text;
  std::string metadata;             // canonical JSON object, or empty
  std::uint64_t expires_at_ms = 0;  // 0: never
};

// NOT_FOUND for an unknown collection; nullopt for a missing (or expired) memory.
Result<std::optional<Memory>> read_memory(const storage::KvStore& store, const VectorState& state,
                                          std::string_view collection, std::string_view id);

inline constexpr std::size_t kMaxSearchK = 1000;
inline constexpr std::uint32_t kMaxSearchEf = 10000;

// The size rules of a search: k 1..kMaxSearchK, ef at most kMaxSearchEf (0: the default).
// prepare_search applies them; an API may call it to refuse early with the same message.
Status check_search_size(std::uint64_t k, std::uint64_t ef);

struct SearchRequest {
  std::string collection;
  std::vector<float> vector;
  std::size_t k = 10;
  std::uint32_t ef = 0;             // 0: the collection's default
  std::vector<std::string> filter;  // terms (replication/metadata.h filter_terms)
};

struct PreparedSearch {
  std::shared_ptr<vec::HnswIndex> index;
  std::uint64_t gen = 0;
  vec::Metric metric = vec::Metric::kCosine;
  std::vector<float> vector;
  vec::SearchParams params;
  std::size_t k = 0;  // what the caller asked for; params.k may ask the index for more
  std::uint64_t now_ms = 0;
};

struct SearchHit {
  std::string id;
  float score = 0;  // natural order of the metric (vec::score_of)
  std::string text;
  std::string metadata;
};

// NOT_FOUND for an unknown collection; INVALID_ARGUMENT for a vector of the wrong dimension or
// with non-finite components, k outside 1..kMaxSearchK, ef over kMaxSearchEf.
Result<PreparedSearch> prepare_search(const VectorState& state, SearchRequest request);
Result<std::vector<vec::Hit>> run_search(const PreparedSearch& search);
// The hits whose rows still exist and have not expired, at most search.k, closest first.
Result<std::vector<SearchHit>> resolve_hits(const storage::KvStore& store,
                                            const PreparedSearch& search,
                                            const std::vector<vec::Hit>& hits);
// The three steps in a row, on one thread (tests, local tools).
Result<std::vector<SearchHit>> search_memories(const storage::KvStore& store,
                                               const VectorState& state, SearchRequest request);

}  // namespace neuroplex::replication
