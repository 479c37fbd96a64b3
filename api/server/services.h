// The Cap'n Proto services of one node (api/neuroplex.capnp): the bootstrap `Neuroplex`, the
// client `Session`, the operator `Admin`, and the internal `RaftPeer` / `SnapshotSink`.
//
// Each is a codec: it decodes the wire request, runs the operation table's validation
// (replication/validation.h, api/op_json.h), calls the node core through the CoreBridge and
// encodes the reply. A refused request is an `error` in the response, never an exception.
//
// Thread safety: rpc thread only.
#pragma once

#include <cstdint>
#include <functional>

#include "api/neuroplex.capnp.h"
#include "api/server/core_bridge.h"
#include "api/server/peer_transport.h"
#include "api/server/watch_registry.h"

namespace neuroplex::server {

// What every service of a node shares.
struct NodeContext {
  CoreBridge& bridge;
  PeerTransport& transport;
  WatchRegistry& watches;
  replication::Limits limits;
};

// What the bootstrap service of one incoming connection may do to that connection.
struct ConnectionHooks {
  std::string remote;              // HOST:PORT of the other end, for log lines
  std::function<void()> drop;      // close the connection (a peer of another cluster)
  std::function<void()> answered;  // a valid call arrived (garbage never gets this far)
};

// The bootstrap capability of one incoming connection.
api::wire::Neuroplex::Client make_bootstrap(NodeContext& node, ConnectionHooks hooks);

}  // namespace neuroplex::server
