// neuroplexctl's verbs: run one parsed Invocation against the cluster and print its result.
//
// Results go to `out`, errors to `err` as "error: CODE: sentence". The return value is the
// process exit status: kExitOk, kExitError (the cluster refused, or could not be reached before
// the --timeout), kExitUsage (arguments that parsed but do not make a valid request, e.g. an
// OPS_JSON with an unknown type; checked before connecting).
//
// Thread safety: runs a Client (or the load generator) on the calling thread, which must not
// already have a kj event loop.
#pragma once

#include <ostream>
#include <vector>

#include "base/status.h"
#include "replication/crdt/mutation.h"
#include "tools/ctl/args.h"

namespace neuroplex::ctl {

int run_invocation(const Invocation& invocation, std::ostream& out, std::ostream& err);

// The mutations of update, counter add, register set and set add/remove (through the operation
// table's JSON codec, api/op_json.h). INVALID_ARGUMENT names the bad part.
Result<std::vector<crdt::Mutation>> mutations_for(const Invocation& invocation);

}  // namespace neuroplex::ctl
