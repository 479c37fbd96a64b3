// How the replicated state is laid out in the KvStore's column families (docs/state-store.md).
//
//   kv    "<namespace>\0<key>"  -> record: [format u8 = 1][flags u8][packed CRDT document]
//                                  flags bit 0: the document has live content. A record without
//                                  it is a deleted key whose causal context must be kept, so that
//                                  an old delta merged later cannot resurrect what was deleted.
//   meta  "applied_index"       -> u64 big-endian: the last entry applied (same batch as its data)
//         "clock"               -> u64 big-endian: the state machine's hybrid clock
//         "replica_id"          -> u64 big-endian: this cluster's CRDT replica id
//
// Namespaces cannot contain '\0', so the separator keeps every namespace a contiguous, ordered
// key range: list and watch by prefix are range scans.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"
#include "replication/crdt/document.h"

namespace neuroplex::replication {

inline constexpr std::string_view kMetaAppliedIndex = "applied_index";
inline constexpr std::string_view kMetaClock = "clock";
inline constexpr std::string_view kMetaReplicaId = "replica_id";

// Also the first storage key of `ns` whose key starts with `key`, when `key` is a prefix.
std::string storage_key(std::string_view ns, std::string_view key);
// The document key inside a storage key (everything after the first '\0').
std::string_view key_of(std::string_view storage_key);

struct DocumentRecord {
  bool live = false;
  std::string_view crdt_bytes;
};

std::string encode_record(const crdt::Document& document);
Result<DocumentRecord> parse_record(std::string_view record);
Result<crdt::Document> decode_record(std::string_view record);

std::string encode_u64(std::uint64_t value);
Result<std::uint64_t> decode_u64(std::string_view bytes);

}  // namespace neuroplex::replication
