// A crdt::Mutation in its wire form (api/neuroplex.capnp Mutation: path, type, mutator, args as
// JSON text), made through the operation table's JSON codec (api/op_json.h) so the client — and
// a follower forwarding a web write to its leader — send exactly what every server front end
// parses.
//
// Thread safety: value types and stateless functions.
#pragma once

#include <string>
#include <vector>

#include "api/neuroplex.capnp.h"
#include "replication/crdt/mutation.h"

namespace neuroplex::api {

struct WireMutation {
  std::vector<std::string> path;
  std::string type;
  std::string mutator;
  std::string args;  // JSON text
};

WireMutation to_wire_mutation(const crdt::Mutation& mutation);
std::vector<WireMutation> to_wire_mutations(const std::vector<crdt::Mutation>& mutations);

// Fills a request's `ops` list (initialized by the caller to mutations.size() elements).
void fill_wire_mutations(capnp::List<wire::Mutation>::Builder ops,
                         const std::vector<WireMutation>& mutations);

}  // namespace neuroplex::api
