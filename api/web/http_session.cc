// HTTP on the web port: the dashboard, /metrics, /healthz, /readyz, and the upgrade to /ws.
// One session per connection, keep-alive, requests read one at a time with a deadline so an
// idle or trickling client cannot hold the connection's memory forever.
#include <boost/beast/version.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <memory>

#include "api/web/assets.h"
#include "api/web/metrics_page.h"
#include "api/web/sessions.h"
#include "api/web/web_server.h"

namespace neuroplex::web {
namespace {

constexpr std::chrono::seconds kRequestDeadline{30};

using Response = http::response<http::string_body>;

Response make_response(const http::request<http::string_body>& request, http::status status,
                       std::string_view content_type, std::string body) {
  Response response{status, request.version()};
  response.set(http::field::server, "neuroplexd");
  response.set(http::field::content_type, content_type);
  response.set(http::field::cache_control, "no-store");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

// "ready" or why not: a leader is known and this node has applied what it knows is committed.
std::string readiness(const node::NodeStatus& status) {
  if (status.leader == raft::kNoNode) return "no leader is known";
  if (status.commit > status.applied + kReadyLag) {
    return "applying: applied index " + std::to_string(status.applied) + " is behind commit " +
           std::to_string(status.commit);
  }
  return "ready";
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, WebContext& context)
      : stream_(std::move(socket)), context_(context) {}

  void read() {
    parser_.emplace();
    parser_->body_limit(kMaxHttpRequestBytes);
    parser_->header_limit(kMaxHttpRequestBytes);
    stream_.expires_after(kRequestDeadline);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, std::size_t) {
                       self->on_read(error);
                     });
  }

 private:
  void on_read(beast::error_code error) {
    if (error == http::error::end_of_stream) return close();
    if (error) {
      // A malformed request or one over the limits: say so once and close.
      if (error == http::error::body_limit || error == http::error::header_limit) {
        return reply_and_close(http::status::payload_too_large, "request too large\n");
      }
      if (error != beast::error::timeout && error != net::error::operation_aborted &&
          error != net::error::connection_reset) {
        return reply_and_close(http::status::bad_request, "bad HTTP request\n");
      }
      return close();
    }
    http::request<http::string_body> request = parser_->release();
    if (beast::websocket::is_upgrade(request)) {
      if (request.target() != "/ws") {
        return send(make_response(request, http::status::not_found, "text/plain",
                                  "WebSocket is served on /ws\n"));
      }
      stream_.expires_never();
      return serve_websocket(std::move(stream_), std::move(request), context_);
    }
    route(std::move(request));
  }

  void route(http::request<http::string_body> request) {
    if (request.method() != http::verb::get) {
      return send(make_response(request, http::status::method_not_allowed, "text/plain",
                                "only GET is served here\n"));
    }
    const std::string_view target = request.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/healthz") {
      return send(make_response(request, http::status::ok, "text/plain", "ok\n"));
    }
    if (path == "/metrics" || path == "/readyz") {
      // Both need the node's status, which only the core thread can read.
      context_.core.status([self = shared_from_this(), request = std::move(request),
                            metrics = path == "/metrics"](node::NodeStatus status) mutable {
        self->context_.post(
            [self, request = std::move(request), metrics, status = std::move(status)]() mutable {
              if (metrics) {
                self->send(make_response(request, http::status::ok, kMetricsContentType,
                                         render_metrics(status)));
                return;
              }
              const std::string why = readiness(status);
              self->send(make_response(
                  request, why == "ready" ? http::status::ok : http::status::service_unavailable,
                  "text/plain", why + "\n"));
            });
      });
      return;
    }
    if (const Asset* asset = find_asset(path)) {
      return send(
          make_response(request, http::status::ok, asset->content_type, std::string(asset->body)));
    }
    send(make_response(request, http::status::not_found, "text/plain", "not found\n"));
  }

  void send(Response response) {
    auto shared = std::make_shared<Response>(std::move(response));
    const bool keep_alive = shared->keep_alive();
    stream_.expires_after(kRequestDeadline);
    http::async_write(
        stream_, *shared,
        [self = shared_from_this(), shared, keep_alive](beast::error_code error, std::size_t) {
          if (error || !keep_alive) return self->close();
          self->read();
        });
  }

  void reply_and_close(http::status status, std::string body) {
    http::request<http::string_body> none;
    none.keep_alive(false);
    send(make_response(none, status, "text/plain", std::move(body)));
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{kMaxHttpRequestBytes};
  std::optional<http::request_parser<http::string_body>> parser_;
  WebContext& context_;
};

}  // namespace

void serve_http(tcp::socket socket, WebContext& context) {
  std::make_shared<HttpSession>(std::move(socket), context)->read();
}

}  // namespace neuroplex::web
