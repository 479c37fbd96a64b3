#include "api/server/server.h"

#include <arpa/inet.h>
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <csignal>
#include <cstdio>

#include "api/buffered_stream.h"
#include "api/server/core_bridge.h"
#include "api/server/kj_inbox.h"
#include "api/server/peer_transport.h"
#include "api/server/services.h"
#include "api/server/watch_registry.h"
#include "api/server/write_forwarder.h"
#include "api/tcp_nodelay.h"
#include "api/web/web_server.h"

namespace neuroplex::server {
namespace {

// One accepted connection: its stream, its RPC system, and a way to close it early.
struct Connection {
  explicit Connection(kj::Own<kj::AsyncIoStream> stream_in)
      : stream(kj::mv(stream_in)),
        network(*stream, capnp::rpc::twoparty::Side::SERVER, reader_options()) {}

  static capnp::ReaderOptions reader_options() {
    capnp::ReaderOptions options;
    // 64 MiB per message: far above the largest legitimate one (a 4 MiB Raft batch, a 1 MiB
    // snapshot chunk, a 1 MiB value), so a client cannot make the node buffer more.
    options.traversalLimitInWords = std::uint64_t{8} << 20;
    return options;
  }

  kj::Own<kj::AsyncIoStream> stream;
  capnp::TwoPartyVatNetwork network;
  kj::Maybe<capnp::RpcSystem<capnp::rpc::twoparty::VatId>> rpc;
};

std::string remote_address(kj::AsyncIoStream& stream) {
  sockaddr_storage address{};
  kj::uint length = sizeof(address);
  try {
    stream.getpeername(reinterpret_cast<sockaddr*>(&address), &length);
  } catch (...) {
    return "unknown peer";
  }
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (address.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&address);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (address.ss_family == AF_INET6) {
    auto* in = reinterpret_cast<sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof(host));
    port = ntohs(in->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

class Acceptor final : private kj::TaskSet::ErrorHandler {
 public:
  Acceptor(NodeContext& node, kj::Own<kj::ConnectionReceiver> receiver, kj::Timer& timer)
      : node_(node), receiver_(kj::mv(receiver)), timer_(timer), tasks_(*this) {}

  kj::Promise<void> run() {
    return receiver_->accept().then([this](kj::Own<kj::AsyncIoStream> stream) {
      serve(kj::mv(stream));
      return run();
    });
  }

 private:
  void serve(kj::Own<kj::AsyncIoStream> stream) {
    api::set_tcp_nodelay(*stream);
    auto connection = kj::heap<Connection>(kj::heap<api::BufferedStream>(kj::mv(stream)));
    auto drop = kj::newPromiseAndFulfiller<void>();
    auto dropper = kj::refcounted<Dropper>(kj::mv(drop.fulfiller));
    auto answered = std::make_shared<bool>(false);
    std::string remote = remote_address(*connection->stream);
    ConnectionHooks hooks{.remote = remote,
                          .drop = [dropper = dropper.get()] { dropper->drop(); },
                          .answered = [answered] { *answered = true; }};
    connection->rpc =
        capnp::makeRpcServer(connection->network, make_bootstrap(node_, kj::mv(hooks)));
    tasks_.add(connection->network
                   .onDisconnect()
                   // A dropped connection closes a moment later, so the refusal that caused
                   // the drop still reaches the other side.
                   .exclusiveJoin(drop.promise.then(
                       [this] { return timer_.afterDelay(200 * kj::MILLISECONDS); }))
                   .then([remote = kj::mv(remote), answered] {
                     // Cap'n Proto drops a connection that sends garbage or a truncated or
                     // oversize message without telling us why; say at least that it happened.
                     if (!*answered) {
                       std::fprintf(stderr,
                                    "neuroplexd: closed connection from %s: no valid Cap'n Proto "
                                    "call (garbage, a truncated or an oversize message)\n",
                                    remote.c_str());
                     }
                   })
                   .attach(kj::mv(connection), kj::mv(dropper)));
  }

  struct Dropper : public kj::Refcounted {
    explicit Dropper(kj::Own<kj::PromiseFulfiller<void>> f) : fulfiller(kj::mv(f)) {}
    void drop() {
      if (fulfiller->isWaiting()) fulfiller->fulfill();
    }
    kj::Own<kj::PromiseFulfiller<void>> fulfiller;
  };

  void taskFailed(kj::Exception&& exception) override {
    std::fprintf(stderr, "neuroplexd: connection: %s\n", exception.getDescription().cStr());
  }

  NodeContext& node_;
  kj::Own<kj::ConnectionReceiver> receiver_;
  kj::Timer& timer_;
  kj::TaskSet tasks_;
};

class LoggingErrorHandler final : public kj::TaskSet::ErrorHandler {
 public:
  void taskFailed(kj::Exception&& exception) override {
    std::fprintf(stderr, "neuroplexd: %s\n", exception.getDescription().cStr());
  }
};

}  // namespace

int run_server(const ServerOptions& options) {
  // Signals must be captured before any thread starts, so that they reach the event loop.
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  std::signal(SIGPIPE, SIG_IGN);
  auto io = kj::setupAsyncIo();
  KjInbox inbox(io.unixEventPort);
  PeerTransport transport(*io.provider, inbox, options.node.id, options.node.address);

  Result<std::unique_ptr<node::Core>> core = node::Core::open(options.node, transport);
  if (!core.is_ok()) {
    std::fprintf(stderr, "neuroplexd: cannot start: %s\n", core.status().to_string().c_str());
    return 1;
  }
  transport.attach(**core);
  CoreBridge bridge(**core, inbox);
  WatchRegistry watches(**core, inbox);
  NodeContext context{bridge, transport, watches, options.node.state.limits};

  kj::Own<kj::ConnectionReceiver> receiver;
  try {
    receiver = io.provider->getNetwork().parseAddress(options.listen).wait(io.waitScope)->listen();
  } catch (const kj::Exception& exception) {
    std::fprintf(stderr, "neuroplexd: cannot listen on %s: %s\n", options.listen.c_str(),
                 exception.getDescription().cStr());
    return 1;
  }
  (*core)->start();
  // Destroyed after the core has stopped (it is declared after it), so that no core callback
  // can post into a destroyed io_context.
  CapnpWriteForwarder forwarder(transport, inbox);
  Result<std::unique_ptr<web::WebServer>> web =
      web::WebServer::start(options.ws_listen, **core, &forwarder, options.node.state.limits);
  if (!web.is_ok()) {
    std::fprintf(stderr, "neuroplexd: cannot start the web front: %s\n",
                 web.status().to_string().c_str());
    (*core)->stop();
    return 1;
  }
  std::fprintf(stderr,
               "neuroplexd: node %llu of cluster %llu serving Cap'n Proto on %s, WebSocket and "
               "HTTP on %s (data %s)\n",
               static_cast<unsigned long long>(options.node.id),
               static_cast<unsigned long long>((*core)->cluster_id()), options.listen.c_str(),
               (*web)->address().c_str(), options.node.data_dir.c_str());

  LoggingErrorHandler errors;
  kj::TaskSet tasks(errors);
  {
    Acceptor acceptor(context, kj::mv(receiver), io.provider->getTimer());
    tasks.add(inbox.run());
    tasks.add(acceptor.run());
    io.unixEventPort.onSignal(SIGTERM)
        .exclusiveJoin(io.unixEventPort.onSignal(SIGINT))
        .wait(io.waitScope);
    std::fprintf(stderr, "neuroplexd: shutting down\n");
    (*web)->stop();
    (*core)->stop();
  }
  return 0;
}

}  // namespace neuroplex::server
