// MemoryKvStore: the in-memory KvStore used by the deterministic simulator — one std::map per
// column, so iteration order is bytewise like RocksDB's default comparator (std::string compares
// through char_traits<char>, which orders bytes as unsigned char).
//
// Nothing is durable: a simulated crash is modelled by the simulator, not here. write() validates
// the whole batch before touching any map, so a rejected batch changes nothing.
//
// Thread safety: none; one thread owns the store. A scan visitor must not write to the store.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "storage/state/kv_store.h"

namespace neuroplex::storage {

class MemoryKvStore final : public KvStore {
 public:
  MemoryKvStore() = default;

  Result<std::optional<std::string>> get(Column column, std::string_view key) const override;
  Status write(const WriteBatch& batch) override;
  Status scan(Column column, std::string_view begin, std::string_view end,
              const ScanVisitor& visit) const override;

 private:
  using Map = std::map<std::string, std::string, std::less<>>;

  std::array<Map, kColumnCount> columns_;  // indexed by static_cast<int>(Column)
};

}  // namespace neuroplex::storage
