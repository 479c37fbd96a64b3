#include "storage/state/memory_kv_store.h"

#include <string>

namespace neuroplex::storage {
namespace {

Status check_column(Column column) {
  if (static_cast<int>(column) >= kColumnCount) {
    return invalid_argument("unknown column " + std::to_string(static_cast<int>(column)));
  }
  return Status::ok();
}

}  // namespace

Result<std::optional<std::string>> MemoryKvStore::get(Column column, std::string_view key) const {
  NPX_RETURN_IF_ERROR(check_column(column));
  const Map& map = columns_[static_cast<int>(column)];
  auto it = map.find(key);
  if (it == map.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status MemoryKvStore::write(const WriteBatch& batch) {
  // Validate first so that a rejected batch leaves every column untouched (atomicity).
  for (const WriteBatch::Operation& op : batch.operations()) {
    NPX_RETURN_IF_ERROR(check_column(op.column));
  }
  for (const WriteBatch::Operation& op : batch.operations()) {
    Map& map = columns_[static_cast<int>(op.column)];
    if (op.value.has_value()) {
      map.insert_or_assign(op.key, *op.value);
    } else if (op.end.has_value()) {
      if (op.key < *op.end) map.erase(map.lower_bound(op.key), map.lower_bound(*op.end));
    } else {
      map.erase(op.key);
    }
  }
  return Status::ok();
}

Status MemoryKvStore::scan(Column column, std::string_view begin, std::string_view end,
                           const ScanVisitor& visit) const {
  NPX_RETURN_IF_ERROR(check_column(column));
  const Map& map = columns_[static_cast<int>(column)];
  for (auto it = map.lower_bound(begin); it != map.end(); ++it) {
    if (!end.empty() && std::string_view(it->first) >= end) break;
    if (!visit(it->first, it->second)) break;
  }
  return Status::ok();
}

}  // namespace neuroplex::storage
