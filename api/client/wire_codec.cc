#include "api/client/wire_codec.h"

#include <utility>

namespace neuroplex::client {
namespace {

std::string_view view(capnp::Text::Reader text) { return {text.cStr(), text.size()}; }
std::string copy(capnp::Text::Reader text) { return std::string(view(text)); }

}  // namespace

WireError read_error(wire::Error::Reader error) {
  std::string_view name = view(error.getCode());
  std::string message = copy(error.getMessage());
  std::optional<ErrorCode> code = error_code_from_name(name);
  WireError result;
  if (!code.has_value()) {
    result.status = internal_error("unknown error code '" + std::string(name) + "' from server" +
                                   (message.empty() ? "" : ": " + message));
    return result;
  }
  if (*code == ErrorCode::kOk) code = ErrorCode::kInternal;  // an error must not read as OK
  result.leader_id = error.getLeaderId();
  result.leader_address = copy(error.getLeaderAddress());
  if (*code == ErrorCode::kNotLeader && !result.leader_address.empty() &&
      message.find(result.leader_address) == std::string::npos) {
    if (message.empty()) message = "this node is not the leader";
    message += " (leader ";
    if (result.leader_id != 0) message += std::to_string(result.leader_id) + " at ";
    message += result.leader_address + ")";
  }
  if (message.empty()) message = "no message from server";
  result.status = Status(*code, std::move(message));
  return result;
}

TransportFailure transport_failure(const kj::Exception& exception, bool connected) {
  if (!connected) return TransportFailure::kConnect;
  switch (exception.getType()) {
    case kj::Exception::Type::DISCONNECTED:
      return TransportFailure::kDisconnected;
    case kj::Exception::Type::OVERLOADED:
      return TransportFailure::kOverloaded;
    case kj::Exception::Type::FAILED:
    case kj::Exception::Type::UNIMPLEMENTED:
      return TransportFailure::kFailed;
  }
  return TransportFailure::kFailed;
}

Status status_from_exception(const kj::Exception& exception, bool connected,
                             std::string_view endpoint) {
  TransportFailure failure = transport_failure(exception, connected);
  std::string message(endpoint);
  if (!message.empty()) message += ": ";
  switch (failure) {
    case TransportFailure::kConnect:
      message += "cannot connect: ";
      break;
    case TransportFailure::kDisconnected:
      message += "connection lost: ";
      break;
    case TransportFailure::kOverloaded:
      message += "no reply: ";
      break;
    case TransportFailure::kFailed:
      message += "RPC failed: ";
      break;
  }
  message += exception.getDescription().cStr();
  return Status(transport_error_code(failure), std::move(message));
}

wire::Consistency to_wire(Consistency consistency) {
  switch (consistency) {
    case Consistency::kLinearizable:
      return wire::Consistency::LINEARIZABLE;
    case Consistency::kLease:
      return wire::Consistency::LEASE;
    case Consistency::kLocal:
      return wire::Consistency::LOCAL;
  }
  return wire::Consistency::LINEARIZABLE;
}

Result<nlohmann::json> parse_json_text(std::string_view text, std::string_view what) {
  if (text.empty()) return nlohmann::json();
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return internal_error("the server sent invalid JSON as " + std::string(what));
  }
  return value;
}

StatusResult read_status(wire::ClusterStatus::Reader status) {
  StatusResult result;
  result.node_id = status.getNodeId();
  result.leader = status.getLeader();
  result.leader_address = copy(status.getLeaderAddress());
  result.term = status.getTerm();
  result.commit = status.getCommit();
  result.applied = status.getApplied();
  result.role = copy(status.getRole());
  result.snapshot_index = status.getSnapshotIndex();
  result.first_log_index = status.getFirstLogIndex();
  result.last_log_index = status.getLastLogIndex();
  result.cluster_id = status.getClusterId();
  for (wire::Member::Reader member : status.getMembers()) {
    result.members.push_back(MemberInfo{.id = member.getId(),
                                        .address = copy(member.getAddress()),
                                        .role = copy(member.getRole()),
                                        .voter = member.getVoter(),
                                        .match = member.getMatch()});
  }
  return result;
}

Result<WatchEvent> read_event(wire::WatchEvent::Reader event) {
  WatchEvent result;
  result.index = event.getIndex();
  result.ns = copy(event.getNs());
  result.key = copy(event.getKey());
  result.exists = event.getExists();
  result.resync = event.getResync();
  result.resync_end = event.getResyncEnd();
  if (result.exists) {
    Result<nlohmann::json> value = parse_json_text(view(event.getValue()), "a watch event value");
    if (!value.is_ok()) return value.status();
    result.value = std::move(value).value();
  }
  return result;
}

Result<GetResult> read_get(wire::Session::GetResults::Reader reply) {
  GetResult result;
  result.exists = reply.getExists();
  result.index = reply.getIndex();
  if (result.exists) {
    Result<nlohmann::json> value = parse_json_text(view(reply.getValue()), "a value");
    if (!value.is_ok()) return value.status();
    result.value = std::move(value).value();
    Result<nlohmann::json> types = parse_json_text(view(reply.getTypes()), "types");
    // `types` is informational; text that is not JSON is kept as a string.
    result.types =
        types.is_ok() ? std::move(types).value() : nlohmann::json(copy(reply.getTypes()));
  }
  return result;
}

ListResult read_list(wire::Session::ListResults::Reader reply) {
  ListResult result;
  for (capnp::Text::Reader key : reply.getKeys()) result.keys.push_back(copy(key));
  if (reply.getHasNext()) result.next = copy(reply.getNext());
  return result;
}

}  // namespace neuroplex::client
