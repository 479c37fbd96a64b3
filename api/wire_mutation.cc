#include "api/wire_mutation.h"

#include <cassert>

#include "api/op_json.h"

namespace neuroplex::api {

WireMutation to_wire_mutation(const crdt::Mutation& mutation) {
  nlohmann::json json = mutation_to_json(mutation);
  WireMutation wire;
  wire.path = mutation.path;
  wire.type = json.value("type", "");
  wire.mutator = json.value("mutator", "");
  wire.args = json.contains("args") ? json["args"].dump() : "null";
  return wire;
}

std::vector<WireMutation> to_wire_mutations(const std::vector<crdt::Mutation>& mutations) {
  std::vector<WireMutation> wire;
  wire.reserve(mutations.size());
  for (const crdt::Mutation& mutation : mutations) wire.push_back(to_wire_mutation(mutation));
  return wire;
}

void fill_wire_mutations(capnp::List<wire::Mutation>::Builder ops,
                         const std::vector<WireMutation>& mutations) {
  assert(ops.size() == mutations.size());
  for (unsigned i = 0; i < mutations.size(); ++i) {
    const WireMutation& mutation = mutations[i];
    wire::Mutation::Builder op = ops[i];
    auto path = op.initPath(static_cast<unsigned>(mutation.path.size()));
    for (unsigned j = 0; j < mutation.path.size(); ++j) path.set(j, mutation.path[j]);
    op.setType(mutation.type);
    op.setMutator(mutation.mutator);
    op.setArgs(mutation.args);
  }
}

}  // namespace neuroplex::api
