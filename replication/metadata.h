// A memory's metadata: a flat JSON object of scalars (string, number, boolean, null), stored as
// canonical JSON text (replication/crdt/json.h) so equal metadata are equal bytes on every node.
// Each field is also a filter term, "<field>\0<canonical value>" — a search filter
// {field: value, ...} becomes the same terms, so 5 and 5.0 match and "5" does not.
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "replication/operation.h"

namespace neuroplex::replication {

// The canonical text of `object`: INVALID_ARGUMENT unless it is an object of at most
// limits.max_metadata_fields scalar fields whose names are 1..256 bytes, in at most
// limits.max_metadata_bytes.
Result<std::string> canonical_metadata(const nlohmann::json& object, const Limits& limits);
// Same, from JSON text (null or "" mean no metadata and give "").
Result<std::string> canonical_metadata_text(std::string_view text, const Limits& limits);

// The filter terms of stored (canonical) metadata.
std::vector<std::string> metadata_terms(std::string_view canonical);

// The terms a search filter {field: scalar, ...} must all match (AND). An empty object or null
// filters nothing.
Result<std::vector<std::string>> filter_terms(const nlohmann::json& filter);

}  // namespace neuroplex::replication
