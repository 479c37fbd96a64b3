// The operation table's write operations — what a client asks the cluster to change, and what a
// committed Raft entry carries (a Batch of them).
//
// Every API (Cap'n Proto, WebSocket, neuroplexctl) decodes its wire form into these structs and
// calls validate() (replication/validation.h) — the one place where request rules live — so the
// APIs can never drift apart. Reads (get, list, watch) take their arguments directly.
// Thread safety: value types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "replication/crdt/mutation.h"
#include "storage/vector/distance.h"

namespace neuroplex::replication {

// `update`: typed CRDT mutations on fields of one document, applied atomically (all or none).
struct UpdateOp {
  std::string ns;
  std::string key;
  std::vector<crdt::Mutation> mutations;
};

// `delete`: removes every field the cluster has seen; concurrent unseen updates survive.
struct DeleteOp {
  std::string ns;
  std::string key;
};

// `merge`: joins a delta (or full state) made by another replica — an offline client or another
// cluster — encoded as in docs/crdt-encoding.md. Untrusted: decoded with full checks.
struct MergeOp {
  std::string ns;
  std::string key;
  std::string delta;
};

// `collection.create`: a collection of vector memories (docs/vector-memories.md). Creating a
// name that exists with the same dim and metric is a no-op; with others, INVALID_ARGUMENT.
struct CollectionCreateOp {
  std::string name;
  std::uint32_t dim = 0;
  vec::Metric metric = vec::Metric::kCosine;
};

// `collection.drop`: removes a collection and every memory in it.
struct CollectionDropOp {
  std::string name;
};

// `memory.put`: stores (or replaces) one memory. The id is chosen before proposal (by the client
// or the node that took the request), never while applying, so a retried put lands on the same id.
struct MemoryPutOp {
  std::string collection;
  std::string id;
  std::vector<float> vector;
  std::string text;
  std::string metadata;           // canonical JSON object of scalars ("" = none): filterable fields
  std::uint32_t ttl_seconds = 0;  // 0: never expires
};

// `memory.delete`.
struct MemoryDeleteOp {
  std::string collection;
  std::string id;
};

// Proposed by the leader alone, when a memory's deadline has passed on its clock: applying it
// removes the memories whose deadline is at or before the entry's timestamp. No API sends it.
struct ExpireOp {};

using WriteOp = std::variant<UpdateOp, DeleteOp, MergeOp, CollectionCreateOp, CollectionDropOp,
                             MemoryPutOp, MemoryDeleteOp, ExpireOp>;

// True for the operations on documents (update, delete, merge), which carry a namespace and key.
bool is_document_op(const WriteOp& op);

// Who sent a write, so that a retried write takes effect once (client sessions, Raft
// dissertation §6.3; replication/client_sessions.h). A client process picks a random nonzero
// `client` id and numbers its writes seq = 1, 2, ...; with several writes outstanding they may
// apply out of order. `acked_below` says the client holds replies for every seq below it, so the
// cluster may forget those (0 and 1: nothing acknowledged yet). client 0 = not deduplicated.
struct RequestId {
  std::uint64_t client = 0;
  std::uint64_t seq = 0;
  std::uint64_t acked_below = 0;  // must not exceed seq: the reply to seq is still awaited

  friend bool operator==(const RequestId&, const RequestId&) = default;
};

// The payload of one Raft log entry: operations the leader batched together, stamped with the
// leader's wall clock. The state machine derives every CRDT timestamp (and session expiry) from
// `timestamp_ms`, never from its own clock, so all replicas apply an entry identically.
struct Batch {
  std::uint64_t timestamp_ms = 0;
  std::vector<WriteOp> operations;
  // Empty (no operation is deduplicated) or one per operation, in the same order.
  std::vector<RequestId> request_ids;
};

// Request limits. They change results, so every node of a cluster must use the same values.
struct Limits {
  // The largest operation payload (register value, set members, merge delta) and the largest
  // encoded document. Over it: TOO_LARGE.
  std::size_t max_value_bytes = std::size_t{1} << 20;
  std::size_t max_mutations_per_update = 1024;
  // A memory's text and its metadata (canonical JSON). Over them: INVALID_ARGUMENT.
  std::size_t max_memory_text_bytes = std::size_t{64} << 10;
  std::size_t max_metadata_bytes = std::size_t{16} << 10;
  std::size_t max_metadata_fields = 64;
  // Memories a single expire entry removes; the leader proposes another while more are due.
  std::size_t max_expired_per_entry = 1024;
};

// The namespace and key of a document operation; empty for the others.
const std::string& op_namespace(const WriteOp& op);
const std::string& op_key(const WriteOp& op);
// "update", "delete", "merge", "collection.create", ..., "expire"
std::string_view op_name(const WriteOp& op);

}  // namespace neuroplex::replication
