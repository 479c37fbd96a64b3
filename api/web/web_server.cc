#include "api/web/web_server.h"

#include <pthread.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <optional>
#include <thread>
#include <vector>

#include "api/web/sessions.h"
#include "api/web/web_inbox.h"

namespace neuroplex::web {

namespace {

// Web threads: one per core, at most kMaxWebThreads. Fan-out is bound by one sendmsg per
// subscriber, so spreading connections over threads is what shortens it (decision 0008).
constexpr unsigned kMaxWebThreads = 4;

unsigned web_threads() {
  return std::clamp(std::thread::hardware_concurrency(), 1u, kMaxWebThreads);
}

}  // namespace

// One web thread: its io_context, the inbox the core posts to, and the context its connections
// share. A connection lives on one loop from accept to close, so nothing of a connection is ever
// touched by two threads.
struct WebServer::Loop {
  Loop(node::Core& core, WriteForwarder* forwarder, replication::Limits limits)
      : context{.core = core,
                .forwarder = forwarder,
                .limits = limits,
                .post = [this](std::function<void()> task) { inbox.post(std::move(task)); }} {}

  // Declared first, destroyed last: destroying io destroys the sessions its handlers still hold,
  // and they close their channels, which use the context.
  WebContext context;
  net::io_context io{1};
  // Keeps run() running while the loop has no connection yet (stop() stops it).
  net::executor_work_guard<net::io_context::executor_type> idle{io.get_executor()};
  WebInbox inbox{io};
  std::thread thread;
};

class WebServer::Impl {
 public:
  Impl(node::Core& core, WriteForwarder* forwarder, replication::Limits limits) {
    for (unsigned i = 0; i < web_threads(); ++i) {
      loops_.push_back(std::make_unique<Loop>(core, forwarder, limits));
    }
    acceptor_.emplace(loops_[0]->io);
    retry_.emplace(loops_[0]->io);
  }

  Status bind(const std::string& listen) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
      return invalid_argument("--ws-listen must be HOST:PORT, not \"" + listen + "\"");
    }
    boost::system::error_code error;
    const auto host = net::ip::make_address(listen.substr(0, colon), error);
    unsigned long port = 0;
    try {
      port = std::stoul(listen.substr(colon + 1));
    } catch (...) {
      error = net::error::invalid_argument;
    }
    if (error || port > 65535) {
      return invalid_argument("bad --ws-listen address \"" + listen + "\"");
    }
    const tcp::endpoint endpoint(host, static_cast<unsigned short>(port));
    acceptor_->open(endpoint.protocol(), error);
    if (!error) acceptor_->set_option(net::socket_base::reuse_address(true), error);
    if (!error) acceptor_->bind(endpoint, error);
    if (!error) acceptor_->listen(net::socket_base::max_listen_connections, error);
    if (error) return unavailable("cannot listen on " + listen + ": " + error.message());
    const tcp::endpoint bound = acceptor_->local_endpoint();
    address_ = bound.address().to_string() + ":" + std::to_string(bound.port());
    return Status::ok();
  }

  void run() {
    accept();
    for (std::size_t i = 0; i < loops_.size(); ++i) {
      Loop& loop = *loops_[i];
      loop.thread = std::thread([&loop, i] {
        const std::string name = "neuroplex-web" + std::to_string(i);
        pthread_setname_np(pthread_self(), name.c_str());  // for top -H, perf and gdb
        loop.io.run();
      });
    }
  }

  void stop() {
    if (!loops_[0]->thread.joinable()) return;
    net::post(loops_[0]->io, [this] {
      boost::system::error_code ignored;
      acceptor_->close(ignored);
      retry_->cancel();
    });
    for (auto& loop : loops_) {
      net::post(loop->io, [&io = loop->io] { io.stop(); });
      loop->thread.join();
    }
  }

  const std::string& address() const { return address_; }

 private:
  // Accepts on the first loop; each connection goes to the loops in turn.
  void accept() {
    Loop& target = *loops_[next_loop_++ % loops_.size()];
    acceptor_->async_accept(
        target.io, [this, &target](boost::system::error_code error, tcp::socket socket) {
          if (error == net::error::operation_aborted) return;
          if (!error || error == net::error::connection_aborted) {
            if (!error) {
              socket.set_option(tcp::no_delay(true), error);
              net::post(target.io, [socket = std::move(socket), &target]() mutable {
                serve_http(std::move(socket), target.context);
              });
            }
            accept();
            return;
          }
          // Out of descriptors, say: log it and try again a little later instead of spinning.
          std::fprintf(stderr, "neuroplexd: web accept: %s\n", error.message().c_str());
          retry_->expires_after(std::chrono::milliseconds(100));
          retry_->async_wait([this](boost::system::error_code waited) {
            if (!waited) accept();
          });
        });
  }

  // The loops outlive the acceptor and timer that run on the first of them.
  std::vector<std::unique_ptr<Loop>> loops_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::steady_timer> retry_;
  std::size_t next_loop_ = 0;
  std::string address_;
};

Result<std::unique_ptr<WebServer>> WebServer::start(const std::string& listen, node::Core& core,
                                                    WriteForwarder* forwarder,
                                                    replication::Limits limits) {
  auto impl = std::make_unique<Impl>(core, forwarder, limits);
  Status bound = impl->bind(listen);
  if (!bound.is_ok()) return bound;
  impl->run();
  return std::unique_ptr<WebServer>(new WebServer(std::move(impl)));
}

WebServer::WebServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebServer::~WebServer() { stop(); }
void WebServer::stop() { impl_->stop(); }
const std::string& WebServer::address() const { return impl_->address(); }

}  // namespace neuroplex::web
