// RocksKvStore: the RocksDB-backed KvStore used by neuroplexd and every non-simulated test.
//
// Layout: one RocksDB database per store directory with the column families "kv", "vec",
// "meta" and "ttl" (kColumnNames) beside RocksDB's mandatory "default", which stays empty.
// Missing column families and a missing directory are created on open.
//
// Durability: the WAL is on and writes use sync=false. The Raft log is the durability source
// (state is rebuilt by re-applying committed entries after the applied index stored in "meta"),
// so the state store only has to be crash-consistent: every completed write is in the OS page
// cache, so a kill -9 keeps all of it, and after a power loss WAL replay yields a prefix of whole
// batches. sync_wal() forces durability when it matters (before a snapshot is published or the
// Raft log is truncated).
//
// Checkpoints: checkpoint() writes an openable, self-contained copy of the store into a new
// directory (the data of a state snapshot, see docs/snapshots.md).
//
// Errors: every RocksDB failure becomes a Status (kInternal for corruption and I/O errors, with
// the RocksDB message and the store path); nothing throws or aborts on bad input or bad files.
//
// Thread safety: one writer thread; get() and scan() may run concurrently from other threads.
// Lifecycle: open() -> use -> destructor closes the database.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/state/kv_store.h"

namespace rocksdb {
class Cache;
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace neuroplex::storage {

struct RocksKvOptions {
  // LRU block cache shared by all column families of the store.
  std::size_t block_cache_size_bytes = std::size_t{64} << 20;
  // Memtable size per column family. The state machine rewrites whole documents, so a memtable
  // fills with versions of the same keys, and skiplist inserts into a big one miss the CPU cache
  // at every level: 8 MiB measured fastest (bench/state_apply_bench --write-buffer-mb: 4, 8, 16
  // and RocksDB's default 64 MiB). Crash tests make it tiny so that kills also land during
  // flushes and compactions.
  std::size_t write_buffer_size_bytes = std::size_t{8} << 20;
};

class RocksKvStore final : public KvStore {
  struct OpenKey {
    explicit OpenKey() = default;
  };

 public:
  // Opens (creating if missing) the store in `dir`. Fails with a Status, never a crash, when `dir`
  // is not a directory, is a non-empty directory that holds no RocksDB store, is locked by another
  // open store, or holds a corrupt store.
  static Result<std::unique_ptr<RocksKvStore>> open(const std::string& dir,
                                                    const RocksKvOptions& options = {});

  // Only open() can call this (OpenKey is private).
  RocksKvStore(OpenKey, std::string dir, std::shared_ptr<rocksdb::Cache> block_cache,
               std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles);
  ~RocksKvStore() override;
  RocksKvStore(const RocksKvStore&) = delete;
  RocksKvStore& operator=(const RocksKvStore&) = delete;

  Result<std::optional<std::string>> get(Column column, std::string_view key) const override;
  Status write(const WriteBatch& batch) override;
  Status scan(Column column, std::string_view begin, std::string_view end,
              const ScanVisitor& visit) const override;

  // Makes every completed write durable (fsyncs the WAL).
  Status sync_wal();

  // Writes a RocksDB checkpoint of the current contents into `target_dir`, which must not exist
  // (INVALID_ARGUMENT otherwise) and whose parent must. The WAL is synced and every column family
  // flushed first, so the checkpoint holds every completed write in its SST files and opens on
  // its own. SST files are hard links when `target_dir` is on the store's filesystem (they are
  // immutable), copies otherwise. Call it from the writer thread: a write racing with it may or
  // may not be in the checkpoint. On failure a partial `target_dir` may remain; the caller removes
  // it.
  Status checkpoint(const std::string& target_dir);

  const std::string& dir() const { return dir_; }

 private:
  rocksdb::ColumnFamilyHandle* handle(Column column) const;

  std::string dir_;
  // shared_ptr because RocksDB's table options take the cache by shared_ptr; the store keeps a
  // reference so the cache outlives the database.
  std::shared_ptr<rocksdb::Cache> block_cache_;
  std::unique_ptr<rocksdb::DB> db_;
  // handles_[0] is "default"; handles_[1 + c] belongs to Column c. Owned; destroyed before db_.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace neuroplex::storage
