// The JSON side of vector memories, shared by every API (Cap'n Proto, WebSocket, neuroplexctl):
// vectors, filters, memory ids, and how collections, memories and hits look in JSON.
//
// Untrusted input: every failure is INVALID_ARGUMENT with a message naming the part, and nothing
// throws. Sizes and the other rules belong to replication::validate().
// Thread safety: pure functions, except new_memory_id's random source (thread-local).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "replication/operation.h"
#include "replication/vector_reader.h"

namespace neuroplex::api {

// [0.1, -2, 3e-5, ...]: numbers that stay finite as float32.
Result<std::vector<float>> parse_vector(const nlohmann::json& value);
Result<std::vector<float>> parse_vector_text(std::string_view text);

// {"field": scalar, ...} (or null / "" for none) as the terms a hit's metadata must all hold.
Result<std::vector<std::string>> parse_filter_text(std::string_view text);

// The id of a memory put without one. With a request id (client != 0) it is derived from it,
// so a retry of the same put lands on the same memory; otherwise 128 random bits. Hex either way.
std::string new_memory_id(const replication::RequestId& id);

// Stored metadata (canonical text, maybe empty) as a JSON object.
nlohmann::json metadata_json(std::string_view canonical);
nlohmann::json collection_json(const replication::CollectionInfo& collection);
nlohmann::json memory_json(const replication::Memory& memory);
nlohmann::json hit_json(const replication::SearchHit& hit);

}  // namespace neuroplex::api
