// How vector memories are laid out in the KvStore (docs/state-store.md). Integers in keys are
// u64 big-endian (key order is numeric order); inside records they are little-endian.
//
//   vec   "c/" name              -> collection: [format u8 = 1][gen u64][dim u32][metric u8]
//                                   [m u32][ef_construction u32]
//   vec   "m/" gen id            -> memory: [format u8 = 1][put_index u64][deadline_ms u64,
//                                   0 = none][text length u32][text][metadata]; put_index is
//                                   the entry that wrote it
//   vec   "v/" gen id            -> its vector: dim float32 (little-endian)
//   ttl   deadline_ms gen id     -> "": the expiry index, soonest first
//   meta  "vec/next_gen"         -> u64: the gen the next created collection gets
//         "vec/now"              -> u64: the replicated clock expiry is judged by (the largest
//                                   leader timestamp applied so far)
//
// Memories are keyed by the collection's gen, not its name: dropping a collection is a range
// delete per prefix, and a collection created again under the same name starts empty. Vectors
// live apart from the rest so that resolving search hits reads rows of a few hundred bytes, not
// kilobytes of floats (which RocksDB would decompress block by block).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/vector/distance.h"

namespace neuroplex::replication {

inline constexpr std::string_view kCollectionPrefix = "c/";
inline constexpr std::string_view kMemoryPrefix = "m/";
inline constexpr std::string_view kVectorPrefix = "v/";
inline constexpr std::string_view kMetaNextGen = "vec/next_gen";
inline constexpr std::string_view kMetaVectorNow = "vec/now";

struct CollectionRecord {
  std::uint64_t gen = 0;
  std::uint32_t dim = 0;
  vec::Metric metric = vec::Metric::kCosine;
  std::uint32_t m = 16;
  std::uint32_t ef_construction = 200;
};

struct MemoryRecord {
  std::uint64_t put_index = 0;    // the log entry that wrote it (index files catch up from it)
  std::uint64_t deadline_ms = 0;  // 0: never expires
  std::string text;
  std::string metadata;  // canonical JSON object, or empty
};

std::string collection_key(std::string_view name);
std::string memory_key(std::uint64_t gen, std::string_view id);
// The first memory key of `gen` (and, with gen + 1, the end of its range).
std::string memory_prefix(std::uint64_t gen);
std::string vector_key(std::uint64_t gen, std::string_view id);
std::string vector_prefix(std::uint64_t gen);
std::string ttl_key(std::uint64_t deadline_ms, std::uint64_t gen, std::string_view id);
// A ttl key's parts; false when it is malformed.
bool parse_ttl_key(std::string_view key, std::uint64_t& deadline_ms, std::uint64_t& gen,
                   std::string_view& id);

std::string encode_collection(const CollectionRecord& record);
Result<CollectionRecord> decode_collection(std::string_view bytes);
std::string encode_memory(const MemoryRecord& record);
Result<MemoryRecord> decode_memory(std::string_view bytes);
std::string encode_vector(const std::vector<float>& vector);
Result<std::vector<float>> decode_vector(std::string_view bytes);
// Only the deadline, or only the put index (cheap: no vector copy).
Result<std::uint64_t> memory_deadline(std::string_view bytes);
Result<std::uint64_t> memory_put_index(std::string_view bytes);

}  // namespace neuroplex::replication
