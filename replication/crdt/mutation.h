// Mutation: one typed CRDT operation on one field of a document — the unit an `update` carries.
//
// `path` names the field from the document root: [] is the root itself, ["a", "b"] is field "b"
// of the map in field "a". Every segment but the last is a map (created on first write). For
// MapRemove the path names the map and the mutator names the field to remove from it.
// Argument values arrive already in canonical JSON text (replication/crdt/json.h).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "replication/crdt/stores.h"

namespace neuroplex::crdt {

struct CounterAdd {
  std::int64_t amount = 0;
};
struct RegisterSet {
  std::string value;  // canonical JSON
};
struct SetAdd {
  std::vector<std::string> members;  // canonical JSON scalars
};
struct SetRemove {
  std::vector<std::string> members;  // canonical JSON scalars
};
struct MapRemove {
  std::string field;
};

using Mutator = std::variant<CounterAdd, RegisterSet, SetAdd, SetRemove, MapRemove>;

struct Mutation {
  std::vector<std::string> path;
  CrdtType type = CrdtType::kMap;
  Mutator mutator;
};

// The mutator's name as the wire spells it: "add", "set", "remove".
std::string_view mutator_name(const Mutator& mutator);

}  // namespace neuroplex::crdt
