// How the replicated state is laid out in the KvStore's column families (docs/state-store.md).
//
//   kv    "<namespace>\0<key>"  -> record: [format u8 = 1][flags u8][packed CRDT document]
//                                  flags bit 0: the document has live content. A record without
//                                  it is a deleted key whose causal context must be kept, so that
//                                  an old delta merged later cannot resurrect what was deleted.
//   meta  "applied_index"       -> u64 big-endian: the last entry applied (same batch as its data)
//         "clock"               -> u64 big-endian: the state machine's hybrid clock
//         "replica_id"          -> u64 big-endian: this cluster's CRDT replica id
//         client sessions (replication/client_sessions.h; u64s big-endian, so key order is
//         numeric order):
//         "session/c/" client          -> [format u8 = 1][floor u64][last_used_ms u64]
//         "session/r/" client seq      -> [index u64][ErrorCode u8][message]: a remembered outcome
//         "session/t/" last_used client -> "": the expiry index, oldest session first
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

inline constexpr std::string_view kMetaSessionPrefix = "session/c/";
inline constexpr std::string_view kMetaSessionOutcomePrefix = "session/r/";
inline constexpr std::string_view kMetaSessionExpiryPrefix = "session/t/";

std::string session_key(std::uint64_t client);
// With `seq` omitted: the first outcome key of `client` (a scan bound).
std::string session_outcome_key(std::uint64_t client, std::uint64_t seq = 0);
std::string session_expiry_key(std::uint64_t last_used_ms, std::uint64_t client);
// The last u64 of a session key (the seq of an outcome key, the client of an expiry key) and the
// one before it; nullopt when `key` is not `prefix` followed by exactly two u64s.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_session_key_pair(
    std::string_view key, std::string_view prefix);

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
