// Endpoints of a cluster as the client sees them: parsing HOST:PORT lists, and the rotation the
// client walks through when a node fails or names another node as the leader.
//
// Pure value code (no I/O), so the policy is unit-tested without a server.
// Thread safety: value types; an EndpointSet belongs to one Client (one thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace neuroplex::client {

struct Endpoint {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  std::uint16_t port = 0;

  // "host:port", or "[v6]:port" for an IPv6 address: the form kj's parseAddress accepts.
  std::string to_string() const;
};

// One HOST:PORT ("127.0.0.1:7400", "node-1.local:7400", "[::1]:7400"). The port is required
// (1..65535). INVALID_ARGUMENT names the offending text.
Result<Endpoint> parse_endpoint(std::string_view text);

// A comma-separated list of endpoints ("a:1,b:2"), normalized (to_string) and without duplicates,
// in the order given. An empty list or an empty item is INVALID_ARGUMENT.
Result<std::vector<std::string>> parse_endpoint_list(std::string_view text);

// The endpoints a client rotates through. current() is where the next connection goes:
//   - leader(address): a NOT_LEADER reply named the leader; it becomes current (and joins the
//     rotation if it was not in it);
//   - failed(address): a connection to `address` broke or the node could not serve; when it is
//     current, current moves on to the next endpoint (wrapping around).
// Invariant: the list is never empty and current_ indexes into it.
class EndpointSet {
 public:
  // `endpoints` must not be empty (asserted); Client::connect validates them first.
  explicit EndpointSet(std::vector<std::string> endpoints);

  const std::string& current() const { return endpoints_[current_]; }
  const std::vector<std::string>& all() const { return endpoints_; }

  void leader(const std::string& address);
  void failed(const std::string& address);

 private:
  std::vector<std::string> endpoints_;
  std::size_t current_ = 0;
};

}  // namespace neuroplex::client
