#include "api/client/connection.h"

#include <kj/debug.h>

#include <utility>

#include "api/buffered_stream.h"
#include "api/tcp_nodelay.h"

namespace neuroplex::client {

namespace wire = ::neuroplex::api::wire;

Connection::Connection(kj::Network& network, std::string endpoint, std::uint64_t generation,
                       const std::string& token)
    : endpoint_(std::move(endpoint)),
      generation_(generation),
      ready_(network.parseAddress(endpoint_)
                 .then([](kj::Own<kj::NetworkAddress> address) {
                   kj::Promise<kj::Own<kj::AsyncIoStream>> stream = address->connect();
                   return stream.attach(kj::mv(address));
                 })
                 .then([this, token](kj::Own<kj::AsyncIoStream> stream) {
                   on_connected(kj::mv(stream), token);
                 })
                 .fork()) {}

Connection::~Connection() noexcept(false) = default;

void Connection::on_connected(kj::Own<kj::AsyncIoStream> stream, const std::string& token) {
  api::set_tcp_nodelay(*stream);
  stream_ = kj::heap<api::BufferedStream>(kj::mv(stream));
  rpc_ = kj::heap<capnp::TwoPartyClient>(*stream_);
  wire::Neuroplex::Client bootstrap = rpc_->bootstrap().castAs<wire::Neuroplex>();
  auto session = bootstrap.sessionRequest();
  session.setToken(token);
  session_ = session.send().getSession();
  auto admin = bootstrap.adminRequest();
  admin.setToken(token);
  admin_ = admin.send().getAdmin();
}

kj::Promise<void> Connection::on_disconnect() {
  KJ_REQUIRE(rpc_.get() != nullptr, "on_disconnect() before the connection is up");
  return rpc_->onDisconnect();
}

wire::Session::Client& Connection::session() {
  KJ_IF_MAYBE (session, session_) {
    return *session;
  }
  KJ_FAIL_REQUIRE("session() before the connection is up");
}

wire::Admin::Client& Connection::admin() {
  KJ_IF_MAYBE (admin, admin_) {
    return *admin;
  }
  KJ_FAIL_REQUIRE("admin() before the connection is up");
}

}  // namespace neuroplex::client
