// The neuroplexd process body: builds the node (core thread + log thread), serves Cap'n Proto
// on the rpc thread (the calling thread) and WebSocket/HTTP on the web thread until SIGTERM or
// SIGINT, then shuts down cleanly (the core stops between turns, the log flushes; nothing
// acknowledged is lost either way).
#pragma once

#include <string>

#include "node/node_options.h"

namespace neuroplex::server {

struct ServerOptions {
  node::NodeOptions node;
  std::string listen = "127.0.0.1:7400";     // where clients and peers connect
  std::string ws_listen = "127.0.0.1:7401";  // WebSocket and HTTP (api/web/web_server.h)
};

// Returns the process exit status: 0 after a clean shutdown, 1 when the node cannot start.
int run_server(const ServerOptions& options);

}  // namespace neuroplex::server
