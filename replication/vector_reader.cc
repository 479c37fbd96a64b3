#include "replication/vector_reader.h"

#include "replication/validation.h"
#include "replication/vector_layout.h"

namespace neuroplex::replication {
namespace {

using storage::Column;

bool expired(std::uint64_t deadline_ms, std::uint64_t now_ms) {
  return deadline_ms != 0 && deadline_ms <= now_ms;
}

Status no_collection(std::string_view name) {
  return not_found("no collection '" + std::string(name) + "'");
}

}  // namespace

std::vector<CollectionInfo> list_collections(const VectorState& state) {
  std::vector<CollectionInfo> out;
  for (const auto& [name, c] : state.collections()) {
    out.push_back({name, c.record.dim, c.record.metric, c.index->size()});
  }
  return out;
}

Result<std::optional<Memory>> read_memory(const storage::KvStore& store, const VectorState& state,
                                          std::string_view collection, std::string_view id) {
  NPX_RETURN_IF_ERROR(validate_collection_name(collection));
  NPX_RETURN_IF_ERROR(validate_memory_id(id));
  const Collection* c = state.find(collection);
  if (c == nullptr) return no_collection(collection);
  Result<std::optional<std::string>> row = store.get(Column::kVec, memory_key(c->record.gen, id));
  if (!row.is_ok()) return row.status();
  if (!row->has_value()) return std::optional<Memory>();
  Result<MemoryRecord> record = decode_memory(**row);
  if (!record.is_ok()) return record.status();
  if (expired(record->deadline_ms, state.now_ms())) return std::optional<Memory>();
  Result<std::optional<std::string>> floats =
      store.get(Column::kVec, vector_key(c->record.gen, id));
  if (!floats.is_ok()) return floats.status();
  if (!floats->has_value())
    return internal_error("memory '" + std::string(id) + "' lost its vector");
  Result<std::vector<float>> vector = decode_vector(**floats);
  if (!vector.is_ok()) return vector.status();
  return std::optional<Memory>(Memory{std::string(id), std::move(vector).value(),
                                      std::move(record->text), std::move(record->metadata),
                                      record->deadline_ms});
}

Status check_search_size(std::uint64_t k, std::uint64_t ef) {
  if (k < 1 || k > kMaxSearchK)
    return invalid_argument("k must be 1.." + std::to_string(kMaxSearchK));
  if (ef > kMaxSearchEf) return invalid_argument("ef is at most " + std::to_string(kMaxSearchEf));
  return Status::ok();
}

Result<PreparedSearch> prepare_search(const VectorState& state, SearchRequest request) {
  NPX_RETURN_IF_ERROR(validate_collection_name(request.collection));
  const Collection* c = state.find(request.collection);
  if (c == nullptr) return no_collection(request.collection);
  if (request.vector.size() != c->record.dim) {
    return invalid_argument("the query vector has " + std::to_string(request.vector.size()) +
                            " components; collection '" + request.collection + "' has dim " +
                            std::to_string(c->record.dim));
  }
  NPX_RETURN_IF_ERROR(validate_vector(request.vector));
  NPX_RETURN_IF_ERROR(check_search_size(request.k, request.ef));
  PreparedSearch search;
  search.index = c->index;
  search.gen = c->record.gen;
  search.metric = c->record.metric;
  search.vector = std::move(request.vector);
  search.k = request.k;
  // Memories past their deadline stay in the index until the leader's expire entry removes
  // them; while some are due, ask the index for more so the answer still holds k live ones.
  const std::optional<std::uint64_t> due = state.next_deadline_ms();
  search.params.k = due && *due <= state.now_ms() ? 2 * request.k : request.k;
  search.params.ef = request.ef;
  search.params.filter = std::move(request.filter);
  search.now_ms = state.now_ms();
  return search;
}

Result<std::vector<vec::Hit>> run_search(const PreparedSearch& search) {
  return search.index->search(search.vector, search.params);
}

Result<std::vector<SearchHit>> resolve_hits(const storage::KvStore& store,
                                            const PreparedSearch& search,
                                            const std::vector<vec::Hit>& hits) {
  std::vector<SearchHit> out;
  for (const vec::Hit& hit : hits) {
    if (out.size() == search.k) break;
    Result<std::optional<std::string>> row =
        store.get(Column::kVec, memory_key(search.gen, hit.id));
    if (!row.is_ok()) return row.status();
    if (!row->has_value()) continue;  // deleted since the index answered
    Result<MemoryRecord> record = decode_memory(**row);
    if (!record.is_ok()) return record.status();
    if (expired(record->deadline_ms, search.now_ms)) continue;
    out.push_back({hit.id, vec::score_of(search.metric, hit.distance), std::move(record->text),
                   std::move(record->metadata)});
  }
  return out;
}

Result<std::vector<SearchHit>> search_memories(const storage::KvStore& store,
                                               const VectorState& state, SearchRequest request) {
  Result<PreparedSearch> search = prepare_search(state, std::move(request));
  if (!search.is_ok()) return search.status();
  Result<std::vector<vec::Hit>> hits = run_search(*search);
  if (!hits.is_ok()) return hits.status();
  return resolve_hits(store, *search, *hits);
}

}  // namespace neuroplex::replication
