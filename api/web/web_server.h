// WebServer: the WebSocket and HTTP front of neuroplexd (DESIGN.md "web threads"), Boost.Beast on
// asio threads of its own: one io_context per thread (one per core, at most four), each
// connection on one of them from accept to close. It serves, on one port (--ws-listen, default
// 127.0.0.1:7401):
//   /ws       the JSON protocol (docs/protocol-websocket.md), one Channel per connection;
//   /metrics  Prometheus text: the node's status and every registered metric;
//   /healthz  200 while the process runs;
//   /readyz   200 when the node knows a leader and has applied what it knows is committed
//             (within kReadyLag entries), 503 with the reason otherwise;
//   /         the dashboard (api/web/dashboard/, compiled into the binary).
//
// Lifecycle: start() binds and starts the threads; stop() closes the listener and every
// connection and joins the threads. The io_contexts live until the destructor, so a core
// callback that posts after stop() is queued and discarded, never a use after free: destroy the
// WebServer only after the core has stopped.
#pragma once

#include <memory>
#include <string>

#include "api/web/channel.h"
#include "base/status.h"

namespace neuroplex::web {

inline constexpr std::uint64_t kReadyLag = 1000;

class WebServer {
 public:
  // Binds `listen` (HOST:PORT) and starts serving. INVALID_ARGUMENT for a bad address,
  // UNAVAILABLE when the port cannot be bound.
  static Result<std::unique_ptr<WebServer>> start(const std::string& listen, node::Core& core,
                                                  WriteForwarder* forwarder,
                                                  replication::Limits limits);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  void stop();
  const std::string& address() const;  // HOST:PORT actually bound

  class Impl;
  struct Loop;

 private:
  explicit WebServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace neuroplex::web
