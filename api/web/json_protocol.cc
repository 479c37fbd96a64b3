#include "api/web/json_protocol.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <limits>

#include "api/op_json.h"
#include "api/vector_json.h"
#include "api/web/base64.h"
#include "api/web/json_args.h"
#include "api/web/vector_calls.h"
#include "replication/client_sessions.h"
#include "replication/validation.h"

namespace neuroplex::web {
namespace {

using nlohmann::json;

// Refuses nesting deeper than kMaxDepth without recursing: brackets inside strings don't count.
bool within_depth(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// Reads the top-level "id" of a frame too deep to parse into a DOM, so that its refusal can still
// carry it. nlohmann's SAX parser keeps its own stack: the nesting costs it no recursion.
class TopLevelId final : public nlohmann::json_sax<json> {
 public:
  json id;  // null unless the frame is an object with a number or string "id"

  bool null() override { return scalar(json()); }
  bool boolean(bool value) override { return scalar(value); }
  bool number_integer(number_integer_t value) override { return scalar(value); }
  bool number_unsigned(number_unsigned_t value) override { return scalar(value); }
  bool number_float(number_float_t value, const string_t&) override { return scalar(value); }
  bool string(string_t& value) override { return scalar(value); }
  bool binary(binary_t&) override { return scalar(json()); }
  bool start_object(std::size_t) override { return open(); }
  bool start_array(std::size_t) override { return open(); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& name) override {
    next_is_id_ = depth_ == 1 && name == "id";
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool scalar(const json& value) {
    if (next_is_id_ && (value.is_number() || value.is_string())) id = value;
    next_is_id_ = false;
    return true;
  }
  bool open() {
    next_is_id_ = false;
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }

  int depth_ = 0;
  bool next_is_id_ = false;
};

// A write with its namespace and key read; `more` reads the rest of the operation.
template <typename Build>
Result<Call> write_call(const Args& args, std::initializer_list<std::string_view> fields,
                        const replication::Limits& limits, Build build) {
  Status status = args.only(fields);
  std::string ns;
  std::string key;
  if (status.is_ok()) status = take(args.string("ns"), ns);
  if (status.is_ok()) status = take(args.string("key"), key);
  WriteCall call;
  if (status.is_ok()) status = take(request_id_of(args), call.request_id);
  if (!status.is_ok()) return status;
  Result<replication::WriteOp> op = build(std::move(ns), std::move(key));
  if (!op.is_ok()) return op.status();
  status = replication::validate(*op, limits);
  if (!status.is_ok()) return status;
  call.op = std::move(*op);
  return Call(std::move(call));
}

// A convenience form (DESIGN.md): one mutation at path [] built from one argument.
Result<Call> one_mutation_call(const Args& args, std::string_view argument, std::string_view type,
                               std::string_view mutator, const replication::Limits& limits) {
  return write_call(args, {"ns", "key", argument, "request_id"}, limits,
                    [&](std::string ns, std::string key) -> Result<replication::WriteOp> {
                      Status status;
                      const json& value = args.required_value(argument, status);
                      if (!status.is_ok()) return status;
                      Result<crdt::Mutation> mutation =
                          api::parse_mutation({}, type, mutator, value);
                      if (!mutation.is_ok()) {
                        return Status(mutation.status().code(),
                                      std::string(argument) + ": " + mutation.status().message());
                      }
                      replication::UpdateOp op{.ns = std::move(ns), .key = std::move(key)};
                      op.mutations.push_back(std::move(*mutation));
                      return replication::WriteOp(std::move(op));
                    });
}

Result<Call> update_call(const Args& args, const replication::Limits& limits) {
  return write_call(args, {"ns", "key", "ops", "request_id"}, limits,
                    [&](std::string ns, std::string key) -> Result<replication::WriteOp> {
                      Status status;
                      const json& ops = args.required_value("ops", status);
                      if (!status.is_ok()) return status;
                      Result<std::vector<crdt::Mutation>> mutations = api::parse_mutations(ops);
                      if (!mutations.is_ok()) return mutations.status();
                      return replication::WriteOp(replication::UpdateOp{
                          .ns = std::move(ns), .key = std::move(key), .mutations = *mutations});
                    });
}

Result<Call> delete_call(const Args& args, const replication::Limits& limits) {
  return write_call(args, {"ns", "key", "request_id"}, limits,
                    [](std::string ns, std::string key) -> Result<replication::WriteOp> {
                      return replication::WriteOp(
                          replication::DeleteOp{.ns = std::move(ns), .key = std::move(key)});
                    });
}

Result<Call> merge_call(const Args& args, const replication::Limits& limits) {
  return write_call(args, {"ns", "key", "delta", "request_id"}, limits,
                    [&](std::string ns, std::string key) -> Result<replication::WriteOp> {
                      Result<std::string> text = args.string("delta");
                      if (!text.is_ok()) return text.status();
                      Result<std::string> delta = base64_decode(*text);
                      if (!delta.is_ok()) {
                        return invalid_argument("delta: " + delta.status().message());
                      }
                      return replication::WriteOp(replication::MergeOp{
                          .ns = std::move(ns), .key = std::move(key), .delta = *delta});
                    });
}

Result<Call> get_call(const Args& args) {
  ReadCall call;
  call.request.kind = node::ReadRequest::Kind::kGet;
  Status status = args.only({"ns", "key", "consistency"});
  if (status.is_ok()) status = take(args.string("ns"), call.request.ns);
  if (status.is_ok()) status = take(args.string("key"), call.request.key);
  if (status.is_ok()) status = take(consistency_of(args), call.consistency);
  if (!status.is_ok()) return status;
  return Call(std::move(call));
}

Result<Call> list_call(const Args& args) {
  ReadCall call;
  call.request.kind = node::ReadRequest::Kind::kList;
  std::uint64_t limit = 0;
  Status status = args.only({"ns", "prefix", "after", "limit", "consistency"});
  if (status.is_ok()) status = take(args.string("ns"), call.request.ns);
  if (status.is_ok()) status = take(args.string("prefix", false), call.request.prefix);
  if (status.is_ok()) status = take(args.string("after", false), call.request.after);
  if (status.is_ok()) status = take(args.unsigned_integer("limit", false), limit);
  if (status.is_ok()) status = take(consistency_of(args), call.consistency);
  if (!status.is_ok()) return status;
  // The range (1..kMaxListLimit) is the state reader's rule; 0 means its default.
  call.request.limit = limit == 0 ? 100 : static_cast<std::size_t>(limit);
  return Call(std::move(call));
}

Result<Call> watch_call(const Args& args) {
  WatchCall call;
  Status status = args.only({"ns", "prefix", "from_index"});
  if (status.is_ok()) status = take(args.string("ns"), call.spec.ns);
  if (status.is_ok()) status = take(args.string("prefix", false), call.spec.prefix);
  if (status.is_ok())
    status = take(args.unsigned_integer("from_index", false), call.spec.from_index);
  if (status.is_ok()) status = replication::validate_namespace(call.spec.ns);
  if (status.is_ok()) status = replication::validate_key_prefix(call.spec.prefix);
  if (!status.is_ok()) return status;
  return Call(std::move(call));
}

Result<Call> unwatch_call(const Args& args) {
  UnwatchCall call;
  Status status = args.only({"watch"});
  if (status.is_ok()) status = take(args.unsigned_integer("watch"), call.watch);
  if (!status.is_ok()) return status;
  return Call(call);
}

Result<Call> no_argument_call(const Args& args, Call call) {
  Status status = args.only({});
  if (!status.is_ok()) return status;
  return call;
}

Result<Call> add_member_call(const Args& args) {
  MembershipCall call;
  bool learner = false;
  Status status = args.only({"node", "address", "learner"});
  if (status.is_ok()) status = take(args.unsigned_integer("node"), call.change.node);
  if (status.is_ok()) status = take(args.string("address"), call.change.address);
  if (status.is_ok()) status = take(args.boolean("learner"), learner);
  if (status.is_ok() && call.change.address.empty()) {
    status = invalid_argument("cluster.add needs the member's HOST:PORT address");
  }
  if (!status.is_ok()) return status;
  call.change.type = learner ? raft::ChangeType::kAddLearner : raft::ChangeType::kAddVoter;
  return Call(std::move(call));
}

Result<Call> remove_member_call(const Args& args) {
  MembershipCall call;
  call.change.type = raft::ChangeType::kRemove;
  Status status = args.only({"node"});
  if (status.is_ok()) status = take(args.unsigned_integer("node"), call.change.node);
  if (!status.is_ok()) return status;
  return Call(std::move(call));
}

Result<Call> transfer_call(const Args& args) {
  TransferCall call;
  Status status = args.only({"node"});
  if (status.is_ok()) status = take(args.unsigned_integer("node"), call.target);
  if (!status.is_ok()) return status;
  return Call(call);
}

// The operation table's WebSocket names, each with how its arguments are read.
struct Operation {
  std::string_view name;
  Result<Call> (*read)(const Args& args, const replication::Limits& limits);
};

constexpr Operation kOperations[] = {
    {"update", update_call},
    {"counter.add",
     [](const Args& a, const replication::Limits& l) {
       return one_mutation_call(a, "by", "counter", "add", l);
     }},
    {"register.set",
     [](const Args& a, const replication::Limits& l) {
       return one_mutation_call(a, "value", "register", "set", l);
     }},
    {"set.add",
     [](const Args& a, const replication::Limits& l) {
       return one_mutation_call(a, "members", "set", "add", l);
     }},
    {"set.remove",
     [](const Args& a, const replication::Limits& l) {
       return one_mutation_call(a, "members", "set", "remove", l);
     }},
    {"delete", delete_call},
    {"merge", merge_call},
    {"get", [](const Args& a, const replication::Limits&) { return get_call(a); }},
    {"list", [](const Args& a, const replication::Limits&) { return list_call(a); }},
    {"watch", [](const Args& a, const replication::Limits&) { return watch_call(a); }},
    {"unwatch", [](const Args& a, const replication::Limits&) { return unwatch_call(a); }},
    {"cluster.status",
     [](const Args& a, const replication::Limits&) { return no_argument_call(a, StatusCall{}); }},
    {"cluster.add", [](const Args& a, const replication::Limits&) { return add_member_call(a); }},
    {"cluster.remove",
     [](const Args& a, const replication::Limits&) { return remove_member_call(a); }},
    {"cluster.transfer",
     [](const Args& a, const replication::Limits&) { return transfer_call(a); }},
    {"cluster.snapshot",
     [](const Args& a, const replication::Limits&) { return no_argument_call(a, SnapshotCall{}); }},
    {"collection.create", collection_create_call},
    {"collection.drop", collection_drop_call},
    {"collection.list", collection_list_call},
    {"memory.put", memory_put_call},
    {"memory.get", memory_get_call},
    {"memory.delete", memory_delete_call},
    {"memory.search", memory_search_call},
};

const Operation* find_operation(std::string_view name) {
  for (const Operation& operation : kOperations) {
    if (operation.name == name) return &operation;
  }
  return nullptr;
}

}  // namespace

ParsedRequest parse_request(std::string_view frame, const replication::Limits& limits) {
  ParsedRequest parsed;
  if (!within_depth(frame)) {
    TopLevelId finder;
    json::sax_parse(frame, &finder, nlohmann::detail::input_format_t::json, /*strict=*/true,
                    /*ignore_comments=*/false);
    parsed.id = finder.id;
    parsed.call = invalid_argument("request nests deeper than " + std::to_string(kMaxDepth));
    return parsed;
  }
  json request = json::parse(frame, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    parsed.call = invalid_argument("the frame is not valid JSON");
    return parsed;
  }
  if (!request.is_object()) {
    parsed.call = invalid_argument("a request is a JSON object");
    return parsed;
  }
  auto id = request.find("id");
  if (id != request.end()) {
    if (!id->is_number() && !id->is_string()) {
      parsed.call = invalid_argument("field \"id\" must be a number or a string");
      return parsed;
    }
    parsed.id = *id;
  }
  auto op = request.find("op");
  if (op == request.end() || !op->is_string()) {
    parsed.call = invalid_argument("field \"op\" must name an operation");
    return parsed;
  }
  parsed.op = op->get<std::string>();
  const Operation* operation = find_operation(parsed.op);
  if (operation == nullptr) {
    parsed.call = invalid_argument("unknown op \"" + parsed.op + "\"");
    return parsed;
  }
  parsed.call = operation->read(Args(request), limits);
  return parsed;
}

std::string_view operation_name(std::string_view op) {
  const Operation* operation = find_operation(op);
  return operation == nullptr ? std::string_view("unknown") : operation->name;
}

std::string encode_result(const json& id, json result) {
  json reply = {{"id", id}, {"ok", true}, {"result", std::move(result)}};
  return reply.dump();
}

std::string encode_error(const json& id, const Status& status, raft::NodeId leader,
                         std::string_view leader_address) {
  json error = {{"code", error_code_name(status.code())}, {"message", status.message()}};
  if (status.code() == ErrorCode::kNotLeader && leader != raft::kNoNode) {
    error["leader_id"] = leader;
    if (!leader_address.empty()) error["leader_address"] = leader_address;
  }
  json reply = {{"id", id}, {"ok", false}, {"error", std::move(error)}};
  // A message may quote the client's bytes; replace rather than throw on invalid UTF-8.
  return reply.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string encode_event_body(const node::WatchEvent& event) {
  json body = {{"index", event.index}, {"ns", event.ns}, {"key", event.key}};
  if (event.exists) {
    body["value"] = event.value;
  } else {
    body["deleted"] = true;
  }
  if (event.resync) body["resync"] = true;
  return body.dump();
}

std::string event_frame(std::uint64_t watch, std::string_view body) {
  // The keys in the order nlohmann's dump() sorts them, so both encodings agree byte for byte.
  std::string frame = "{\"event\":";
  frame += body;
  frame += ",\"watch\":";
  frame += std::to_string(watch);
  frame += '}';
  return frame;
}

std::string encode_event(std::uint64_t watch, const node::WatchEvent& event) {
  return event_frame(watch, encode_event_body(event));
}

std::string encode_resync_end(std::uint64_t watch, std::uint64_t index) {
  json frame = {{"watch", watch}, {"resync_end", {{"index", index}}}};
  return frame.dump();
}

std::string encode_overflow(std::uint64_t watch, std::uint64_t resume_from,
                            std::string_view message) {
  json frame = {{"watch", watch},
                {"overflow", {{"resume_from", resume_from}, {"message", message}}}};
  return frame.dump();
}

std::string encode_closed(std::uint64_t watch, const Status& why) {
  json frame = {{"watch", watch},
                {"closed", {{"code", error_code_name(why.code())}, {"message", why.message()}}}};
  return frame.dump(-1, ' ', false, json::error_handler_t::replace);
}

json write_result(const node::WriteReply& reply, std::string_view memory_id) {
  json result = {{"index", reply.index}};
  if (!memory_id.empty()) result["id"] = memory_id;
  return result;
}

json read_result(node::ReadRequest::Kind kind, const node::ReadReply& reply) {
  using Kind = node::ReadRequest::Kind;
  if (kind == Kind::kCollections) {
    json collections = json::array();
    for (const auto& c : reply.collections) collections.push_back(api::collection_json(c));
    return {{"collections", std::move(collections)}, {"index", reply.index}};
  }
  if (kind == Kind::kMemoryGet) {
    return {{"exists", reply.memory.has_value()},
            {"memory", reply.memory ? api::memory_json(*reply.memory) : json(nullptr)},
            {"index", reply.index}};
  }
  if (kind == Kind::kSearch) {
    json hits = json::array();
    for (const auto& hit : reply.hits) hits.push_back(api::hit_json(hit));
    return {{"hits", std::move(hits)}, {"index", reply.index}};
  }
  if (kind == Kind::kGet) {
    return {{"exists", reply.document.exists},
            {"value", reply.document.value},
            {"types", reply.document.types},
            {"index", reply.index}};
  }
  json result = {{"keys", reply.list.keys}, {"index", reply.index}};
  result["next"] = reply.list.next ? json(*reply.list.next) : json(nullptr);
  return result;
}

json status_result(const node::NodeStatus& status) {
  json members = json::array();
  for (const node::MemberStatus& member : status.members) {
    members.push_back({{"id", member.id},
                       {"address", member.address},
                       {"role", member.role},
                       {"voter", member.voter},
                       {"match", member.match}});
  }
  return {{"id", status.id},
          {"role", status.role},
          {"term", status.term},
          {"leader", status.leader},
          {"leader_address", status.leader_address},
          {"commit", status.commit},
          {"applied", status.applied},
          {"snapshot_index", status.snapshot_index},
          {"first_log_index", status.first_log_index},
          {"last_log_index", status.last_log_index},
          // A string: a 64-bit hash does not fit a JavaScript number.
          {"cluster_id", std::to_string(status.cluster_id)},
          {"members", std::move(members)}};
}

}  // namespace neuroplex::web
