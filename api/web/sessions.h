// The Beast side of the web front, shared by web_server.cc, http_session.cc and ws_session.cc
// only (Beast headers are slow to compile; nothing else includes this).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "api/web/channel.h"

namespace neuroplex::web {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

// The largest WebSocket message (DESIGN.md: above the 1 MiB value limit, so an oversize value
// gets a TOO_LARGE reply; a bigger frame closes the connection with 1009).
inline constexpr std::size_t kMaxFrameBytes = std::size_t{16} << 20;
// HTTP requests are GETs: headers only.
inline constexpr std::size_t kMaxHttpRequestBytes = 64 * 1024;

// Reads HTTP requests on an accepted connection; hands an upgrade on /ws to a WebSocket session.
void serve_http(tcp::socket socket, WebContext& context);
// Takes over a connection whose upgrade request has been read.
void serve_websocket(beast::tcp_stream stream, http::request<http::string_body> upgrade,
                     WebContext& context);

}  // namespace neuroplex::web
