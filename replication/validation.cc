#include "replication/validation.h"

#include <string>

#include "base/utf8.h"
#include "replication/crdt/document.h"

namespace neuroplex::replication {
namespace {

bool is_namespace_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::size_t mutation_payload_bytes(const crdt::Mutation& mutation) {
  std::size_t bytes = 0;
  for (const std::string& segment : mutation.path) bytes += segment.size();
  std::visit(
      [&](const auto& mutator) {
        using M = std::decay_t<decltype(mutator)>;
        if constexpr (std::is_same_v<M, crdt::RegisterSet>) bytes += mutator.value.size();
        if constexpr (std::is_same_v<M, crdt::SetAdd> || std::is_same_v<M, crdt::SetRemove>) {
          for (const std::string& member : mutator.members) bytes += member.size();
        }
        if constexpr (std::is_same_v<M, crdt::MapRemove>) bytes += mutator.field.size();
      },
      mutation.mutator);
  return bytes;
}

Status validate_field_name(std::string_view name) {
  if (name.empty()) return invalid_argument("field names must not be empty");
  if (name.size() > kMaxFieldNameBytes) {
    return invalid_argument("field name longer than " + std::to_string(kMaxFieldNameBytes) +
                            " bytes");
  }
  if (!is_valid_utf8(name)) return invalid_argument("field names must be UTF-8");
  return Status::ok();
}

Status validate_mutation(const crdt::Mutation& mutation) {
  if (mutation.path.size() > crdt::kMaxPathDepth) {
    return invalid_argument("field path deeper than " + std::to_string(crdt::kMaxPathDepth));
  }
  for (const std::string& segment : mutation.path)
    NPX_RETURN_IF_ERROR(validate_field_name(segment));
  if (const auto* remove = std::get_if<crdt::MapRemove>(&mutation.mutator)) {
    NPX_RETURN_IF_ERROR(validate_field_name(remove->field));
  }
  return Status::ok();
}

Status validate_update(const UpdateOp& update, const Limits& limits) {
  if (update.mutations.empty()) return invalid_argument("an update needs at least one operation");
  if (update.mutations.size() > limits.max_mutations_per_update) {
    return invalid_argument("an update holds at most " +
                            std::to_string(limits.max_mutations_per_update) + " operations");
  }
  for (const crdt::Mutation& mutation : update.mutations) {
    NPX_RETURN_IF_ERROR(validate_mutation(mutation));
  }
  return Status::ok();
}

}  // namespace

bool is_document_op(const WriteOp& op) {
  return std::holds_alternative<UpdateOp>(op) || std::holds_alternative<DeleteOp>(op) ||
         std::holds_alternative<MergeOp>(op);
}

const std::string& op_namespace(const WriteOp& op) {
  static const std::string kNone;
  return std::visit(
      [](const auto& o) -> const std::string& {
        if constexpr (requires { o.ns; }) {
          return o.ns;
        } else {
          return kNone;
        }
      },
      op);
}

const std::string& op_key(const WriteOp& op) {
  static const std::string kNone;
  return std::visit(
      [](const auto& o) -> const std::string& {
        if constexpr (requires { o.key; }) {
          return o.key;
        } else {
          return kNone;
        }
      },
      op);
}

std::string_view op_name(const WriteOp& op) {
  static constexpr std::string_view kNames[] = {
      "update",          "delete",     "merge",         "collection.create",
      "collection.drop", "memory.put", "memory.delete", "expire"};
  static_assert(std::size(kNames) == std::variant_size_v<WriteOp>);
  return kNames[op.index()];
}

Status validate_namespace(std::string_view ns) {
  if (ns.empty()) return invalid_argument("namespace must not be empty");
  if (ns.size() > kMaxNamespaceBytes) {
    return invalid_argument("namespace longer than " + std::to_string(kMaxNamespaceBytes) +
                            " bytes");
  }
  bool segment_empty = true;
  for (char c : ns) {
    if (c == '/') {
      if (segment_empty) break;
      segment_empty = true;
    } else if (is_namespace_char(c)) {
      segment_empty = false;
    } else {
      return invalid_argument("namespace '" + std::string(ns) +
                              "' may hold only [A-Za-z0-9._-] segments separated by '/'");
    }
  }
  if (segment_empty) {
    return invalid_argument("namespace '" + std::string(ns) + "' has an empty segment");
  }
  return Status::ok();
}

Status validate_key(std::string_view key) {
  if (key.empty()) return invalid_argument("key must not be empty");
  return validate_key_prefix(key);
}

Status validate_key_prefix(std::string_view prefix) {
  if (prefix.size() > kMaxKeyBytes) {
    return invalid_argument("key longer than " + std::to_string(kMaxKeyBytes) + " bytes");
  }
  if (!is_valid_utf8(prefix)) return invalid_argument("keys must be UTF-8");
  return Status::ok();
}

std::size_t payload_bytes(const WriteOp& op) {
  if (const auto* put = std::get_if<MemoryPutOp>(&op)) {
    return put->id.size() + put->vector.size() * sizeof(float) + put->text.size() +
           put->metadata.size();
  }
  if (const auto* update = std::get_if<UpdateOp>(&op)) {
    std::size_t bytes = 0;
    for (const crdt::Mutation& mutation : update->mutations) {
      bytes += mutation_payload_bytes(mutation);
    }
    return bytes;
  }
  if (const auto* merge = std::get_if<MergeOp>(&op)) return merge->delta.size();
  return 0;
}

Status validate_payload_size(const WriteOp& op, const Limits& limits) {
  if (std::size_t bytes = payload_bytes(op); bytes > limits.max_value_bytes) {
    return too_large(std::string(op_name(op)) + " carries " + std::to_string(bytes) +
                     " bytes; the limit is " + std::to_string(limits.max_value_bytes));
  }
  return Status::ok();
}

Status validate(const WriteOp& op, const Limits& limits) {
  if (!is_document_op(op)) return validate_vector_op(op, limits);
  NPX_RETURN_IF_ERROR(validate_namespace(op_namespace(op)));
  NPX_RETURN_IF_ERROR(validate_key(op_key(op)));
  NPX_RETURN_IF_ERROR(validate_payload_size(op, limits));
  if (const auto* update = std::get_if<UpdateOp>(&op)) return validate_update(*update, limits);
  if (const auto* merge = std::get_if<MergeOp>(&op); merge != nullptr && merge->delta.empty()) {
    return invalid_argument("merge needs a delta");
  }
  return Status::ok();
}

}  // namespace neuroplex::replication
