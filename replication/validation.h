// Request validation: the single home of the rules in DESIGN.md's operation table.
//
// Stateless checks only (names, sizes, shapes). Rules that depend on stored data — TYPE_MISMATCH,
// counter overflow, the encoded size of the resulting document — are decided when the state
// machine applies the operation, because only then is the state known.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "replication/operation.h"

namespace neuroplex::replication {

inline constexpr std::size_t kMaxNamespaceBytes = 256;
inline constexpr std::size_t kMaxKeyBytes = 1024;
inline constexpr std::size_t kMaxFieldNameBytes = 256;

// Slash-separated segments of [A-Za-z0-9._-]+, at most 256 bytes: "swarm-1/agent-7".
Status validate_namespace(std::string_view ns);
// 1..1024 bytes of UTF-8.
Status validate_key(std::string_view key);
// A key prefix for list/watch: like a key, but may be empty.
Status validate_key_prefix(std::string_view prefix);

inline constexpr std::size_t kMaxCollectionNameBytes = 128;
inline constexpr std::size_t kMaxMemoryIdBytes = 256;
inline constexpr std::uint32_t kMaxTtlSeconds = 10u * 366 * 24 * 3600;

// 1..128 bytes of [A-Za-z0-9._-].
Status validate_collection_name(std::string_view name);
// 1..256 bytes of UTF-8 without NUL.
Status validate_memory_id(std::string_view id);
// 1..4096 finite components.
Status validate_vector(const std::vector<float>& vector);

// Every stateless rule for one write operation.
Status validate(const WriteOp& op, const Limits& limits);
// TOO_LARGE when payload_bytes(op) passes limits.max_value_bytes.
Status validate_payload_size(const WriteOp& op, const Limits& limits);
// The rules for the vector operations (vector_validation.cc); validate() sends them here.
Status validate_vector_op(const WriteOp& op, const Limits& limits);

// Bytes of payload an operation carries (values, members, deltas) — what max_value_bytes bounds.
std::size_t payload_bytes(const WriteOp& op);

}  // namespace neuroplex::replication
