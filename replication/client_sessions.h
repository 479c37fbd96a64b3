// ClientSessions: the state machine's memory of which client writes it has applied, so that a
// retried write takes effect once (client sessions, Raft dissertation §6.3).
//
// An operation with RequestId{client != 0, seq, acked_below} (replication/operation.h) is looked
// up in its client's session before it is applied:
//   - seq remembered: a duplicate. It is not applied again; its answer is the remembered outcome,
//     the original Status (code and message) and the index of the entry that applied it.
//   - seq below the session's floor: forgotten (the client acknowledged it, or the cap dropped
//     it), so whether it was applied is unknown. It is never applied again; its answer is
//     UNAVAILABLE "request expired ..." with index 0.
//   - otherwise it is applied, and its outcome (this entry's index, its Status) is remembered.
// Every such operation then raises the floor to acked_below (it never falls), forgetting the
// seqs below it, and marks the session used at the entry's leader timestamp.
// Request ids are checked by validate_request_id(); an invalid one fails its operation with
// INVALID_ARGUMENT before the session is touched.
//
// Bounds, all in SessionLimits (equal on every node, like Limits):
//   - at most max_remembered seqs per client: past it the smallest is dropped and the floor rises
//     above it;
//   - a session unused for idle_expiry_ms, by entry timestamps (never the local clock), is gone:
//     that client's next write starts a fresh session. So a client must give up retrying a write
//     well before idle_expiry_ms; a retry after that may apply twice. Expired sessions are deleted
//     at the start of each entry, oldest first (the expiry index), at most expire_per_entry plus
//     one per operation with a request id, so deletion keeps up with creation.
//
// Persistence: session records live in the meta column (replication/state_layout.h,
// docs/state-store.md) and go into the entry's one WriteBatch with its documents and applied
// index, so a restart or a snapshot (a checkpoint of the whole store) keeps them. The store is the
// truth; recently used sessions are cached, coherent because the state machine is the only writer.
// Deterministic: outcomes and written bytes depend only on the stored state and the entry.
//
// Lifecycle per entry: begin_entry, then find/remember/acknowledge per operation, then flush into
// the entry's WriteBatch and commit once it is written — or abort when anything failed.
// Thread safety: single-threaded, owned by the StateMachine (the core thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>

#include "base/status.h"
#include "replication/operation.h"
#include "storage/state/kv_store.h"

namespace neuroplex::replication {

struct SessionLimits {
  // Remembered outcomes per client: bounds a session's record. A client pipelining more writes
  // than this without acknowledging any gets "request expired" for its oldest retries.
  std::size_t max_remembered = 4096;
  // A session not used by any entry for this long (leader timestamps) is deleted. Must be > 0.
  std::uint64_t idle_expiry_ms = 60 * 60 * 1000;
  // Expired sessions deleted per entry, besides one per operation with a request id.
  std::size_t expire_per_entry = 8;
  // Memory only (never changes results): cached sessions plus their remembered outcomes.
  std::size_t cache_entries = std::size_t{1} << 20;
};

// How an operation ended: its Status and the index of the entry where it took effect (0 when
// unknown: an expired request).
struct Outcome {
  std::uint64_t index = 0;
  Status status;
};

// client 0 is always valid (not deduplicated); else seq >= 1 and acked_below <= seq.
Status validate_request_id(const RequestId& id);

class ClientSessions {
 public:
  // `store` must outlive this; limits as in StateMachineOptions.
  ClientSessions(const storage::KvStore& store, const SessionLimits& limits);

  // Starts entry `index` with leader timestamp `timestamp_ms`, deleting expired sessions.
  // `ops_with_ids` counts the entry's operations with a nonzero client. A non-OK Status is a
  // store read failure or corrupt session record: the entry cannot be applied (call abort()).
  Status begin_entry(std::uint64_t index, std::uint64_t timestamp_ms, std::size_t ops_with_ids);

  // The remembered outcome of `id` (valid, client != 0) when it must not be applied; nullopt when
  // it is new — apply it, then remember() it. Either way call acknowledge(id) after. Marks the
  // session used. Fails only as begin_entry does.
  Result<std::optional<Outcome>> find(const RequestId& id);
  // Remembers the outcome of the new write `id` just applied in this entry.
  void remember(const RequestId& id, const Status& status);
  // Raises the session's floor to id.acked_below.
  void acknowledge(const RequestId& id);

  // Adds the changed session records to `batch`, in key order.
  void flush(storage::WriteBatch& batch);
  // The batch from flush() was written.
  void commit();
  // The entry was abandoned (or its write failed): drops all cached state; the store is the truth.
  void abort();

  std::size_t cached_sessions() const { return cache_.size(); }

 private:
  struct Session {
    std::uint64_t floor = 0;  // every seq below it is forgotten
    std::uint64_t last_used_ms = 0;
    std::map<std::uint64_t, Outcome> remembered;  // invariant: every seq >= floor
  };
  // A session this entry touches (its Session is changed in place in cache_).
  struct Working {
    Session* session = nullptr;
    bool stored = false;                    // the store held the session when the entry began
    std::uint64_t stored_last_used_ms = 0;  // ... with this last use (its expiry index key)
    bool live = false;                      // the session exists after the entry
    std::set<std::uint64_t> erases;         // stored outcomes to delete
    std::set<std::uint64_t> puts;           // outcomes to write (after the erases); ⊆ remembered
  };

  bool expired(std::uint64_t last_used_ms) const;
  Status expire_sessions(std::size_t budget);
  Result<std::optional<Session>> read_session(std::uint64_t client) const;
  Result<Working*> load(std::uint64_t client);
  void forget_all(Working& working);
  void drop(Working& working, std::map<std::uint64_t, Outcome>::iterator it);

  const storage::KvStore& store_;
  SessionLimits limits_;
  // By client. Invariant: equals the stored records between entries.
  std::map<std::uint64_t, Session> cache_;
  std::size_t cached_outcomes_ = 0;           // remembered outcomes held in cache_
  std::map<std::uint64_t, Working> working_;  // by client; empty between entries
  // A lower bound of every stored session's last_used_ms (UINT64_MAX: there are none); nullopt
  // when unknown. Lets an entry skip the expiry scan, and start it past old tombstones.
  std::optional<std::uint64_t> oldest_last_used_ms_;
  std::uint64_t index_ = 0;
  std::uint64_t now_ms_ = 0;
};

}  // namespace neuroplex::replication
