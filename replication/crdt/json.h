// Canonical JSON: the one text form of a JSON value that CRDT states store and compare.
//
// Register values and set members are kept as canonical JSON text, so that equal values have
// equal bytes (set membership, byte-identical replicas) and the CRDT code never re-parses them.
// Canonical form = nlohmann::json's compact dump (object keys sorted, UTF-8 kept as is) after:
//   - a float that is integral and within ±2^53 becomes an integer (1.0 -> 1, -0.0 -> 0);
//   - NaN and ±infinity are rejected (JSON has no spelling for them);
//   - invalid UTF-8 and nesting deeper than kMaxJsonDepth are rejected.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace neuroplex::crdt {

inline constexpr int kMaxJsonDepth = 64;

// Any JSON value.
Result<std::string> canonical_json(const nlohmann::json& value);
// A set member: null, boolean, number or string.
Result<std::string> canonical_scalar(const nlohmann::json& value);
// Parses untrusted text and returns its canonical form.
Result<std::string> canonicalize_json_text(std::string_view text);
// Parses text this process produced with canonical_json (asserts it is valid).
nlohmann::json parse_canonical(std::string_view canonical_text);

}  // namespace neuroplex::crdt
