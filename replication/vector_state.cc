#include "replication/vector_state.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <tuple>
#include <unordered_set>

#include "replication/metadata.h"
#include "replication/state_layout.h"
#include "replication/validation.h"

namespace neuroplex::replication {
namespace {

using storage::Column;

Result<std::shared_ptr<vec::HnswIndex>> new_index(const CollectionRecord& record) {
  vec::IndexOptions options;
  options.dim = record.dim;
  options.metric = record.metric;
  options.m = record.m;
  options.ef_construction = record.ef_construction;
  options.seed = record.gen;  // every replica draws the same levels
  Result<std::unique_ptr<vec::HnswIndex>> index = vec::HnswIndex::create(options);
  if (!index.is_ok()) return index.status();
  return std::shared_ptr<vec::HnswIndex>(std::move(index).value());
}

constexpr std::string_view kIndexFilePrefix = "hnsw-";
constexpr std::string_view kIndexFileSuffix = ".idx";

std::string index_file_name(std::uint64_t gen, std::uint64_t applied) {
  return std::string(kIndexFilePrefix) + std::to_string(gen) + "-" + std::to_string(applied) +
         std::string(kIndexFileSuffix);
}

// "hnsw-<gen>-<applied>.idx" files in `dir` (anything else is ignored).
std::vector<IndexFile> list_index_files(const std::string& dir) {
  std::vector<IndexFile> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kIndexFilePrefix) || !name.ends_with(kIndexFileSuffix)) continue;
    const std::string middle = name.substr(
        kIndexFilePrefix.size(), name.size() - kIndexFilePrefix.size() - kIndexFileSuffix.size());
    unsigned long long gen = 0, applied = 0;
    char tail = 0;
    if (std::sscanf(middle.c_str(), "%llu-%llu%c", &gen, &applied, &tail) == 2) {
      files.push_back({dir, name, gen, applied});
    }
  }
  return files;
}

Result<std::uint64_t> meta_u64(const storage::KvStore& store, std::string_view name,
                               std::uint64_t absent) {
  Result<std::optional<std::string>> bytes = store.get(Column::kMeta, name);
  if (!bytes.is_ok()) return bytes.status();
  if (!bytes->has_value()) return absent;
  return decode_u64(**bytes);
}

bool zero_norm(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; });
}

}  // namespace

vec::Terms memory_terms(const MemoryRecord& record) { return metadata_terms(record.metadata); }

Result<std::unique_ptr<VectorState>> VectorState::open(const storage::KvStore& store,
                                                       std::uint64_t applied_index,
                                                       const std::vector<std::string>& index_dirs) {
  std::unique_ptr<VectorState> state(new VectorState(store));
  Result<std::uint64_t> next_gen = meta_u64(store, kMetaNextGen, 1);
  Result<std::uint64_t> now = meta_u64(store, kMetaVectorNow, 0);
  if (!next_gen.is_ok()) return next_gen.status();
  if (!now.is_ok()) return now.status();
  state->next_gen_ = *next_gen;
  state->now_ms_ = *now;
  std::vector<std::pair<std::string, CollectionRecord>> found;
  Status bad;
  NPX_RETURN_IF_ERROR(store.scan(Column::kVec, kCollectionPrefix, "c0",  // '0' follows '/'
                                 [&](std::string_view key, std::string_view value) {
                                   Result<CollectionRecord> r = decode_collection(value);
                                   if (!r.is_ok()) {
                                     bad = r.status();
                                     return false;
                                   }
                                   found.emplace_back(key.substr(kCollectionPrefix.size()), *r);
                                   return true;
                                 }));
  NPX_RETURN_IF_ERROR(bad);
  std::vector<IndexFile> files;
  for (const std::string& dir : index_dirs) {
    for (IndexFile& file : list_index_files(dir)) files.push_back(std::move(file));
  }
  for (auto& [name, record] : found) {
    Result<std::shared_ptr<vec::HnswIndex>> index =
        state->restore_index(record, applied_index, files);
    if (!index.is_ok()) return index.status();
    state->collections_.emplace(name, Collection{name, record, std::move(index).value()});
  }
  NPX_RETURN_IF_ERROR(state->refresh_next_deadline());
  return state;
}

Result<std::shared_ptr<vec::HnswIndex>> VectorState::restore_index(
    const CollectionRecord& record, std::uint64_t applied_index,
    const std::vector<IndexFile>& files) {
  // The newest file not ahead of the store (a store that lost its last writes to a power cut
  // can be behind a file saved before the cut; such a file knows changes the rows do not).
  const IndexFile* best = nullptr;
  for (const IndexFile& file : files) {
    if (file.gen == record.gen && file.applied <= applied_index &&
        (best == nullptr || file.applied > best->applied)) {
      best = &file;
    }
  }
  if (best != nullptr) {
    Result<std::unique_ptr<vec::HnswIndex>> loaded =
        vec::HnswIndex::load(best->dir + "/" + best->name);
    if (loaded.is_ok() && (*loaded)->options().dim == record.dim &&
        (*loaded)->options().metric == record.metric) {
      std::shared_ptr<vec::HnswIndex> index(std::move(loaded).value());
      if (best->applied < applied_index)
        NPX_RETURN_IF_ERROR(catch_up(*index, record, best->applied));
      ++report_.loaded;
      if (best->applied < applied_index) ++report_.caught_up;
      return index;
    }
    std::fprintf(stderr, "neuroplexd: vector index file %s unusable (%s); rebuilding from rows\n",
                 best->name.c_str(),
                 loaded.is_ok() ? "wrong shape" : loaded.status().to_string().c_str());
  }
  Result<std::shared_ptr<vec::HnswIndex>> index = new_index(record);
  if (!index.is_ok()) return index.status();
  NPX_RETURN_IF_ERROR(catch_up(**index, record, 0));
  ++report_.rebuilt;
  return index;
}

// Brings an index saved at entry `saved` up to the rows: memories written after it are (re)added
// in the order they were written, and memories gone since are removed. An index saved at 0 (a
// new one) gets every row.
Status VectorState::catch_up(vec::HnswIndex& index, const CollectionRecord& record,
                             std::uint64_t saved) {
  struct Changed {
    std::uint64_t put_index;
    std::string id;
    MemoryRecord memory;
    std::vector<float> vector;
  };
  std::vector<Changed> changed;
  std::unordered_set<std::string> present;
  Status bad;
  const std::string prefix = memory_prefix(record.gen);
  NPX_RETURN_IF_ERROR(
      store_.scan(Column::kVec, prefix, memory_prefix(record.gen + 1),
                  [&](std::string_view key, std::string_view value) {
                    std::string id(key.substr(prefix.size()));
                    Result<std::uint64_t> put_index = memory_put_index(value);
                    if (!put_index.is_ok()) {
                      bad = put_index.status();
                      return false;
                    }
                    if (*put_index > saved) {
                      Result<MemoryRecord> memory = decode_memory(value);
                      if (!memory.is_ok()) {
                        bad = memory.status();
                        return false;
                      }
                      changed.push_back({*put_index, id, std::move(memory).value(), {}});
                    }
                    if (saved != 0) present.insert(std::move(id));
                    return true;
                  }));
  NPX_RETURN_IF_ERROR(bad);
  if (saved != 0) {
    for (const std::string& id : index.ids()) {
      if (!present.contains(id)) index.remove(id);
    }
  }
  std::sort(changed.begin(), changed.end(), [](const Changed& a, const Changed& b) {
    return a.put_index != b.put_index ? a.put_index < b.put_index : a.id < b.id;
  });
  for (const Changed& c : changed) {
    Result<std::optional<std::string>> floats =
        store_.get(Column::kVec, vector_key(record.gen, c.id));
    if (!floats.is_ok()) return floats.status();
    if (!floats->has_value()) return internal_error("memory '" + c.id + "' lost its vector");
    Result<std::vector<float>> vector = decode_vector(**floats);
    if (!vector.is_ok()) return vector.status();
    NPX_RETURN_IF_ERROR(index.add(c.id, *vector, memory_terms(c.memory)));
  }
  return Status::ok();
}

Status VectorState::save(const std::string& dir, std::uint64_t applied_index) const {
  std::set<std::string> keep;
  for (const auto& [name, c] : collections_) {
    const std::string file = index_file_name(c.record.gen, applied_index);
    NPX_RETURN_IF_ERROR(c.index->save(dir + "/" + file));
    keep.insert(file);
  }
  // Older saves and dropped collections: their files only mislead a later open.
  for (const IndexFile& file : list_index_files(dir)) {
    if (!keep.contains(file.name)) std::remove((dir + "/" + file.name).c_str());
  }
  return Status::ok();
}

const Collection* VectorState::find(std::string_view name) const {
  auto it = collections_.find(name);
  return it == collections_.end() ? nullptr : &it->second;
}

Status VectorState::refresh_next_deadline() {
  next_deadline_ms_.reset();
  return store_.scan(Column::kTtl, "", "", [&](std::string_view key, std::string_view) {
    std::uint64_t deadline = 0, gen = 0;
    std::string_view id;
    if (parse_ttl_key(key, deadline, gen, id)) next_deadline_ms_ = deadline;
    return false;  // the first key is the soonest
  });
}

VectorApplier::VectorApplier(VectorState& state, const Limits& limits, std::uint64_t index,
                             std::uint64_t timestamp_ms)
    : state_(state),
      limits_(limits),
      index_(index),
      now_ms_(std::max(state.now_ms_, timestamp_ms)),
      next_gen_(state.next_gen_) {}

std::optional<CollectionRecord> VectorApplier::collection(std::string_view name) const {
  if (auto it = collections_.find(name); it != collections_.end()) return it->second;
  if (const Collection* c = state_.find(name)) return c->record;
  return std::nullopt;
}

Result<std::optional<std::uint64_t>> VectorApplier::deadline_of(std::uint64_t gen,
                                                                const std::string& id) {
  if (auto it = memories_.find({gen, id}); it != memories_.end()) return it->second;
  Result<std::optional<std::string>> row = state_.store_.get(Column::kVec, memory_key(gen, id));
  if (!row.is_ok()) return row.status();
  if (!row->has_value()) return std::optional<std::uint64_t>();
  Result<std::uint64_t> deadline = memory_deadline(**row);
  if (!deadline.is_ok()) return deadline.status();
  return std::optional<std::uint64_t>(*deadline);
}

Status VectorApplier::apply(const WriteOp& op, Status& fatal) {
  NPX_RETURN_IF_ERROR(validate(op, limits_));
  if (const auto* c = std::get_if<CollectionCreateOp>(&op)) return create(*c);
  if (const auto* d = std::get_if<CollectionDropOp>(&op)) return drop(*d);
  if (const auto* p = std::get_if<MemoryPutOp>(&op)) return put(*p, fatal);
  if (const auto* r = std::get_if<MemoryDeleteOp>(&op)) return remove(*r, fatal);
  return expire(fatal);
}

Status VectorApplier::create(const CollectionCreateOp& op) {
  if (std::optional<CollectionRecord> existing = collection(op.name)) {
    if (existing->dim == op.dim && existing->metric == op.metric) return Status::ok();
    return invalid_argument("collection '" + op.name + "' exists with dim " +
                            std::to_string(existing->dim) + " and metric " +
                            std::string(vec::metric_name(existing->metric)));
  }
  CollectionRecord record{.gen = next_gen_++, .dim = op.dim, .metric = op.metric};
  rows_.put(Column::kVec, collection_key(op.name), encode_collection(record));
  rows_.put(Column::kMeta, kMetaNextGen, encode_u64(next_gen_));
  collections_[op.name] = record;
  effects_.push_back([name = op.name, record](VectorState& state) -> Status {
    Result<std::shared_ptr<vec::HnswIndex>> index = new_index(record);
    if (!index.is_ok()) return index.status();
    state.collections_[name] = Collection{name, record, std::move(index).value()};
    return Status::ok();
  });
  return Status::ok();
}

Status VectorApplier::drop(const CollectionDropOp& op) {
  std::optional<CollectionRecord> existing = collection(op.name);
  if (!existing) return not_found("no collection '" + op.name + "'");
  rows_.erase(Column::kVec, collection_key(op.name));
  rows_.erase_range(Column::kVec, memory_prefix(existing->gen), memory_prefix(existing->gen + 1));
  rows_.erase_range(Column::kVec, vector_prefix(existing->gen), vector_prefix(existing->gen + 1));
  // Its ttl keys stay until the sweep reaches them and finds the gen gone.
  collections_[op.name] = std::nullopt;
  effects_.push_back([name = op.name](VectorState& state) {
    state.collections_.erase(name);
    return Status::ok();
  });
  return Status::ok();
}

Status VectorApplier::put(const MemoryPutOp& op, Status& fatal) {
  std::optional<CollectionRecord> c = collection(op.collection);
  if (!c) return not_found("no collection '" + op.collection + "'");
  if (op.vector.size() != c->dim) {
    return invalid_argument("the vector has " + std::to_string(op.vector.size()) +
                            " components; collection '" + op.collection + "' has dim " +
                            std::to_string(c->dim));
  }
  if (c->metric == vec::Metric::kCosine && zero_norm(op.vector)) {
    return invalid_argument("a zero vector has no direction; cosine cannot compare it");
  }
  Result<std::optional<std::uint64_t>> old = deadline_of(c->gen, op.id);
  if (!old.is_ok()) {
    fatal = old.status();
    return fatal;
  }
  if (old->has_value()) erase_ttl(**old, c->gen, op.id);
  const std::uint64_t deadline = op.ttl_seconds ? now_ms_ + op.ttl_seconds * 1000ull : 0;
  MemoryRecord record{index_, deadline, op.text, op.metadata};
  rows_.put(Column::kVec, memory_key(c->gen, op.id), encode_memory(record));
  rows_.put(Column::kVec, vector_key(c->gen, op.id), encode_vector(op.vector));
  if (deadline != 0) {
    rows_.put(Column::kTtl, ttl_key(deadline, c->gen, op.id), "");
    if (!soonest_added_ || deadline < *soonest_added_) soonest_added_ = deadline;
  }
  memories_[{c->gen, op.id}] = deadline;
  effects_.push_back([name = op.collection, id = op.id, vector = op.vector,
                      terms = memory_terms(record)](VectorState& state) {
    return state.collections_.at(name).index->add(id, vector, terms);
  });
  return Status::ok();
}

void VectorApplier::erase_ttl(std::uint64_t deadline, std::uint64_t gen, std::string_view id) {
  if (deadline == 0) return;
  rows_.erase(Column::kTtl, ttl_key(deadline, gen, id));
  // Only losing the soonest key can move the cached soonest deadline later.
  const std::optional<std::uint64_t>& soonest = state_.next_deadline_ms_;
  if (soonest && deadline <= *soonest) refresh_soonest_ = true;
}

void VectorApplier::erase_memory(std::uint64_t gen, const std::string& id, std::uint64_t deadline) {
  rows_.erase(Column::kVec, memory_key(gen, id));
  rows_.erase(Column::kVec, vector_key(gen, id));
  erase_ttl(deadline, gen, id);
  memories_[{gen, id}] = std::nullopt;
}

Status VectorApplier::remove(const MemoryDeleteOp& op, Status& fatal) {
  std::optional<CollectionRecord> c = collection(op.collection);
  if (!c) return not_found("no collection '" + op.collection + "'");
  Result<std::optional<std::uint64_t>> deadline = deadline_of(c->gen, op.id);
  if (!deadline.is_ok()) {
    fatal = deadline.status();
    return fatal;
  }
  if (!deadline->has_value()) {
    return not_found("no memory '" + op.id + "' in collection '" + op.collection + "'");
  }
  erase_memory(c->gen, op.id, **deadline);
  effects_.push_back([name = op.collection, id = op.id](VectorState& state) {
    state.collections_.at(name).index->remove(id);
    return Status::ok();
  });
  return Status::ok();
}

Status VectorApplier::expire(Status& fatal) {
  // Due keys in deadline order, at most max_expired_per_entry; gens map back to names.
  std::map<std::uint64_t, std::string> names;
  for (const auto& [name, c] : state_.collections_) names[c.record.gen] = name;
  for (const auto& [name, record] : collections_) {
    if (record) names[record->gen] = name;
  }
  std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> due;
  Status scanned = state_.store_.scan(Column::kTtl, "", encode_u64(now_ms_ + 1),
                                      [&](std::string_view key, std::string_view) {
                                        std::uint64_t deadline = 0, gen = 0;
                                        std::string_view id;
                                        if (parse_ttl_key(key, deadline, gen, id))
                                          due.emplace_back(deadline, gen, id);
                                        return due.size() < limits_.max_expired_per_entry;
                                      });
  if (!scanned.is_ok()) {
    fatal = scanned;
    return fatal;
  }
  for (const auto& [deadline, gen, id] : due) {
    auto name = names.find(gen);
    if (name == names.end() || !collection(name->second) || collection(name->second)->gen != gen) {
      erase_ttl(deadline, gen, id);  // its collection was dropped
      continue;
    }
    Result<std::optional<std::uint64_t>> current = deadline_of(gen, id);
    if (!current.is_ok()) {
      fatal = current.status();
      return fatal;
    }
    // Replaced earlier in this entry with another deadline: that put already moved the key.
    if (*current != std::optional<std::uint64_t>(deadline)) continue;
    erase_memory(gen, id, deadline);
    effects_.push_back([name = name->second, id](VectorState& state) {
      state.collections_.at(name).index->remove(id);
      return Status::ok();
    });
  }
  return Status::ok();
}

void VectorApplier::flush(storage::WriteBatch& batch) {
  batch.append(std::move(rows_));
  if (now_ms_ != state_.now_ms_) batch.put(Column::kMeta, kMetaVectorNow, encode_u64(now_ms_));
}

Status VectorApplier::commit() {
  for (auto& effect : effects_) {
    // The operations were checked against this state before the rows were written, so an
    // index refusing one now is a bug; the node stops rather than serve a diverged index.
    if (Status s = effect(state_); !s.is_ok()) {
      return internal_error("vector index diverged from its rows: " + s.message());
    }
  }
  state_.next_gen_ = next_gen_;
  state_.now_ms_ = now_ms_;
  if (refresh_soonest_) NPX_RETURN_IF_ERROR(state_.refresh_next_deadline());
  if (soonest_added_ &&
      (!state_.next_deadline_ms_ || *soonest_added_ < *state_.next_deadline_ms_)) {
    state_.next_deadline_ms_ = soonest_added_;
  }
  return Status::ok();
}

}  // namespace neuroplex::replication
