#include "api/web/web_server.h"

#include <pthread.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <thread>

#include "api/web/sessions.h"
#include "api/web/web_inbox.h"

namespace neuroplex::web {

class WebServer::Impl {
 public:
  Impl(node::Core& core, WriteForwarder* forwarder, replication::Limits limits)
      : context_{.core = core,
                 .forwarder = forwarder,
                 .limits = limits,
                 .post = [this](std::function<void()> task) { inbox_.post(std::move(task)); }},
        acceptor_(io_) {}

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
    if (error || port > 65535)
      return invalid_argument("bad --ws-listen address \"" + listen + "\"");
    const tcp::endpoint endpoint(host, static_cast<unsigned short>(port));
    acceptor_.open(endpoint.protocol(), error);
    if (!error) acceptor_.set_option(net::socket_base::reuse_address(true), error);
    if (!error) acceptor_.bind(endpoint, error);
    if (!error) acceptor_.listen(net::socket_base::max_listen_connections, error);
    if (error) return unavailable("cannot listen on " + listen + ": " + error.message());
    const tcp::endpoint bound = acceptor_.local_endpoint();
    address_ = bound.address().to_string() + ":" + std::to_string(bound.port());
    return Status::ok();
  }

  void run() {
    accept();
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "neuroplex-web");  // for top -H, perf and gdb
      io_.run();
    });
  }

  void stop() {
    if (!thread_.joinable()) return;
    net::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      retry_.cancel();
      io_.stop();
    });
    thread_.join();
  }

  const std::string& address() const { return address_; }

 private:
  void accept() {
    acceptor_.async_accept(io_, [this](boost::system::error_code error, tcp::socket socket) {
      if (error == net::error::operation_aborted) return;
      if (!error || error == net::error::connection_aborted) {
        if (!error) {
          socket.set_option(tcp::no_delay(true), error);
          serve_http(std::move(socket), context_);
        }
        accept();
        return;
      }
      // Out of descriptors, say: log it and try again a little later instead of spinning.
      std::fprintf(stderr, "neuroplexd: web accept: %s\n", error.message().c_str());
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([this](boost::system::error_code waited) {
        if (!waited) accept();
      });
    });
  }

  net::io_context io_{1};
  WebInbox inbox_{io_};
  WebContext context_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_{io_};
  std::string address_;
  std::thread thread_;
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
