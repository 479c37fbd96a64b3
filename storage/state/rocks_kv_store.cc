#include "storage/state/rocks_kv_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

namespace neuroplex::storage {
namespace {

namespace fs = std::filesystem;

// "rocksdb open of '/var/lib/npx/state': Corruption: CURRENT file does not end with newline"
Status from_rocks(const rocksdb::Status& status, std::string_view what, const std::string& dir) {
  std::string message = "rocksdb " + std::string(what) + " of '" + dir + "': " + status.ToString();
  if (status.IsInvalidArgument()) return invalid_argument(std::move(message));
  if (status.IsBusy() || status.IsTimedOut() || status.IsTryAgain()) {
    return unavailable(std::move(message));
  }
  return internal_error(std::move(message));  // corruption, I/O errors and everything else
}

Status check_column(Column column) {
  if (static_cast<int>(column) >= kColumnCount) {
    return invalid_argument("unknown column " + std::to_string(static_cast<int>(column)));
  }
  return Status::ok();
}

// True for the names RocksDB itself creates in a database directory, including the leftovers of
// a creation interrupted before CURRENT was written.
bool is_rocksdb_file_name(std::string_view name) {
  static constexpr std::string_view kExact[] = {"LOCK", "IDENTITY", "LOG"};
  static constexpr std::string_view kPrefixes[] = {"LOG.old.", "MANIFEST-", "OPTIONS-"};
  static constexpr std::string_view kSuffixes[] = {".log", ".sst", ".blob", ".dbtmp"};
  return std::ranges::any_of(kExact, [&](std::string_view s) { return name == s; }) ||
         std::ranges::any_of(kPrefixes, [&](std::string_view s) { return name.starts_with(s); }) ||
         std::ranges::any_of(kSuffixes, [&](std::string_view s) { return name.ends_with(s); });
}

// Refuses paths RocksDB would otherwise happily turn into a new database: anything that is not a
// directory, and a non-empty directory with no CURRENT file and files RocksDB did not write.
Status check_store_dir(const std::string& dir) {
  if (dir.empty()) return invalid_argument("state store directory is empty");
  std::error_code ec;
  fs::file_status status = fs::status(dir, ec);
  if (status.type() == fs::file_type::not_found) return Status::ok();  // RocksDB creates it
  if (ec) return internal_error("cannot stat '" + dir + "': " + ec.message());
  if (!fs::is_directory(status)) {
    return invalid_argument("state store path '" + dir + "' exists and is not a directory");
  }
  if (fs::exists(fs::path(dir) / "CURRENT", ec)) return Status::ok();
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!is_rocksdb_file_name(name)) {
      return invalid_argument("'" + dir + "' is not a RocksDB store: it has no CURRENT file and " +
                              "holds '" + name + "'");
    }
  }
  if (ec) return internal_error("cannot list '" + dir + "': " + ec.message());
  return Status::ok();
}

rocksdb::CompressionType preferred_compression() {
  std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  bool has_lz4 = std::ranges::find(supported, rocksdb::kLZ4Compression) != supported.end();
  return has_lz4 ? rocksdb::kLZ4Compression : rocksdb::kNoCompression;
}

rocksdb::ColumnFamilyOptions column_family_options(const std::shared_ptr<rocksdb::Cache>& cache,
                                                   const RocksKvOptions& kv_options) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions options;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.compression = preferred_compression();
  if (kv_options.write_buffer_size_bytes != 0) {
    options.write_buffer_size = kv_options.write_buffer_size_bytes;
  }
  return options;
}

rocksdb::DBOptions db_options() {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.paranoid_checks = true;
  options.max_background_jobs = 2;
  // After a power loss, recover the longest prefix of whole batches (the Raft log replays the
  // rest); this is RocksDB's default, spelled out because correctness depends on it.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  return options;
}

}  // namespace

Result<std::unique_ptr<RocksKvStore>> RocksKvStore::open(const std::string& dir,
                                                         const RocksKvOptions& options) {
  NPX_RETURN_IF_ERROR(check_store_dir(dir));

  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(options.block_cache_size_bytes);
  rocksdb::ColumnFamilyOptions cf_options = column_family_options(cache, options);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (const char* name : kColumnNames) descriptors.emplace_back(name, cf_options);

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(db_options(), dir, descriptors, &handles, &raw_db);
  std::unique_ptr<rocksdb::DB> db(raw_db);
  if (!status.ok()) {
    if (db != nullptr) {
      for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
      db->Close();
    }
    return from_rocks(status, "open", dir);
  }
  if (handles.size() != descriptors.size()) {
    for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
    db->Close();
    return internal_error("rocksdb open of '" + dir + "' returned " +
                          std::to_string(handles.size()) + " column family handles, expected " +
                          std::to_string(descriptors.size()));
  }
  auto store =
      std::make_unique<RocksKvStore>(OpenKey(), dir, std::move(cache), std::move(db), handles);
  return store;
}

RocksKvStore::RocksKvStore(OpenKey, std::string dir, std::shared_ptr<rocksdb::Cache> block_cache,
                           std::unique_ptr<rocksdb::DB> db,
                           std::vector<rocksdb::ColumnFamilyHandle*> handles)
    : dir_(std::move(dir)),
      block_cache_(std::move(block_cache)),
      db_(std::move(db)),
      handles_(std::move(handles)) {}

RocksKvStore::~RocksKvStore() {
  // A failure here cannot be reported; the WAL makes the next open recover whatever was written.
  for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

rocksdb::ColumnFamilyHandle* RocksKvStore::handle(Column column) const {
  return handles_[1 + static_cast<std::size_t>(column)];
}

Result<std::optional<std::string>> RocksKvStore::get(Column column, std::string_view key) const {
  NPX_RETURN_IF_ERROR(check_column(column));
  rocksdb::PinnableSlice value;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), handle(column), key, &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return from_rocks(status, "get", dir_);
  return std::optional<std::string>(value.ToString());
}

Status RocksKvStore::write(const WriteBatch& batch) {
  if (batch.empty()) return Status::ok();
  std::size_t bytes = 64;  // RocksDB's encoding: a 12-byte header, then per op a tag, the
  for (const WriteBatch::Operation& op : batch.operations()) {  // column id and 2 varint lengths
    bytes += 16 + op.key.size() + (op.value ? op.value->size() : 0);
  }
  rocksdb::WriteBatch rocks_batch(bytes);  // one allocation instead of repeated growth
  for (const WriteBatch::Operation& op : batch.operations()) {
    NPX_RETURN_IF_ERROR(check_column(op.column));
    if (op.end.has_value() && !(op.key < *op.end)) continue;  // an empty range deletes nothing
    rocksdb::Status status =
        op.value.has_value() ? rocks_batch.Put(handle(op.column), op.key, *op.value)
        : op.end.has_value() ? rocks_batch.DeleteRange(handle(op.column), op.key, *op.end)
                             : rocks_batch.Delete(handle(op.column), op.key);
    if (!status.ok()) return from_rocks(status, "batch", dir_);
  }
  rocksdb::WriteOptions options;
  options.sync = false;        // the Raft log is the durability source (see the header)
  options.disableWAL = false;  // the WAL makes each batch atomic across column families
  rocksdb::Status status = db_->Write(options, &rocks_batch);
  if (!status.ok()) return from_rocks(status, "write", dir_);
  return Status::ok();
}

Status RocksKvStore::scan(Column column, std::string_view begin, std::string_view end,
                          const ScanVisitor& visit) const {
  NPX_RETURN_IF_ERROR(check_column(column));
  rocksdb::ReadOptions options;
  rocksdb::Slice upper_bound(end);
  if (!end.empty()) {
    if (begin >= end) return Status::ok();
    options.iterate_upper_bound = &upper_bound;
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, handle(column)));
  for (it->Seek(begin); it->Valid(); it->Next()) {
    if (!visit(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  if (!it->status().ok()) return from_rocks(it->status(), "scan", dir_);
  return Status::ok();
}

Status RocksKvStore::sync_wal() {
  rocksdb::Status status = db_->FlushWAL(/*sync=*/true);
  if (!status.ok()) return from_rocks(status, "wal sync", dir_);
  return Status::ok();
}

Status RocksKvStore::checkpoint(const std::string& target_dir) {
  if (target_dir.empty()) return invalid_argument("checkpoint directory is empty");
  std::error_code ec;
  fs::path target = fs::absolute(target_dir, ec);  // RocksDB wants an absolute path
  if (ec) return internal_error("cannot resolve '" + target_dir + "': " + ec.message());
  if (fs::exists(fs::symlink_status(target, ec))) {
    return invalid_argument("checkpoint target '" + target_dir + "' already exists");
  }
  NPX_RETURN_IF_ERROR(sync_wal());
  rocksdb::FlushOptions flush;
  flush.wait = true;
  rocksdb::Status status = db_->Flush(flush, handles_);
  if (!status.ok()) return from_rocks(status, "flush", dir_);
  rocksdb::Checkpoint* raw_checkpoint = nullptr;
  status = rocksdb::Checkpoint::Create(db_.get(), &raw_checkpoint);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw_checkpoint);
  if (!status.ok()) return from_rocks(status, "checkpoint", dir_);
  // log_size_for_flush = 0: RocksDB flushes again if anything reached the WAL since our flush.
  status = checkpoint->CreateCheckpoint(target.string(), /*log_size_for_flush=*/0);
  if (!status.ok()) return from_rocks(status, "checkpoint to '" + target.string() + "'", dir_);
  return Status::ok();
}

}  // namespace neuroplex::storage
