// Internal to api/web: typed access to a request's JSON arguments, shared by the operation
// readers (json_protocol.cc, vector_calls.cc). Every refusal names the field.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"
#include "node/core.h"
#include "replication/operation.h"

namespace neuroplex::web {

using nlohmann::json;

// The arguments of one request: typed field access that names the field in every error.
class Args {
 public:
  explicit Args(const json& object) : object_(object) {}

  // Every field must be one the operation knows ("id" and "op" always are).
  Status only(std::initializer_list<std::string_view> known) const {
    for (const auto& [name, value] : object_.items()) {
      if (name == "id" || name == "op") continue;
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        return invalid_argument("unknown field \"" + name + "\"");
      }
    }
    return Status::ok();
  }

  const json* find(std::string_view name) const {
    auto it = object_.find(name);
    return it == object_.end() ? nullptr : &*it;
  }

  Result<std::string> string(std::string_view name, bool required = true) const {
    const json* value = find(name);
    if (value == nullptr) {
      if (required) return missing(name);
      return std::string();
    }
    if (!value->is_string()) return wrong_type(name, "a string");
    return value->get<std::string>();
  }

  Result<std::uint64_t> unsigned_integer(std::string_view name, bool required = true) const {
    const json* value = find(name);
    if (value == nullptr) {
      if (required) return missing(name);
      return std::uint64_t{0};
    }
    if (value->is_number_unsigned()) return value->get<std::uint64_t>();
    if (value->is_number_integer() && value->get<std::int64_t>() >= 0) {
      return static_cast<std::uint64_t>(value->get<std::int64_t>());
    }
    return wrong_type(name, "a non-negative integer");
  }

  Result<bool> boolean(std::string_view name) const {
    const json* value = find(name);
    if (value == nullptr) return false;
    if (!value->is_boolean()) return wrong_type(name, "true or false");
    return value->get<bool>();
  }

  const json& required_value(std::string_view name, Status& status) const {
    static const json kNull;
    const json* value = find(name);
    if (value == nullptr) {
      status = missing(name);
      return kNull;
    }
    return *value;
  }

 private:
  static Status missing(std::string_view name) {
    return invalid_argument("missing field \"" + std::string(name) + "\"");
  }
  static Status wrong_type(std::string_view name, std::string_view expected) {
    return invalid_argument("field \"" + std::string(name) + "\" must be " + std::string(expected));
  }

  const json& object_;
};

// Unwraps a Result into `out`, returning its status (for the chains of fields below).
template <typename T>
Status take(Result<T> result, T& out) {
  if (!result.is_ok()) return result.status();
  out = std::move(*result);
  return Status::ok();
}

Result<replication::RequestId> request_id_of(const Args& args);
// "consistency": linearizable (default), lease or local.
Result<node::Consistency> consistency_of(const Args& args);

}  // namespace neuroplex::web
