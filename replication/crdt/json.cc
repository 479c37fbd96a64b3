#include "replication/crdt/json.h"

#include <cassert>
#include <cmath>
#include <cstdint>

namespace neuroplex::crdt {
namespace {

constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

// Rewrites integral floats as integers, in place. Fails on non-finite numbers or deep nesting.
Status normalize(nlohmann::json& value, int depth) {
  if (value.is_structured() && depth > kMaxJsonDepth) {
    return invalid_argument("JSON value nested deeper than " + std::to_string(kMaxJsonDepth));
  }
  switch (value.type()) {
    case nlohmann::json::value_t::number_float: {
      double number = value.get<double>();
      if (!std::isfinite(number)) return invalid_argument("JSON numbers must be finite");
      if (std::trunc(number) == number && std::fabs(number) <= kMaxExactInteger) {
        value = static_cast<std::int64_t>(number);
      }
      return Status::ok();
    }
    case nlohmann::json::value_t::array:
      for (auto& element : value) NPX_RETURN_IF_ERROR(normalize(element, depth + 1));
      return Status::ok();
    case nlohmann::json::value_t::object:
      for (auto& [key, element] : value.items()) {
        NPX_RETURN_IF_ERROR(normalize(element, depth + 1));
      }
      return Status::ok();
    case nlohmann::json::value_t::binary:
      return invalid_argument("binary values are not JSON");
    case nlohmann::json::value_t::discarded:
      return invalid_argument("not a JSON value");
    default:
      return Status::ok();
  }
}

bool needs_normalizing(const nlohmann::json& value) {
  return value.is_number_float() || value.is_structured() || value.is_binary() ||
         value.is_discarded();
}

}  // namespace

Result<std::string> canonical_json(const nlohmann::json& value) {
  try {
    if (!needs_normalizing(value)) return value.dump();
    nlohmann::json copy = value;
    NPX_RETURN_IF_ERROR(normalize(copy, 1));
    return copy.dump();
  } catch (const nlohmann::json::exception& e) {
    // dump() throws on invalid UTF-8 in strings.
    return invalid_argument(std::string("invalid JSON value: ") + e.what());
  }
}

Result<std::string> canonical_scalar(const nlohmann::json& value) {
  if (value.is_structured() || value.is_binary() || value.is_discarded()) {
    return invalid_argument("set members must be JSON scalars (null, boolean, number, string)");
  }
  return canonical_json(value);
}

Result<std::string> canonicalize_json_text(std::string_view text) {
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return invalid_argument("malformed JSON text");
  return canonical_json(parsed);
}

nlohmann::json parse_canonical(std::string_view canonical_text) {
  nlohmann::json parsed = nlohmann::json::parse(canonical_text, nullptr, false);
  assert(!parsed.is_discarded() && "stored JSON text is canonical by construction");
  return parsed;
}

}  // namespace neuroplex::crdt
