#include "api/client/endpoints.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <utility>

namespace neuroplex::client {
namespace {

bool valid_host_char(char c) {
  // Names and IPv4 (letters, digits, '-', '.', '_'); ':' only appears inside IPv6 brackets.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

Status bad_endpoint(std::string_view text, std::string_view why) {
  std::string message = "endpoint '";
  message += text;
  message += "': ";
  message += why;
  message += " (expected HOST:PORT)";
  return invalid_argument(std::move(message));
}

}  // namespace

std::string Endpoint::to_string() const {
  std::string text;
  if (host.find(':') != std::string::npos) {
    text = "[" + host + "]";
  } else {
    text = host;
  }
  text += ':';
  text += std::to_string(port);
  return text;
}

Result<Endpoint> parse_endpoint(std::string_view text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad_endpoint(text, "no port");
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);

  Endpoint endpoint;
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad_endpoint(text, "unclosed '['");
    host = host.substr(1, host.size() - 2);
    for (char c : host) {
      bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':' && c != '.') return bad_endpoint(text, "bad IPv6 address");
    }
  } else {
    if (host.empty()) return bad_endpoint(text, "no host");
    for (char c : host) {
      if (!valid_host_char(c)) return bad_endpoint(text, "bad character in host");
    }
  }
  endpoint.host = std::string(host);

  unsigned port = 0;
  auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
      port == 0 || port > 65535) {
    return bad_endpoint(text, "port must be 1..65535");
  }
  endpoint.port = static_cast<std::uint16_t>(port);
  return endpoint;
}

Result<std::vector<std::string>> parse_endpoint_list(std::string_view text) {
  std::vector<std::string> endpoints;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string_view item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) return invalid_argument("empty endpoint in '" + std::string(text) + "'");
    Result<Endpoint> endpoint = parse_endpoint(item);
    if (!endpoint.is_ok()) return endpoint.status();
    std::string normalized = endpoint->to_string();
    if (std::find(endpoints.begin(), endpoints.end(), normalized) == endpoints.end()) {
      endpoints.push_back(std::move(normalized));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return endpoints;
}

EndpointSet::EndpointSet(std::vector<std::string> endpoints) : endpoints_(std::move(endpoints)) {
  assert(!endpoints_.empty() && "a client needs at least one endpoint");
}

void EndpointSet::leader(const std::string& address) {
  auto it = std::find(endpoints_.begin(), endpoints_.end(), address);
  if (it == endpoints_.end()) {
    endpoints_.push_back(address);
    it = endpoints_.end() - 1;
  }
  current_ = static_cast<std::size_t>(it - endpoints_.begin());
}

void EndpointSet::failed(const std::string& address) {
  if (endpoints_[current_] == address) current_ = (current_ + 1) % endpoints_.size();
}

}  // namespace neuroplex::client
