// KvStore: the state machine's view of durable state — ordered byte keys and values in a few
// fixed column families, written atomically in batches.
//
// Two implementations with identical observable behaviour:
//   - RocksKvStore (storage/state/rocks_kv_store.h): RocksDB, used by neuroplexd and by every
//     non-simulated test;
//   - MemoryKvStore (storage/state/memory_kv_store.h): std::map, used by the deterministic
//     simulator, beside the real one, never instead of it in real-process tests.
//
// Contract:
//   - write(batch) is atomic: after a crash (kill -9 included) a reopened store holds either every
//     operation of the batch or none of them, and batches survive in commit order.
//   - Reads see every completed write.
//   - A scan visitor must not write to the store it is scanning.
//   - A Column value outside the four below is INVALID_ARGUMENT (a batch holding one changes
//     nothing).
// Thread safety: one writer thread (the core thread). Concurrent reads from other threads are
// allowed on RocksKvStore only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace neuroplex::storage {

// Column families. The numeric values are not persisted; names are (see kColumnNames).
enum class Column : unsigned char {
  kKv = 0,    // CRDT documents: "<namespace>\0<key>" -> encoded document
  kVec = 1,   // vector memories (collections, memories)
  kMeta = 2,  // applied index, clock, membership, format version
  kTtl = 3,   // expiry index
};
inline constexpr int kColumnCount = 4;
inline constexpr const char* kColumnNames[kColumnCount] = {"kv", "vec", "meta", "ttl"};

// An ordered list of puts and deletes applied atomically by KvStore::write.
class WriteBatch {
 public:
  struct Operation {
    Column column;
    std::string key;
    std::optional<std::string> value;  // nullopt = delete
    std::optional<std::string> end;    // set: delete every key in [key, end) (value is nullopt)
  };

  void put(Column column, std::string_view key, std::string value) {
    ops_.push_back({column, std::string(key), std::move(value), std::nullopt});
  }
  void erase(Column column, std::string_view key) {
    ops_.push_back({column, std::string(key), std::nullopt, std::nullopt});
  }
  // Deletes every key in [begin, end) — one operation however many keys the range holds; an
  // empty or reversed range deletes nothing.
  void erase_range(Column column, std::string_view begin, std::string_view end) {
    ops_.push_back({column, std::string(begin), std::nullopt, std::string(end)});
  }
  // Moves every operation of `other` to the end of this batch.
  void append(WriteBatch&& other) {
    for (Operation& op : other.ops_) ops_.push_back(std::move(op));
    other.ops_.clear();
  }
  void clear() { ops_.clear(); }
  bool empty() const { return ops_.empty(); }
  const std::vector<Operation>& operations() const { return ops_; }

 private:
  std::vector<Operation> ops_;
};

// Called for each (key, value) of a scan in key order; return false to stop.
using ScanVisitor = std::function<bool(std::string_view key, std::string_view value)>;

class KvStore {
 public:
  virtual ~KvStore() = default;

  // The value stored at `key`, or nullopt when absent.
  virtual Result<std::optional<std::string>> get(Column column, std::string_view key) const = 0;

  // Applies every operation of `batch` atomically, in order (a later op on the same key wins).
  virtual Status write(const WriteBatch& batch) = 0;

  // Visits keys in [begin, end) in ascending byte order; an empty `end` means "to the last key".
  virtual Status scan(Column column, std::string_view begin, std::string_view end,
                      const ScanVisitor& visit) const = 0;
};

}  // namespace neuroplex::storage
