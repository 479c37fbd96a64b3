#include "api/op_json.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "base/utf8.h"
#include "replication/crdt/json.h"

namespace neuroplex::api {
namespace {

using Json = nlohmann::json;

constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53, as in crdt/json.cc
constexpr std::size_t kMaxQuotedBytes = 64;

// `name` quoted for an error message, or "" when it is too long or not UTF-8: messages travel
// back to the client inside JSON replies, so they must stay short, valid UTF-8.
std::string quote_name(std::string_view name) {
  if (name.size() > kMaxQuotedBytes || !is_valid_utf8(name)) return "";
  return " '" + std::string(name) + "'";
}

// The same error with `prefix` naming the part in front of its message. A message that already
// names a part nests under it: ("ops[1]", "args: x") -> "ops[1].args: x", ("args", "[0]: x") ->
// "args[0]: x"; any other message gets "prefix: " in front.
Status prefixed(std::string_view prefix, const Status& status) {
  const std::string& message = status.message();
  std::size_t colon = message.find(':');
  bool names_part = colon != std::string::npos && colon < message.find(' ');
  std::string joined(prefix);
  if (!names_part) {
    joined += ": ";
  } else if (message.front() != '[') {
    joined += '.';
  }
  return {status.code(), joined + message};
}

std::string_view json_type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "not JSON";
  }
}

Result<crdt::CrdtType> parse_type(std::string_view type) {
  if (type == "counter") return crdt::CrdtType::kCounter;
  if (type == "register") return crdt::CrdtType::kRegister;
  if (type == "set") return crdt::CrdtType::kSet;
  if (type == "map") return crdt::CrdtType::kMap;
  if (type == "mvregister") return invalid_argument("type: 'mvregister' is reserved");
  return invalid_argument("type: unknown type" + quote_name(type) +
                          "; expected counter, register, set or map");
}

// A JSON integer that fits int64. Integral floats within ±2^53 count (JavaScript clients have
// no other numbers; 5.0 is 5 in canonical JSON too).
Result<std::int64_t> parse_int64(const Json& value) {
  if (value.is_number_integer() && !value.is_number_unsigned()) {
    return value.get<std::int64_t>();
  }
  if (value.is_number_unsigned()) {
    std::uint64_t number = value.get<std::uint64_t>();
    if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return invalid_argument("counter add amount is out of the int64 range");
    }
    return static_cast<std::int64_t>(number);
  }
  if (value.is_number_float()) {
    double number = value.get<double>();
    if (!std::isfinite(number) || std::fabs(number) > kMaxExactInteger) {
      return invalid_argument("counter add amount is out of range");
    }
    if (std::trunc(number) != number) return invalid_argument("counter add takes an integer");
    return static_cast<std::int64_t>(number);
  }
  return invalid_argument("counter add takes an integer, not " +
                          std::string(json_type_name(value)));
}

Result<std::vector<std::string>> parse_members(const Json& members, std::string_view what) {
  if (!members.is_array()) {
    return invalid_argument(std::string(what) + " takes an array of scalars, not " +
                            std::string(json_type_name(members)));
  }
  std::vector<std::string> canonical;
  canonical.reserve(members.size());
  for (std::size_t i = 0; i < members.size(); ++i) {
    Result<std::string> member = crdt::canonical_scalar(members[i]);
    if (!member.is_ok()) return prefixed("[" + std::to_string(i) + "]", member.status());
    canonical.push_back(std::move(member).value());
  }
  return canonical;
}

Result<crdt::Mutator> parse_mutator(crdt::CrdtType type, std::string_view mutator,
                                    const Json& args) {
  switch (type) {
    case crdt::CrdtType::kCounter:
      if (mutator == "add") {
        Result<std::int64_t> amount = parse_int64(args);
        if (!amount.is_ok()) return prefixed("args", amount.status());
        return crdt::Mutator{crdt::CounterAdd{*amount}};
      }
      break;
    case crdt::CrdtType::kRegister:
      if (mutator == "set") {
        Result<std::string> value = crdt::canonical_json(args);
        if (!value.is_ok()) return prefixed("args", value.status());
        return crdt::Mutator{crdt::RegisterSet{std::move(value).value()}};
      }
      break;
    case crdt::CrdtType::kSet:
      if (mutator == "add" || mutator == "remove") {
        std::string what = "set " + std::string(mutator);
        Result<std::vector<std::string>> members = parse_members(args, what);
        if (!members.is_ok()) return prefixed("args", members.status());
        if (mutator == "add") return crdt::Mutator{crdt::SetAdd{std::move(members).value()}};
        return crdt::Mutator{crdt::SetRemove{std::move(members).value()}};
      }
      break;
    case crdt::CrdtType::kMap:
      if (mutator == "remove") {
        if (!args.is_string()) {
          return invalid_argument("args: map remove takes a field name string, not " +
                                  std::string(json_type_name(args)));
        }
        return crdt::Mutator{crdt::MapRemove{args.get<std::string>()}};
      }
      break;
    case crdt::CrdtType::kMvRegister:
      break;
  }
  return invalid_argument("mutator: a " + std::string(crdt::type_name(type)) + " has no mutator" +
                          quote_name(mutator));
}

Result<std::vector<std::string>> parse_path(const Json& path) {
  if (!path.is_array()) {
    return invalid_argument("path: expected an array of field names, not " +
                            std::string(json_type_name(path)));
  }
  std::vector<std::string> segments;
  segments.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (!path[i].is_string()) {
      return invalid_argument("path[" + std::to_string(i) + "]: expected a string, not " +
                              std::string(json_type_name(path[i])));
    }
    segments.push_back(path[i].get<std::string>());
  }
  return segments;
}

// One element of an ops array: {"path"?, "type", "mutator", "args"} and nothing else.
Result<crdt::Mutation> parse_mutation_object(const Json& op) {
  if (!op.is_object()) {
    return invalid_argument("expected an object {path, type, mutator, args}, not " +
                            std::string(json_type_name(op)));
  }
  for (const auto& [name, value] : op.items()) {
    if (name != "path" && name != "type" && name != "mutator" && name != "args") {
      return invalid_argument("unknown field" + quote_name(name) +
                              "; expected path, type, mutator and args");
    }
  }
  std::vector<std::string> path;
  if (auto it = op.find("path"); it != op.end()) {
    Result<std::vector<std::string>> parsed = parse_path(*it);
    if (!parsed.is_ok()) return parsed.status();
    path = std::move(parsed).value();
  }
  for (const char* name : {"type", "mutator"}) {
    auto it = op.find(name);
    if (it == op.end()) return invalid_argument(std::string(name) + ": missing");
    if (!it->is_string()) {
      return invalid_argument(std::string(name) + ": expected a string, not " +
                              std::string(json_type_name(*it)));
    }
  }
  auto args = op.find("args");
  if (args == op.end()) return invalid_argument("args: missing");
  return parse_mutation(std::move(path), op.find("type")->get_ref<const std::string&>(),
                        op.find("mutator")->get_ref<const std::string&>(), *args);
}

// Parses untrusted JSON text without throwing; the message names `what` and the byte offset.
Result<Json> parse_text(std::string_view text, std::string_view what) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    // e.what() quotes the input, which may not be UTF-8: only the offset goes into the message.
    return invalid_argument(std::string(what) + ": malformed JSON text at byte " +
                            std::to_string(e.byte));
  } catch (const Json::exception&) {
    return invalid_argument(std::string(what) + ": malformed JSON text");
  }
}

}  // namespace

Result<crdt::Mutation> parse_mutation(std::vector<std::string> path, std::string_view type,
                                      std::string_view mutator, const nlohmann::json& args) {
  Result<crdt::CrdtType> parsed_type = parse_type(type);
  if (!parsed_type.is_ok()) return parsed_type.status();
  Result<crdt::Mutator> parsed_mutator = parse_mutator(*parsed_type, mutator, args);
  if (!parsed_mutator.is_ok()) return parsed_mutator.status();
  return crdt::Mutation{std::move(path), *parsed_type, std::move(parsed_mutator).value()};
}

Result<crdt::Mutation> parse_mutation_text(std::vector<std::string> path, std::string_view type,
                                           std::string_view mutator, std::string_view args_text) {
  Result<Json> args = parse_text(args_text, "args");
  if (!args.is_ok()) return args.status();
  return parse_mutation(std::move(path), type, mutator, *args);
}

Result<std::vector<crdt::Mutation>> parse_mutations(const nlohmann::json& ops) {
  if (!ops.is_array()) {
    return invalid_argument("ops: expected an array of operations, not " +
                            std::string(json_type_name(ops)));
  }
  std::vector<crdt::Mutation> mutations;
  mutations.reserve(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    Result<crdt::Mutation> mutation = parse_mutation_object(ops[i]);
    if (!mutation.is_ok()) return prefixed("ops[" + std::to_string(i) + "]", mutation.status());
    mutations.push_back(std::move(mutation).value());
  }
  return mutations;
}

Result<std::vector<crdt::Mutation>> parse_mutations_text(std::string_view ops_text) {
  Result<Json> ops = parse_text(ops_text, "ops");
  if (!ops.is_ok()) return ops.status();
  return parse_mutations(*ops);
}

crdt::Mutation counter_add(std::int64_t by) {
  return {{}, crdt::CrdtType::kCounter, crdt::CounterAdd{by}};
}

Result<crdt::Mutation> register_set(const nlohmann::json& value) {
  return parse_mutation({}, "register", "set", value);
}

Result<crdt::Mutation> set_add(const nlohmann::json& members) {
  return parse_mutation({}, "set", "add", members);
}

Result<crdt::Mutation> set_remove(const nlohmann::json& members) {
  return parse_mutation({}, "set", "remove", members);
}

nlohmann::json mutation_to_json(const crdt::Mutation& mutation) {
  Json args = std::visit(
      [](const auto& mutator) -> Json {
        using M = std::decay_t<decltype(mutator)>;
        if constexpr (std::is_same_v<M, crdt::CounterAdd>) return mutator.amount;
        if constexpr (std::is_same_v<M, crdt::RegisterSet>) {
          return crdt::parse_canonical(mutator.value);
        }
        if constexpr (std::is_same_v<M, crdt::SetAdd> || std::is_same_v<M, crdt::SetRemove>) {
          Json members = Json::array();
          for (const std::string& member : mutator.members) {
            members.push_back(crdt::parse_canonical(member));
          }
          return members;
        }
        if constexpr (std::is_same_v<M, crdt::MapRemove>) return mutator.field;
      },
      mutation.mutator);
  return Json{{"path", mutation.path},
              {"type", crdt::type_name(mutation.type)},
              {"mutator", crdt::mutator_name(mutation.mutator)},
              {"args", std::move(args)}};
}

}  // namespace neuroplex::api
