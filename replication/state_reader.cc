#include "replication/state_reader.h"

#include "replication/state_layout.h"
#include "replication/validation.h"

namespace neuroplex::replication {
namespace {

// The smallest string greater than every string that starts with `prefix`; "" when none is.
std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

}  // namespace

Result<ReadResult> read_document(const storage::KvStore& store, std::string_view ns,
                                 std::string_view key) {
  NPX_RETURN_IF_ERROR(validate_namespace(ns));
  NPX_RETURN_IF_ERROR(validate_key(key));
  Result<std::optional<std::string>> record = store.get(storage::Column::kKv, storage_key(ns, key));
  if (!record.is_ok()) return record.status();
  ReadResult result;
  if (!record->has_value()) return result;
  Result<crdt::Document> document = decode_record(**record);
  if (!document.is_ok()) return document.status();
  result.exists = document->has_content();
  result.value = document->view();
  result.types = document->types();
  return result;
}

Result<ListResult> list_keys(const storage::KvStore& store, std::string_view ns,
                             std::string_view prefix, std::string_view after, std::size_t limit) {
  NPX_RETURN_IF_ERROR(validate_namespace(ns));
  NPX_RETURN_IF_ERROR(validate_key_prefix(prefix));
  NPX_RETURN_IF_ERROR(validate_key_prefix(after));
  if (limit == 0 || limit > kMaxListLimit) {
    return invalid_argument("list limit must be 1.." + std::to_string(kMaxListLimit));
  }
  std::string begin = storage_key(ns, prefix);
  if (!after.empty()) {
    // The first key strictly after `after`.
    std::string past_after = storage_key(ns, after) + '\0';
    if (past_after > begin) begin = std::move(past_after);
  }
  std::string end = prefix_end(storage_key(ns, prefix));

  ListResult result;
  Status failure;
  Status scanned = store.scan(storage::Column::kKv, begin, end,
                              [&](std::string_view key, std::string_view value) {
                                Result<DocumentRecord> record = parse_record(value);
                                if (!record.is_ok()) {
                                  failure = record.status();
                                  return false;
                                }
                                if (!record->live)
                                  return true;  // a deleted key keeps only its causal context
                                if (result.keys.size() == limit) {
                                  result.next = result.keys.back();
                                  return false;
                                }
                                result.keys.emplace_back(key_of(key));
                                return true;
                              });
  NPX_RETURN_IF_ERROR(scanned);
  NPX_RETURN_IF_ERROR(failure);
  return result;
}

}  // namespace neuroplex::replication
