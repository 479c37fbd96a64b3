#include "replication/metadata.h"

#include "replication/crdt/json.h"
#include "replication/validation.h"

namespace neuroplex::replication {
namespace {

std::string term(std::string_view field, std::string_view canonical_value) {
  std::string t(field);
  t.push_back('\0');
  t.append(canonical_value);
  return t;
}

Status check_field(const std::string& field, const nlohmann::json& value) {
  if (field.empty() || field.size() > kMaxFieldNameBytes) {
    return invalid_argument("metadata field names must be 1.." +
                            std::to_string(kMaxFieldNameBytes) + " bytes");
  }
  if (value.is_object() || value.is_array()) {
    return invalid_argument("metadata field '" + field +
                            "' must be a string, number, boolean or null (metadata is flat)");
  }
  return Status::ok();
}

}  // namespace

Result<std::string> canonical_metadata(const nlohmann::json& object, const Limits& limits) {
  if (object.is_null()) return std::string();
  if (!object.is_object()) return invalid_argument("metadata must be a JSON object");
  if (object.size() > limits.max_metadata_fields) {
    return invalid_argument("metadata holds at most " + std::to_string(limits.max_metadata_fields) +
                            " fields");
  }
  for (const auto& [field, value] : object.items()) NPX_RETURN_IF_ERROR(check_field(field, value));
  if (object.empty()) return std::string();
  Result<std::string> text = crdt::canonical_json(object);
  if (!text.is_ok()) return invalid_argument("metadata: " + text.status().message());
  if (text->size() > limits.max_metadata_bytes) {
    return invalid_argument("metadata is " + std::to_string(text->size()) +
                            " bytes; the limit is " + std::to_string(limits.max_metadata_bytes));
  }
  return text;
}

Result<std::string> canonical_metadata_text(std::string_view text, const Limits& limits) {
  if (text.empty()) return std::string();
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return invalid_argument("metadata is not valid JSON");
  return canonical_metadata(parsed, limits);
}

std::vector<std::string> metadata_terms(std::string_view canonical) {
  std::vector<std::string> terms;
  if (canonical.empty()) return terms;
  const nlohmann::json object = crdt::parse_canonical(canonical);
  for (const auto& [field, value] : object.items()) {
    terms.push_back(term(field, value.dump()));  // a canonical value dumps as itself
  }
  return terms;
}

Result<std::vector<std::string>> filter_terms(const nlohmann::json& filter) {
  std::vector<std::string> terms;
  if (filter.is_null()) return terms;
  if (!filter.is_object()) return invalid_argument("filter must be a JSON object {field: value}");
  for (const auto& [field, value] : filter.items()) {
    if (Status s = check_field(field, value); !s.is_ok()) {
      return invalid_argument("filter: " + s.message());
    }
    Result<std::string> canonical = crdt::canonical_scalar(value);
    if (!canonical.is_ok()) return invalid_argument("filter: " + canonical.status().message());
    terms.push_back(term(field, *canonical));
  }
  return terms;
}

}  // namespace neuroplex::replication
