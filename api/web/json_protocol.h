// The WebSocket JSON protocol (docs/protocol-websocket.md): one request per text frame, read into
// a typed call of the operation table; replies, watch events and errors written back as JSON.
//
// This file is the codec only. Every rule about what a request may contain — namespaces, keys,
// value sizes, mutation shapes — comes from the operation table (replication/validation.h,
// api/op_json.h), so the WebSocket, Cap'n Proto and CLI fronts accept exactly the same requests.
// What is checked here is the JSON shape: the frame is one object, "op" names an operation, each
// argument has the right JSON type, and no unknown field slips through (a typo must not be
// silently ignored).
//
// Untrusted input: parse_request never throws and never recurses deeper than kMaxDepth; every
// refusal is a Status with a stable code (INVALID_ARGUMENT, TOO_LARGE, TYPE_MISMATCH ...), and
// the request's "id" is returned whenever it could be read so the reply can carry it.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "base/status.h"
#include "node/core.h"
#include "raft/types.h"
#include "replication/operation.h"

namespace neuroplex::web {

// Nesting deeper than this is refused before parsing (nlohmann's parser recurses per level).
inline constexpr int kMaxDepth = 128;

struct WriteCall {
  replication::WriteOp op;
  replication::RequestId request_id;  // client == 0: not deduplicated
};
struct ReadCall {
  node::ReadRequest request;
  node::Consistency consistency = node::Consistency::kLinearizable;
};
struct WatchCall {
  node::WatchSpec spec;
};
struct UnwatchCall {
  std::uint64_t watch = 0;
};
struct StatusCall {};
struct MembershipCall {
  raft::MembershipChange change;
};
struct TransferCall {
  raft::NodeId target = raft::kNoNode;
};
struct SnapshotCall {};

using Call = std::variant<WriteCall, ReadCall, WatchCall, UnwatchCall, StatusCall, MembershipCall,
                          TransferCall, SnapshotCall>;

struct ParsedRequest {
  nlohmann::json id;  // the request's "id" (a number or a string), null when absent or unreadable
  std::string op;     // "" when unreadable
  Result<Call> call = Status(ErrorCode::kInvalidArgument, "empty request");
};

ParsedRequest parse_request(std::string_view frame, const replication::Limits& limits);
// `op` as the operation table names it (static storage), or "unknown": a bounded label value.
std::string_view operation_name(std::string_view op);

// ---- Replies and events (each returns one text frame) ----

std::string encode_result(const nlohmann::json& id, nlohmann::json result);
// `leader` / `leader_address` are added for NOT_LEADER when known.
std::string encode_error(const nlohmann::json& id, const Status& status,
                         raft::NodeId leader = raft::kNoNode, std::string_view leader_address = {});
std::string encode_event(std::uint64_t watch, const node::WatchEvent& event);
// The same in two steps, so that an event fanned out to many watches is encoded once:
// encode_event(w, e) == event_frame(w, encode_event_body(e)).
std::string encode_event_body(const node::WatchEvent& event);
std::string event_frame(std::uint64_t watch, std::string_view body);
// The end of a resync at `index`: documents of the watch it did not resend no longer exist.
std::string encode_resync_end(std::uint64_t watch, std::uint64_t index);
// The watch ended because its consumer fell behind; it may resume from `resume_from`.
std::string encode_overflow(std::uint64_t watch, std::uint64_t resume_from,
                            std::string_view message);
// The watch ended for another reason (the node is stopping, ...).
std::string encode_closed(std::uint64_t watch, const Status& why);

// Results of the operations.
// {"index": N}, and "id" for memory.put.
nlohmann::json write_result(const node::WriteReply& reply, std::string_view memory_id = {});
nlohmann::json read_result(node::ReadRequest::Kind kind, const node::ReadReply& reply);
nlohmann::json status_result(const node::NodeStatus& status);

}  // namespace neuroplex::web
