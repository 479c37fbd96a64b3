// Document: the CRDT value stored under one key — a causal context plus a tree of typed fields.
//
// The document root is a slot like any map field (name ""), so `counter.add` on a key makes the
// whole document a counter, while `update` with path ["visits"] makes it a map with a counter
// field. Every mutator changes the document in place and returns the delta it made; the delta is
// itself a Document, and for every state s and mutation m:
//     s.apply(m) leaves s' with s' == s_before ⊔ delta.
// join() is one function for full states and deltas; it is commutative, associative and
// idempotent, so deltas may arrive late, twice, or out of order (from offline clients or other
// clusters) and replicas still converge once they have exchanged everything.
//
// Semantics worth knowing (tested in tests/unit/crdt/anomaly_test.cc):
//   - remove(field) concurrent with an update inside that field: the update survives, with only
//     the content the remover had not seen (observed-remove; an embedded counter restarts from
//     the concurrent increments only — the riak_dt #98 fix).
//   - concurrent creation of the same nested map field: both sides' contents merge (no
//     automerge-classic #4 style loss).
//   - concurrent creation of the same field with different types: both are kept; the view shows
//     the type first in CrdtType order; types() lists them all.
// Thread safety: a value type.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/status.h"
#include "replication/crdt/causal_context.h"
#include "replication/crdt/hlc.h"
#include "replication/crdt/mutation.h"
#include "replication/crdt/stores.h"

namespace neuroplex::crdt {

// The deepest field path a mutation may name (the codec nests one level per segment).
inline constexpr std::size_t kMaxPathDepth = 32;

class Document {
 public:
  Document() = default;
  Document(MapStore slots, CausalContext context)
      : slots_(std::move(slots)), context_(std::move(context)) {}

  // Applies `mutation` as `replica` with hybrid time `now`. On error nothing changed.
  // Errors: INVALID_ARGUMENT (mutator does not fit the type, bad path, counter overflow),
  // TYPE_MISMATCH (the path holds another type).
  Result<Document> apply(const Mutation& mutation, ReplicaId replica, Timestamp now);
  // The same change without building the delta — for callers that only keep the state (the
  // state machine), where the delta would be thrown away.
  Status update(const Mutation& mutation, ReplicaId replica, Timestamp now);

  // Removes all live content (the `delete` operation); the context remembers it.
  Document clear();

  // Joins another state or delta into this one.
  void join(const Document& other);

  // True when the document holds live content (a key with no content does not exist).
  bool has_content() const { return !slots_.empty(); }

  // The plain JSON view of the content; null when there is none.
  nlohmann::json view() const;
  // The type of every field, mirroring view(): "counter" for a leaf, an object for a map, and an
  // array of type names (the shown one first) where concurrent creation left several types.
  nlohmann::json types() const;

  const MapStore& slots() const { return slots_; }
  const CausalContext& context() const { return context_; }

  // A replica that holds two live entries in one location — two counter or register entries, or
  // two dots on one set element. A replica always supersedes its own earlier entry in a location,
  // and a delta's context names the entry it superseded, so this can only happen when deltas of
  // that replica were joined out of causal order (a newer delta before an older one, with the
  // delta in between missing). Joins stay correct lattice joins regardless, and a later full-state
  // exchange repairs it; until then a counter would count the older contribution twice. The
  // state machine's `merge` refuses deltas that leave such a state.
  std::optional<ReplicaId> replica_out_of_causal_order() const;

  // Asserts the invariants listed in stores.h; returns false instead when `crash` is false.
  bool check_invariants(bool crash = true) const;

  friend bool operator==(const Document&, const Document&) = default;

 private:
  Status mutate(const Mutation& mutation, ReplicaId replica, Timestamp now, Document* delta);

  MapStore slots_;  // keys have name "": one entry per type held at the root
  CausalContext context_;
};

}  // namespace neuroplex::crdt
