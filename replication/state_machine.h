// StateMachine: applies committed Raft entries to the CRDT store.
//
// A committed entry carries a Batch (replication/operation.h). Applying it:
//   1. runs every operation in order — each one validated (replication/validation.h), then
//      applied to its document; a failing operation leaves its document as it was and the rest
//      of the batch still applies. An operation with a request id is applied at most once: a
//      retry gets the first outcome back instead (replication/client_sessions.h);
//   2. writes every changed document, the client sessions, the applied index and the hybrid
//      clock in ONE KvStore batch, so after a crash the store is exactly the state at its
//      recorded applied index.
// Deterministic: the outcome depends only on the stored state, the entry, and the options (which
// must be equal on every node); CRDT timestamps derive from the entry's leader timestamp. The
// same entries give byte-identical stores on every replica (tests/unit/replication).
//
// Thread safety: single-threaded — owned by the core thread, the single writer of the store.
// Reads from other threads go to the KvStore directly (replication/state_reader.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "replication/client_sessions.h"
#include "replication/crdt/hlc.h"
#include "replication/document_cache.h"
#include "replication/operation.h"
#include "replication/vector_state.h"
#include "storage/state/kv_store.h"

namespace neuroplex::replication {

struct StateMachineOptions {
  // This cluster's CRDT replica id (its dots are (replica_id, n)). Recorded on first open; a
  // store recorded under another id refuses to open.
  crdt::ReplicaId replica_id = 1;
  Limits limits;
  // Memory for decoded hot documents (replication/document_cache.h); 0 disables the cache.
  std::size_t cache_bytes = std::size_t{128} << 20;
  // Client sessions: how many request outcomes are remembered, and for how long.
  SessionLimits sessions;
};

// A document an entry changed, for watchers.
struct Change {
  std::string ns;
  std::string key;
  bool exists = false;  // false: the document has no live content now (deleted)
};

struct ApplyResult {
  std::vector<Status> results;  // one per operation of the batch, in order
  // One per operation: the index of the entry where it took effect — this entry's, or for a
  // duplicate the entry that first applied it (0: unknown, for an expired request).
  std::vector<std::uint64_t> indexes;
  std::vector<Change> changes;  // each changed document once, in order of first change
};

class StateMachine {
 public:
  // Loads the applied index and clock from `store`, which must outlive the state machine, and
  // the vector indexes from their files in `index_dirs` (see VectorState::open).
  static Result<std::unique_ptr<StateMachine>> open(
      storage::KvStore& store, const StateMachineOptions& options,
      const std::vector<std::string>& index_dirs = {});
  // Saves the vector indexes into `dir` as of applied_index(). The store must be durable
  // through applied_index() first (a snapshot's checkpoint, or a synced WAL at shutdown).
  Status save_vector_indexes(const std::string& dir) const {
    return vectors_->save(dir, applied_index_);
  }

  // Applies entry `index`, which must be applied_index() + 1. `batch.request_ids` must be empty
  // or one per operation. A non-OK Status means the store could not be read or written: the node
  // must stop (nothing was applied).
  Result<ApplyResult> apply(std::uint64_t index, const Batch& batch);
  // Same, from the encoded payload; a payload that does not decode fails every operation with
  // INTERNAL but still advances the applied index, identically on every replica.
  Result<ApplyResult> apply_encoded(std::uint64_t index, std::string_view payload);
  // Records entry `index` as applied for entries that carry no batch (Raft no-ops, membership).
  Status skip(std::uint64_t index);

  std::uint64_t applied_index() const { return applied_index_; }
  crdt::Timestamp clock() const { return clock_.last(); }
  crdt::ReplicaId replica_id() const { return options_.replica_id; }
  const Limits& limits() const { return options_.limits; }
  // The vector collections and their indexes, as of applied_index().
  const VectorState& vectors() const { return *vectors_; }

 private:
  StateMachine(storage::KvStore& store, const StateMachineOptions& options,
               std::uint64_t applied_index, crdt::Timestamp clock,
               std::unique_ptr<VectorState> vectors)
      : store_(store),
        options_(options),
        applied_index_(applied_index),
        clock_(clock),
        cache_(options.cache_bytes),
        sessions_(store, options.sessions),
        vectors_(std::move(vectors)) {}

  static void record_progress(storage::WriteBatch& batch, std::uint64_t index,
                              crdt::Timestamp clock);
  // Drops what the caches hold after a failure (the store is the truth) and passes `status` on.
  Status abandon(Status status);

  storage::KvStore& store_;
  StateMachineOptions options_;
  std::uint64_t applied_index_;           // invariant: equals the store's meta "applied_index"
  crdt::HybridClock clock_;               // invariant: equals the store's meta "clock"
  DocumentCache cache_;                   // invariant: every entry equals the stored record
  ClientSessions sessions_;               // invariant: its cache equals the stored session records
  std::unique_ptr<VectorState> vectors_;  // invariant: its indexes hold exactly the stored rows
};

}  // namespace neuroplex::replication
