// run_etcd_http: the closed loop against etcd v3's HTTP/JSON gateway (grpc-gateway), which takes
// keys and values as base64 in JSON.
//
// Every client owns one keep-alive HTTP/1.1 connection, opened before the run. A connection that
// failed or whose request timed out is retired (kept until that client's next request, when the
// promise chain that may still refer to it is gone) and replaced by a fresh one.
#include <kj/async-io.h>
#include <kj/compat/http.h>
#include <kj/debug.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/tcp_nodelay.h"
#include "tools/loadgen/closed_loop.h"
#include "tools/loadgen/loadgen.h"

namespace neuroplex::loadgen {
namespace {

constexpr char kPutPath[] = "/v3/kv/put";

std::string base64(std::string_view bytes) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t group = static_cast<std::uint8_t>(bytes[i]) << 16 |
                          static_cast<std::uint8_t>(bytes[i + 1]) << 8 |
                          static_cast<std::uint8_t>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kDigits[(group >> shift) & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t group = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (rest == 2) group |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out += kDigits[(group >> 18) & 63];
    out += kDigits[(group >> 12) & 63];
    out += rest == 2 ? kDigits[(group >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

struct HttpConnection {
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<kj::HttpClient> http;  // over `stream`; declared after it, so destroyed first
};

struct EtcdClient {
  std::size_t endpoint = 0;
  kj::Own<HttpConnection> connection;  // null: connect before the next request
  kj::Own<HttpConnection> retired;     // dropped at the next request
};

class EtcdTarget final : public Target {
 public:
  EtcdTarget(kj::AsyncIoContext& io, const LoadOptions& options)
      : network_(io.provider->getNetwork()),
        options_(options),
        value_base64_(base64(payload(options.value_size))) {
    kj::HttpHeaderTable::Builder builder;
    header_table_ = builder.build();
  }

  // Resolves the endpoints, spreads the clients over them round-robin and opens every client's
  // connection.
  void connect(const std::vector<std::string>& endpoints, kj::WaitScope& wait_scope) {
    for (const std::string& endpoint : endpoints) {
      addresses_.push_back(network_.parseAddress(endpoint).wait(wait_scope));
      hosts_.push_back(endpoint);
    }
    clients_.resize(options_.clients);
    auto opened = kj::heapArrayBuilder<kj::Promise<void>>(clients_.size());
    for (std::size_t client = 0; client < clients_.size(); ++client) {
      clients_[client].endpoint = client % endpoints.size();
      opened.add(open(clients_[client]));
    }
    kj::joinPromises(opened.finish()).wait(wait_scope);
  }

  kj::Promise<Outcome> issue(std::size_t client, std::uint64_t n) override {
    EtcdClient& c = clients_[client];
    c.retired = nullptr;
    if (c.connection.get() != nullptr) return put(c, n);
    return open(c).then([this, &c, n] { return put(c, n); });
  }

  void reset(std::size_t client) override {
    EtcdClient& c = clients_[client];
    c.retired = kj::mv(c.connection);
  }

 private:
  kj::Promise<void> open(EtcdClient& c) {
    return addresses_[c.endpoint]->connect().then([this, &c](kj::Own<kj::AsyncIoStream> stream) {
      auto connection = kj::heap<HttpConnection>();
      connection->stream = kj::mv(stream);
      api::set_tcp_nodelay(*connection->stream);
      connection->http = kj::newHttpClient(*header_table_, *connection->stream);
      c.connection = kj::mv(connection);
    });
  }

  kj::Promise<Outcome> put(EtcdClient& c, std::uint64_t n) {
    std::string key = "k" + std::to_string(n % options_.keys);
    kj::String body = kj::str("{\"key\":\"", base64(key).c_str(), "\",\"value\":\"",
                              value_base64_.c_str(), "\"}");
    kj::HttpHeaders headers(*header_table_);
    headers.set(kj::HttpHeaderId::HOST, hosts_[c.endpoint].c_str());
    headers.set(kj::HttpHeaderId::CONTENT_TYPE, "application/json");
    auto request = c.connection->http->request(kj::HttpMethod::POST, kPutPath, headers,
                                               static_cast<std::uint64_t>(body.size()));
    auto written =
        request.body->write(body.begin(), body.size()).attach(kj::mv(body), kj::mv(request.body));
    return written
        .then([response = kj::mv(request.response)]() mutable { return kj::mv(response); })
        .then([](kj::HttpClient::Response&& response) {
          unsigned status = response.statusCode;
          return response.body->readAllText()
              .attach(kj::mv(response.body))
              .then([status](kj::String text) {
                if (status == 200) return Outcome{};
                return Outcome{false, "HTTP " + std::to_string(status) + ": " + text.cStr()};
              });
        });
  }

  kj::Network& network_;
  const LoadOptions& options_;
  const std::string value_base64_;  // the same value for every put
  kj::Own<kj::HttpHeaderTable> header_table_;
  std::vector<kj::Own<kj::NetworkAddress>> addresses_;
  std::vector<std::string> hosts_;  // the Host header for each endpoint
  std::vector<EtcdClient> clients_;
};

}  // namespace

Result<LoadReport> run_etcd_http(const std::vector<std::string>& endpoints,
                                 const LoadOptions& options) {
  NPX_RETURN_IF_ERROR(check_options(endpoints, options));
  if (options.op != "put") return invalid_argument("etcd supports only op 'put'");
  return on_event_loop([&](kj::AsyncIoContext& io) -> Result<LoadReport> {
    EtcdTarget target(io, options);
    target.connect(endpoints, io.waitScope);
    return run_closed_loop(io, target, options);
  });
}

}  // namespace neuroplex::loadgen
