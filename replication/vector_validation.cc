// The stateless rules of the vector operations (collections and memories). What depends on
// stored state — an unknown collection, a vector of the wrong dimension — is decided at apply.
#include <cmath>
#include <string>

#include "base/utf8.h"
#include "replication/metadata.h"
#include "replication/validation.h"
#include "storage/vector/hnsw_index.h"

namespace neuroplex::replication {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

Status validate_put(const MemoryPutOp& put, const Limits& limits) {
  NPX_RETURN_IF_ERROR(validate_collection_name(put.collection));
  NPX_RETURN_IF_ERROR(validate_memory_id(put.id));
  NPX_RETURN_IF_ERROR(validate_vector(put.vector));
  if (put.text.size() > limits.max_memory_text_bytes) {
    return invalid_argument("text is " + std::to_string(put.text.size()) + " bytes; the limit is " +
                            std::to_string(limits.max_memory_text_bytes));
  }
  if (!is_valid_utf8(put.text)) return invalid_argument("text must be UTF-8");
  if (put.ttl_seconds > kMaxTtlSeconds) {
    return invalid_argument("ttl_seconds is at most " + std::to_string(kMaxTtlSeconds));
  }
  // Stored metadata must already be canonical: every replica stores the same bytes.
  Result<std::string> canonical = canonical_metadata_text(put.metadata, limits);
  if (!canonical.is_ok()) return canonical.status();
  if (*canonical != put.metadata) return invalid_argument("metadata is not in canonical form");
  return Status::ok();
}

}  // namespace

Status validate_collection_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxCollectionNameBytes) {
    return invalid_argument("collection names are 1.." + std::to_string(kMaxCollectionNameBytes) +
                            " bytes");
  }
  for (char c : name) {
    if (!is_name_char(c)) {
      return invalid_argument("collection name '" + std::string(name) +
                              "' may hold only [A-Za-z0-9._-]");
    }
  }
  return Status::ok();
}

Status validate_memory_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxMemoryIdBytes) {
    return invalid_argument("memory ids are 1.." + std::to_string(kMaxMemoryIdBytes) + " bytes");
  }
  if (!is_valid_utf8(id) || id.find('\0') != std::string_view::npos) {
    return invalid_argument("memory ids are UTF-8 without NUL");
  }
  return Status::ok();
}

Status validate_vector(const std::vector<float>& vector) {
  if (vector.empty() || vector.size() > vec::kMaxDim) {
    return invalid_argument("a vector has 1.." + std::to_string(vec::kMaxDim) +
                            " components, got " + std::to_string(vector.size()));
  }
  for (std::size_t i = 0; i < vector.size(); ++i) {
    if (!std::isfinite(vector[i])) {
      return invalid_argument("vector component " + std::to_string(i) + " is not a finite number");
    }
  }
  return Status::ok();
}

Status validate_vector_op(const WriteOp& op, const Limits& limits) {
  NPX_RETURN_IF_ERROR(validate_payload_size(op, limits));
  if (const auto* create = std::get_if<CollectionCreateOp>(&op)) {
    NPX_RETURN_IF_ERROR(validate_collection_name(create->name));
    if (create->dim < 1 || create->dim > vec::kMaxDim) {
      return invalid_argument("dim must be 1.." + std::to_string(vec::kMaxDim));
    }
    if (static_cast<unsigned>(create->metric) > 2) return invalid_argument("unknown metric");
    return Status::ok();
  }
  if (const auto* drop = std::get_if<CollectionDropOp>(&op)) {
    return validate_collection_name(drop->name);
  }
  if (const auto* put = std::get_if<MemoryPutOp>(&op)) return validate_put(*put, limits);
  if (const auto* remove = std::get_if<MemoryDeleteOp>(&op)) {
    NPX_RETURN_IF_ERROR(validate_collection_name(remove->collection));
    return validate_memory_id(remove->id);
  }
  return Status::ok();  // ExpireOp carries nothing
}

}  // namespace neuroplex::replication
