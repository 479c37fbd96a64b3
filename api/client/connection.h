// One Cap'n Proto connection from the client to one node: TCP connect, TwoPartyClient, and the
// Session and Admin capabilities obtained from the bootstrap `Neuroplex` (pipelined: no extra
// round trip before the first call).
//
// Lifecycle: made by the Client for the endpoint it currently targets; refcounted because every
// call in flight holds the connection it was sent on, so replacing the Client's current
// connection (after a failure or a NOT_LEADER) never breaks calls still running on the old one.
// The last reference closes the socket. Once marked broken a connection takes no new calls.
//
// Thread safety: lives on the Client's event loop thread only.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/refcount.h>

#include <cstdint>
#include <string>

#include "api/neuroplex.capnp.h"

namespace neuroplex::client {

class Connection final : public kj::Refcounted {
 public:
  // Starts connecting to `endpoint` (HOST:PORT); `token` goes to the bootstrap calls.
  Connection(kj::Network& network, std::string endpoint, std::uint64_t generation,
             const std::string& token);
  ~Connection() noexcept(false);

  kj::Own<Connection> add_ref() { return kj::addRef(*this); }

  // Resolves once the TCP connection is up (then session() and admin() may be called); rejects
  // with the connect error (e.g. DISCONNECTED "Connection refused").
  kj::Promise<void> ready() { return ready_.addBranch(); }
  // Resolves when an established connection goes away. Only valid after ready() resolved.
  kj::Promise<void> on_disconnect();

  api::wire::Session::Client& session();
  api::wire::Admin::Client& admin();

  const std::string& endpoint() const { return endpoint_; }
  std::uint64_t generation() const { return generation_; }  // unique per Client, increasing
  bool broken() const { return broken_; }
  void mark_broken() { broken_ = true; }

 private:
  void on_connected(kj::Own<kj::AsyncIoStream> stream, const std::string& token);

  std::string endpoint_;
  std::uint64_t generation_;
  bool broken_ = false;
  // Declaration order is destruction order in reverse: the capabilities go before the RPC
  // system, and the RPC system before the stream it writes to.
  kj::Own<kj::AsyncIoStream> stream_;
  kj::Own<capnp::TwoPartyClient> rpc_;
  kj::Maybe<api::wire::Session::Client> session_;
  kj::Maybe<api::wire::Admin::Client> admin_;
  kj::ForkedPromise<void> ready_;
};

}  // namespace neuroplex::client
