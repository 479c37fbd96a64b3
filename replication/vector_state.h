// VectorState: the collections of vector memories and their HNSW indexes (storage/vector/),
// kept beside the store by the state machine, and VectorApplier, which applies the vector
// operations of one entry.
//
// The rows in the vec and ttl column families are the truth (replication/vector_layout.h); the
// indexes follow them. An entry's effects on the indexes are staged and run only after the
// entry's KvStore batch is written, in apply order — the same order on every replica, so every
// replica's index is the same graph (storage/vector/hnsw_index.h).
//
// Time: expiry is judged by now_ms(), the largest leader timestamp applied so far, replicated
// with the entries — never this node's clock. A memory whose deadline has passed is hidden from
// reads at once and removed by the next expire entry the leader proposes.
//
// Thread safety: owned by the core thread. An index is shared (shared_ptr) so a search running
// on another thread keeps it alive through a drop or a snapshot install; HnswIndex allows
// searches concurrent with the core thread's writes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "replication/operation.h"
#include "replication/vector_layout.h"
#include "storage/state/kv_store.h"
#include "storage/vector/hnsw_index.h"

namespace neuroplex::replication {

struct Collection {
  std::string name;
  CollectionRecord record;
  std::shared_ptr<vec::HnswIndex> index;
};

// An index file "hnsw-<gen>-<applied>.idx": collection `gen`'s index as of entry `applied`.
struct IndexFile {
  std::string dir;
  std::string name;
  std::uint64_t gen = 0;
  std::uint64_t applied = 0;
};

// How open() came by each collection's index.
struct RestoreReport {
  std::size_t loaded = 0;     // from an index file
  std::size_t caught_up = 0;  // ... older than the store, then brought up to its rows
  std::size_t rebuilt = 0;    // no usable file: built from the rows
};

class VectorState {
 public:
  // Reads the collections; each index comes from its newest file in `index_dirs` not ahead of
  // `applied_index` (the store's), brought up to the rows when older (memories written since are
  // re-added in write order, memories gone are removed), or is built from the rows when there is
  // no usable file.
  static Result<std::unique_ptr<VectorState>> open(const storage::KvStore& store,
                                                   std::uint64_t applied_index,
                                                   const std::vector<std::string>& index_dirs);
  // Writes every index to `dir` as of `applied_index` (which must be the store's applied index,
  // durable) and removes older index files there.
  Status save(const std::string& dir, std::uint64_t applied_index) const;
  const RestoreReport& restore_report() const { return report_; }

  // nullptr when there is no collection `name`.
  const Collection* find(std::string_view name) const;
  const std::map<std::string, Collection, std::less<>>& collections() const { return collections_; }
  std::uint64_t now_ms() const { return now_ms_; }
  // The soonest deadline in the ttl column family, if any memory has one (the leader proposes
  // an expire entry once its clock passes it).
  std::optional<std::uint64_t> next_deadline_ms() const { return next_deadline_ms_; }

 private:
  friend class VectorApplier;
  explicit VectorState(const storage::KvStore& store) : store_(store) {}
  Status refresh_next_deadline();
  Result<std::shared_ptr<vec::HnswIndex>> restore_index(const CollectionRecord& record,
                                                        std::uint64_t applied_index,
                                                        const std::vector<IndexFile>& files);
  Status catch_up(vec::HnswIndex& index, const CollectionRecord& record, std::uint64_t saved);

  const storage::KvStore& store_;
  std::map<std::string, Collection, std::less<>> collections_;
  std::uint64_t next_gen_ = 1;
  std::uint64_t now_ms_ = 0;
  std::optional<std::uint64_t> next_deadline_ms_;
  RestoreReport report_;
};

// The vector operations of one entry: a working view over the store (so an entry that creates
// a collection and then puts into it sees its own changes), staged rows, and staged index calls.
class VectorApplier {
 public:
  // `index`: the entry being applied (memories record it); `timestamp_ms`: its leader's clock.
  VectorApplier(VectorState& state, const Limits& limits, std::uint64_t index,
                std::uint64_t timestamp_ms);

  // The operation's Status; a store read failure goes to `fatal` instead.
  Status apply(const WriteOp& op, Status& fatal);
  // Adds the staged rows (and the clock, when it moved) to `batch`.
  void flush(storage::WriteBatch& batch);
  // Runs the staged index calls; call once the batch from flush() is written.
  Status commit();

 private:
  Status create(const CollectionCreateOp& op);
  Status drop(const CollectionDropOp& op);
  Status put(const MemoryPutOp& op, Status& fatal);
  Status remove(const MemoryDeleteOp& op, Status& fatal);
  Status expire(Status& fatal);
  // The collection as this entry sees it; nullopt when absent (or dropped earlier in it).
  std::optional<CollectionRecord> collection(std::string_view name) const;
  // The memory's deadline as this entry sees it; nullopt when absent.
  Result<std::optional<std::uint64_t>> deadline_of(std::uint64_t gen, const std::string& id);
  void erase_memory(std::uint64_t gen, const std::string& id, std::uint64_t deadline);
  void erase_ttl(std::uint64_t deadline, std::uint64_t gen, std::string_view id);

  VectorState& state_;
  const Limits& limits_;
  std::uint64_t index_;
  std::uint64_t now_ms_;
  bool refresh_soonest_ = false;  // the soonest ttl key was erased: find the next one
  std::optional<std::uint64_t> soonest_added_;
  storage::WriteBatch rows_;
  std::map<std::string, std::optional<CollectionRecord>, std::less<>> collections_;
  std::map<std::pair<std::uint64_t, std::string>, std::optional<std::uint64_t>> memories_;
  std::vector<std::function<Status(VectorState&)>> effects_;
  std::uint64_t next_gen_;
};

// The filter terms and vector of a stored memory, as the index takes them.
vec::Terms memory_terms(const MemoryRecord& record);

}  // namespace neuroplex::replication
