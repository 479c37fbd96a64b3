// Conversions between the Cap'n Proto wire structs (api/neuroplex.capnp) and the client's types
// (client.h), and from wire errors and kj exceptions to Status.
//
// A reply's `error` becomes a WireError: the Status with its stable code, plus the leader the
// node named for NOT_LEADER. Unknown code names become INTERNAL (the message keeps the name).
// Text the server sends as JSON (values, types) is parsed here; a node that sends invalid JSON
// is reported as INTERNAL rather than trusted.
//
// Thread safety: stateless functions.
#pragma once

#include <kj/exception.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "api/client/client.h"
#include "api/client/retry.h"
#include "api/neuroplex.capnp.h"
#include "base/status.h"

namespace neuroplex::client {

namespace wire = ::neuroplex::api::wire;

struct WireError {
  Status status;
  std::uint64_t leader_id = 0;
  std::string leader_address;  // NOT_LEADER: where the leader listens; empty when unknown
};

// What one attempt of a call produced: the value, or the error the node replied with.
template <typename T>
using Reply = std::variant<T, WireError>;

// The error of a reply. For NOT_LEADER the message names the leader when the node knew it.
WireError read_error(wire::Error::Reader error);

// A reply's error when it has one (every response struct has hasError()/getError()).
template <typename Response>
std::optional<WireError> reply_error(const Response& response) {
  if (!response.hasError()) return std::nullopt;
  return read_error(response.getError());
}

// How a kj exception (from connecting or from a call) counts for the retry policy.
// `connected`: the connection was established before the exception.
TransportFailure transport_failure(const kj::Exception& exception, bool connected);
// The Status a kj exception becomes at the library boundary; `endpoint` (if known) leads the
// message.
Status status_from_exception(const kj::Exception& exception, bool connected = true,
                             std::string_view endpoint = "");

wire::Consistency to_wire(Consistency consistency);

// JSON text from the server; "" reads as null.
Result<nlohmann::json> parse_json_text(std::string_view text, std::string_view what);

StatusResult read_status(wire::ClusterStatus::Reader status);
Result<WatchEvent> read_event(wire::WatchEvent::Reader event);
Result<GetResult> read_get(wire::Session::GetResults::Reader reply);
ListResult read_list(wire::Session::ListResults::Reader reply);

}  // namespace neuroplex::client
