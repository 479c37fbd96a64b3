// The operation table's JSON codec: how mutations look in JSON, shared by every API so the
// Cap'n Proto server, the WebSocket server and neuroplexctl can never drift apart.
//
// A mutation in JSON (DESIGN.md "update"):
//   {"path": ["a", "b"], "type": "counter", "mutator": "add", "args": 5}
//   {"path": [], "type": "register", "mutator": "set", "args": {"any": "json"}}
//   {"path": ["tags"], "type": "set", "mutator": "add", "args": ["x", 1, true]}
//   {"path": ["tags"], "type": "set", "mutator": "remove", "args": ["x"]}
//   {"path": [], "type": "map", "mutator": "remove", "args": "field"}
// "path" may be omitted (= []); any other field is rejected (a typo must not pass silently).
// Types: counter, register, set, map (mvregister is reserved). Arguments:
//   counter add: an integer in the int64 range (an integral float within ±2^53, e.g. 5.0 or
//     1e3, counts: JavaScript clients have no other numbers);
//   register set: any JSON value (stored in canonical form, replication/crdt/json.h);
//   set add/remove: an array of scalars (null, boolean, number, string); [] is a no-op;
//   map remove: the field name, a string.
//
// Everything here parses untrusted input: every failure is INVALID_ARGUMENT with a message
// naming the offending part ("ops[2].args: counter add takes an integer, not a string"), and
// nothing throws. Only the shape is checked here: names, sizes and counts are the rules of
// replication::validate(), which every result still goes through before it is proposed.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "replication/crdt/mutation.h"

namespace neuroplex::api {

// One mutation from its parts; `args` is the JSON value of "args".
Result<crdt::Mutation> parse_mutation(std::vector<std::string> path, std::string_view type,
                                      std::string_view mutator, const nlohmann::json& args);
// Same, with `args` as JSON text (the Cap'n Proto form).
Result<crdt::Mutation> parse_mutation_text(std::vector<std::string> path, std::string_view type,
                                           std::string_view mutator, std::string_view args_text);
// A JSON array of mutation objects (the OPS_JSON of `neuroplexctl update`).
Result<std::vector<crdt::Mutation>> parse_mutations(const nlohmann::json& ops);
Result<std::vector<crdt::Mutation>> parse_mutations_text(std::string_view ops_text);

// Convenience forms (each one mutation at path []):
crdt::Mutation counter_add(std::int64_t by);
Result<crdt::Mutation> register_set(const nlohmann::json& value);
Result<crdt::Mutation> set_add(const nlohmann::json& members);     // a JSON array of scalars
Result<crdt::Mutation> set_remove(const nlohmann::json& members);  // a JSON array of scalars

// The JSON form of a mutation (inverse of parse_mutation): what a client sends.
nlohmann::json mutation_to_json(const crdt::Mutation& mutation);

}  // namespace neuroplex::api
