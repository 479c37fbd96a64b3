// Reads of the replicated state: `get` and `list` against a KvStore.
//
// These read whatever the store holds now — this node's applied state. Linearizable and lease
// reads are built above this (ReadIndex waits until the applied index has caught up, then reads
// here). Safe to call from any thread while the core thread applies (RocksKvStore allows
// concurrent reads; each read sees a whole number of applied entries for one document).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/state/kv_store.h"

namespace neuroplex::replication {

struct ReadResult {
  bool exists = false;
  nlohmann::json value;  // the plain JSON view; null when !exists
  nlohmann::json types;  // see crdt::Document::types()
};

// INVALID_ARGUMENT for a bad namespace or key; a missing key is exists = false, not an error.
Result<ReadResult> read_document(const storage::KvStore& store, std::string_view ns,
                                 std::string_view key);

inline constexpr std::size_t kMaxListLimit = 1000;

struct ListResult {
  std::vector<std::string> keys;    // live documents only, ascending
  std::optional<std::string> next;  // pass as `after` to continue; nullopt at the end
};

// Keys of `ns` that start with `prefix` and sort after `after` (exclusive; "" = from the start).
// limit: 1..kMaxListLimit.
Result<ListResult> list_keys(const storage::KvStore& store, std::string_view ns,
                             std::string_view prefix, std::string_view after, std::size_t limit);

}  // namespace neuroplex::replication
