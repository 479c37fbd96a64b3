// Dot stores: the content half of a causal CRDT (the other half is the CausalContext).
//
// Following Almeida, Shoker and Baquero, "Delta State Replicated Data Types" (2018), every type
// is a dot store joined under two contexts:
//   - CounterStore:  DotFun<int64>  — each replica's running contribution, under its latest dot.
//   - RegisterStore: DotFun<(timestamp, JSON)> — LWW and multi-value registers alike: concurrent
//                    writes coexist; the read view picks (LWW) or lists (MV) them.
//   - SetStore:      DotMap<scalar, DotSet> — add-wins observed-remove set; an element is present
//                    while it has a dot.
//   - MapStore:      DotMap<(name, type), Field> — observed-remove map of nested CRDTs that share
//                    the enclosing document's context.
// A field is keyed by name *and* type: two replicas that concurrently create field "x" as a
// counter and as a set keep both; the read view shows one by a fixed precedence (CrdtType order)
// and `types` reports the conflict. Nothing is silently dropped.
//
// Invariants of a store under its context C (checked by Document::check_invariants):
//   - every dot in the store is in C, and each dot occurs at most once in the whole document;
//   - DotSets and DotFun vectors are sorted by dot and duplicate-free;
//   - no empty child: a set element has >= 1 dot, a map field is non-empty;
//   - a Field's variant alternative matches its key's type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "replication/crdt/causal_context.h"
#include "replication/crdt/dot.h"
#include "replication/crdt/flat_map.h"
#include "replication/crdt/hlc.h"

namespace neuroplex::crdt {

// The order of the enumerators is the read-view precedence when one field name holds several
// types after a concurrent creation: the lowest value is shown.
enum class CrdtType : unsigned char {
  kMap = 1,
  kSet = 2,
  kCounter = 3,
  kRegister = 4,
  kMvRegister = 5,
};

std::string_view type_name(CrdtType type);  // "map", "set", "counter", "register", "mvregister"

struct CounterEntry {
  Dot dot;
  std::int64_t value = 0;  // this replica's whole contribution so far
  friend bool operator==(const CounterEntry&, const CounterEntry&) = default;
};
using CounterStore = std::vector<CounterEntry>;  // sorted by dot

struct RegisterEntry {
  Dot dot;
  Timestamp timestamp = 0;
  std::string value;  // canonical JSON text (replication/crdt/json.h)
  friend bool operator==(const RegisterEntry&, const RegisterEntry&) = default;
};
using RegisterStore = std::vector<RegisterEntry>;  // sorted by dot

using SetStore = FlatMap<std::string, DotSet>;  // canonical scalar -> dots

struct FieldKey {
  std::string name;
  CrdtType type = CrdtType::kMap;
  friend auto operator<=>(const FieldKey&, const FieldKey&) = default;
};

struct Field;
// A vector-backed map, so the incomplete Field is allowed (std::vector permits it).
using MapStore = FlatMap<FieldKey, Field>;

struct Field {
  // Alternative index by type: map -> MapStore, set -> SetStore, counter -> CounterStore,
  // register and mvregister -> RegisterStore.
  std::variant<MapStore, SetStore, CounterStore, RegisterStore> store;

  static Field empty_of(CrdtType type);
  friend bool operator==(const Field&, const Field&) = default;
};

// True when the field holds no live content (and so must not exist in a map).
bool is_empty(const Field& field);

// Joins `b`, known under context `cb`, into `a`, known under `ca`:
//   a := (a ∩ b) ∪ (a \ cb) ∪ (b \ ca)   — per dot, recursively for maps.
// Contexts are not modified; the caller joins them afterwards. Empty children are pruned.
void join_into(DotSet& a, const CausalContext& ca, const DotSet& b, const CausalContext& cb);
void join_into(CounterStore& a, const CausalContext& ca, const CounterStore& b,
               const CausalContext& cb);
void join_into(RegisterStore& a, const CausalContext& ca, const RegisterStore& b,
               const CausalContext& cb);
void join_into(SetStore& a, const CausalContext& ca, const SetStore& b, const CausalContext& cb);
void join_into(MapStore& a, const CausalContext& ca, const MapStore& b, const CausalContext& cb);

// Appends every dot in `field` (recursively) to `out`, unsorted.
void collect_dots(const Field& field, std::vector<Dot>& out);

}  // namespace neuroplex::crdt
