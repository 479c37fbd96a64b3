// Tests of the KvStore contract, run against both implementations (TEST_P), plus RocksKvStore's
// on-disk behaviour: reopen, bad paths, corrupt stores.
#include "storage/state/kv_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "storage/state/kv_dump.h"
#include "storage/state/memory_kv_store.h"
#include "storage/state/rocks_kv_store.h"
#include "tests/support/temp_dir.h"

namespace neuroplex::storage {
namespace {

namespace fs = std::filesystem;
using neuroplex::testing::TempDir;
using Pairs = std::vector<std::pair<std::string, std::string>>;
using namespace std::string_literals;

std::unique_ptr<RocksKvStore> open_rocks(const std::string& dir) {
  Result<std::unique_ptr<RocksKvStore>> store = RocksKvStore::open(dir);
  EXPECT_TRUE(store.is_ok()) << store.status().to_string();
  return store.is_ok() ? std::move(store).value() : nullptr;
}

std::optional<std::string> get(const KvStore& store, Column column, std::string_view key) {
  Result<std::optional<std::string>> value = store.get(column, key);
  EXPECT_TRUE(value.is_ok()) << value.status().to_string();
  return value.is_ok() ? *value : std::nullopt;
}

Pairs scan(const KvStore& store, Column column, std::string_view begin = "",
           std::string_view end = "") {
  Pairs out;
  Status status = store.scan(column, begin, end, [&out](std::string_view k, std::string_view v) {
    out.emplace_back(std::string(k), std::string(v));
    return true;
  });
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  return out;
}

std::string dump(const KvStore& store) {
  Result<std::string> bytes = dump_all(store);
  EXPECT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  return bytes.is_ok() ? *bytes : std::string();
}

void put(KvStore& store, Column column, std::string_view key, std::string_view value) {
  WriteBatch batch;
  batch.put(column, key, std::string(value));
  ASSERT_TRUE(store.write(batch).is_ok());
}

void erase(KvStore& store, Column column, std::string_view key) {
  WriteBatch batch;
  batch.erase(column, key);
  ASSERT_TRUE(store.write(batch).is_ok());
}

constexpr Column kAllColumns[] = {Column::kKv, Column::kVec, Column::kMeta, Column::kTtl};

// ---------------------------------------------------------------------------------------------
// The contract, for both implementations.

enum class Impl { kMemory, kRocks };

class KvStoreTest : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override { store_ = make_store(dir_.sub("a")); }

  std::unique_ptr<KvStore> make_store(const std::string& dir) {
    if (GetParam() == Impl::kMemory) return std::make_unique<MemoryKvStore>();
    return open_rocks(dir);
  }

  TempDir dir_;
  std::unique_ptr<KvStore> store_;
};

TEST_P(KvStoreTest, GetOnMissingKeyReturnsNullopt) {
  ASSERT_NE(store_, nullptr);
  for (Column c : kAllColumns) EXPECT_EQ(get(*store_, c, "missing"), std::nullopt);
  EXPECT_EQ(get(*store_, Column::kKv, ""), std::nullopt);
}

TEST_P(KvStoreTest, PutGetOverwriteErase) {
  ASSERT_NE(store_, nullptr);
  put(*store_, Column::kKv, "k", "v1");
  EXPECT_EQ(get(*store_, Column::kKv, "k"), "v1");
  put(*store_, Column::kKv, "k", "v2");
  EXPECT_EQ(get(*store_, Column::kKv, "k"), "v2");
  put(*store_, Column::kKv, "k", "");  // an empty value is a value, not a delete
  EXPECT_EQ(get(*store_, Column::kKv, "k"), "");
  erase(*store_, Column::kKv, "k");
  EXPECT_EQ(get(*store_, Column::kKv, "k"), std::nullopt);
  erase(*store_, Column::kKv, "never-written");  // erasing a missing key is fine
  EXPECT_EQ(scan(*store_, Column::kKv), Pairs{});
}

TEST_P(KvStoreTest, BatchAppliesOpsInOrderLastWins) {
  ASSERT_NE(store_, nullptr);
  put(*store_, Column::kKv, "z", "old");
  WriteBatch batch;
  batch.put(Column::kKv, "k", "1");
  batch.put(Column::kKv, "k", "2");
  batch.erase(Column::kKv, "k");
  batch.put(Column::kKv, "k", "3");
  batch.put(Column::kKv, "j", "x");
  batch.erase(Column::kKv, "j");
  batch.erase(Column::kKv, "z");
  batch.put(Column::kKv, "z", "new");
  batch.put(Column::kMeta, "applied", "7");
  ASSERT_TRUE(store_->write(batch).is_ok());
  EXPECT_EQ(scan(*store_, Column::kKv), (Pairs{{"k", "3"}, {"z", "new"}}));
  EXPECT_EQ(get(*store_, Column::kMeta, "applied"), "7");
  EXPECT_TRUE(store_->write(WriteBatch()).is_ok());
}

TEST_P(KvStoreTest, BatchWithUnknownColumnChangesNothing) {
  ASSERT_NE(store_, nullptr);
  const auto bad = static_cast<Column>(kColumnCount);
  WriteBatch batch;
  batch.put(Column::kKv, "a", "1");
  batch.put(bad, "b", "2");
  batch.put(Column::kMeta, "c", "3");
  Status status = store_->write(batch);
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << status.to_string();
  for (Column c : kAllColumns) EXPECT_EQ(scan(*store_, c), Pairs{});
  EXPECT_EQ(store_->get(bad, "b").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->scan(bad, "", "", [](auto, auto) { return true; }).code(),
            ErrorCode::kInvalidArgument);
}

TEST_P(KvStoreTest, ColumnsAreIndependent) {
  ASSERT_NE(store_, nullptr);
  WriteBatch batch;
  for (Column c : kAllColumns) {
    batch.put(c, "same", kColumnNames[static_cast<int>(c)]);
  }
  batch.put(Column::kVec, "only-vec", "v");
  ASSERT_TRUE(store_->write(batch).is_ok());
  for (Column c : kAllColumns) {
    EXPECT_EQ(get(*store_, c, "same"), kColumnNames[static_cast<int>(c)]);
  }
  erase(*store_, Column::kMeta, "same");
  EXPECT_EQ(get(*store_, Column::kMeta, "same"), std::nullopt);
  EXPECT_EQ(get(*store_, Column::kKv, "same"), "kv");
  EXPECT_EQ(get(*store_, Column::kTtl, "same"), "ttl");
  EXPECT_EQ(get(*store_, Column::kKv, "only-vec"), std::nullopt);
  EXPECT_EQ(scan(*store_, Column::kVec), (Pairs{{"only-vec", "v"}, {"same", "vec"}}));
  EXPECT_EQ(scan(*store_, Column::kMeta), Pairs{});
}

TEST_P(KvStoreTest, ScanIsBytewiseUnsignedOrder) {
  ASSERT_NE(store_, nullptr);
  // Written out of order; bytes >= 0x80 must sort after ASCII (unsigned comparison).
  const std::vector<std::string> keys = {"\xff"s, "b"s,  "\x80"s, "a\xff"s, "\x7f"s,
                                         "a"s,    "\0"s, "a\0b"s, "\0\0"s,  "\xff\xff"s};
  WriteBatch batch;
  for (const std::string& k : keys) batch.put(Column::kKv, k, "v");
  ASSERT_TRUE(store_->write(batch).is_ok());
  const std::vector<std::string> expected = {"\0"s, "\0\0"s, "a"s,    "a\0b"s, "a\xff"s,
                                             "b"s,  "\x7f"s, "\x80"s, "\xff"s, "\xff\xff"s};
  std::vector<std::string> got;
  for (auto& [k, v] : scan(*store_, Column::kKv)) got.push_back(k);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(get(*store_, Column::kKv, "\0"s), "v");
  EXPECT_EQ(get(*store_, Column::kKv, "\xff\xff"s), "v");
}

TEST_P(KvStoreTest, ScanHonoursBounds) {
  ASSERT_NE(store_, nullptr);
  WriteBatch batch;
  for (std::string k : {"a"s, "a\0"s, "b"s, "c"s, "d"s, "\xff"s}) batch.put(Column::kKv, k, k);
  ASSERT_TRUE(store_->write(batch).is_ok());
  auto keys = [&](std::string_view begin, std::string_view end) {
    std::vector<std::string> out;
    for (auto& [k, v] : scan(*store_, Column::kKv, begin, end)) out.push_back(k);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(keys("b", "d"), (V{"b", "c"}));         // begin inclusive, end exclusive
  EXPECT_EQ(keys("bb", "cc"), (V{"c"}));            // bounds between keys
  EXPECT_EQ(keys("c", ""), (V{"c", "d", "\xff"}));  // empty end: to the last key
  EXPECT_EQ(keys("", "a\0"s), (V{"a"}));            // end with a 0x00 byte
  EXPECT_EQ(keys("a\0"s, "b"), (V{"a\0"s}));        // begin with a 0x00 byte
  EXPECT_EQ(keys("\xff", ""), (V{"\xff"}));         // begin with a 0xff byte
  EXPECT_EQ(keys("d", "\xff"), (V{"d"}));           // end with a 0xff byte
  EXPECT_EQ(keys("c", "c"), V{});                   // empty range
  EXPECT_EQ(keys("d", "b"), V{});                   // begin after end
  EXPECT_EQ(keys("\xff\xff", ""), V{});             // begin after the last key
  EXPECT_EQ(keys("", ""), (V{"a", "a\0"s, "b", "c", "d", "\xff"}));
}

TEST_P(KvStoreTest, EraseRangeRemovesExactlyTheRange) {
  ASSERT_NE(store_, nullptr);
  WriteBatch batch;
  for (std::string k : {"a"s, "b"s, "b\0"s, "bz"s, "c"s}) batch.put(Column::kKv, k, k);
  batch.put(Column::kVec, "b1", "other column");
  ASSERT_TRUE(store_->write(batch).is_ok());
  WriteBatch range;
  range.erase_range(Column::kKv, "b", "c");  // [b, c): b, b\0, bz
  range.put(Column::kKv, "bb", "written after the range delete in the same batch");
  range.erase_range(Column::kKv, "z", "a");  // empty (begin after end): nothing
  ASSERT_TRUE(store_->write(range).is_ok());
  std::vector<std::string> keys;
  for (auto& [k, v] : scan(*store_, Column::kKv)) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "bb", "c"}));
  EXPECT_EQ(get(*store_, Column::kVec, "b1"), "other column");
}

TEST_P(KvStoreTest, ScanStopsWhenVisitorReturnsFalse) {
  ASSERT_NE(store_, nullptr);
  WriteBatch batch;
  for (std::string k : {"a", "b", "c", "d"}) batch.put(Column::kTtl, k, "");
  ASSERT_TRUE(store_->write(batch).is_ok());
  std::vector<std::string> seen;
  Status status = store_->scan(Column::kTtl, "", "", [&](std::string_view k, std::string_view) {
    seen.emplace_back(k);
    return seen.size() < 2;
  });
  EXPECT_TRUE(status.is_ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
}

TEST_P(KvStoreTest, DumpAllEqualIffSameContents) {
  ASSERT_NE(store_, nullptr);
  std::unique_ptr<KvStore> other = make_store(dir_.sub("b"));
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(dump(*store_), dump(*other));
  EXPECT_EQ(dump(*store_), "");

  for (KvStore* s : {store_.get(), other.get()}) {
    WriteBatch batch;
    batch.put(Column::kKv, "ns\0doc"s, "body");
    batch.put(Column::kVec, "m1", "\x01\x02"s);
    batch.put(Column::kMeta, "applied", "12");
    batch.put(Column::kTtl, "\xff", "x");
    ASSERT_TRUE(s->write(batch).is_ok());
  }
  EXPECT_EQ(dump(*store_), dump(*other));
  EXPECT_NE(dump(*store_), "");

  put(*other, Column::kTtl, "extra", "");
  EXPECT_NE(dump(*store_), dump(*other));
  erase(*other, Column::kTtl, "extra");
  EXPECT_EQ(dump(*store_), dump(*other));

  // Same pair in a different column.
  put(*store_, Column::kKv, "p", "q");
  put(*other, Column::kVec, "p", "q");
  EXPECT_NE(dump(*store_), dump(*other));
  erase(*store_, Column::kKv, "p");
  erase(*other, Column::kVec, "p");
  EXPECT_EQ(dump(*store_), dump(*other));

  // Same concatenated bytes, different split between key and value.
  put(*store_, Column::kKv, "ab", "c");
  put(*other, Column::kKv, "a", "bc");
  EXPECT_NE(dump(*store_), dump(*other));
}

// One record whose value spells out what a second record would look like in a dump without
// length prefixes (or with constant ones): only real lengths tell the two stores apart.
TEST_P(KvStoreTest, DumpAllIsNotFooledByEmbeddedRecords) {
  ASSERT_NE(store_, nullptr);
  std::unique_ptr<KvStore> other = make_store(dir_.sub("b"));
  ASSERT_NE(other, nullptr);
  const std::string zero_length(8, '\0');
  for (const std::string& separator : {""s, zero_length}) {
    SCOPED_TRACE(separator.size());
    WriteBatch one_record;
    one_record.put(Column::kKv, "k", "v" + "\0"s + separator + "x" + separator + "y");
    ASSERT_TRUE(store_->write(one_record).is_ok());
    WriteBatch two_records;
    two_records.put(Column::kKv, "k", "v");
    two_records.put(Column::kKv, "x", "y");
    ASSERT_TRUE(other->write(two_records).is_ok());
    EXPECT_NE(dump(*store_), dump(*other));
  }
}

INSTANTIATE_TEST_SUITE_P(BothStores, KvStoreTest, ::testing::Values(Impl::kMemory, Impl::kRocks),
                         [](const ::testing::TestParamInfo<Impl>& param_info) {
                           return param_info.param == Impl::kMemory ? "Memory" : "Rocks";
                         });

// The same pseudo-random writes give byte-identical stores in both implementations.
TEST(KvStoreEquivalenceTest, RandomWritesGiveIdenticalDumps) {
  TempDir dir;
  MemoryKvStore memory;
  std::unique_ptr<RocksKvStore> rocks = open_rocks(dir.path());
  ASSERT_NE(rocks, nullptr);
  std::mt19937 rng(20240611);  // the engine's output is fully specified by the standard
  auto key = [&rng] {
    std::string k(1 + rng() % 3, '\0');
    for (char& ch : k) ch = static_cast<char>(rng() % 4 == 0 ? 0xff - rng() % 3 : rng() % 4);
    return k;
  };
  for (int round = 0; round < 200; ++round) {
    WriteBatch batch;
    const std::uint32_t ops = 1 + rng() % 8;
    for (std::uint32_t i = 0; i < ops; ++i) {
      const auto column = static_cast<Column>(rng() % kColumnCount);
      if (rng() % 3 == 0) {
        batch.erase(column, key());
      } else {
        batch.put(column, key(), std::to_string(rng()));
      }
    }
    ASSERT_TRUE(memory.write(batch).is_ok());
    ASSERT_TRUE(rocks->write(batch).is_ok());
  }
  const std::string memory_dump = dump(memory);
  EXPECT_GT(memory_dump.size(), 100u);
  EXPECT_EQ(memory_dump, dump(*rocks));
  for (Column c : kAllColumns)
    EXPECT_EQ(scan(memory, c, "\x01", "\xfe"), scan(*rocks, c, "\x01", "\xfe"));
}

// ---------------------------------------------------------------------------------------------
// RocksKvStore on disk.

TEST(RocksKvStoreTest, ReopenKeepsData) {
  TempDir dir;
  std::string before;
  {
    std::unique_ptr<RocksKvStore> store = open_rocks(dir.path());
    ASSERT_NE(store, nullptr);
    WriteBatch batch;
    for (Column c : kAllColumns) {
      batch.put(c, "k", kColumnNames[static_cast<int>(c)]);
      batch.put(c, "gone", "x");
    }
    ASSERT_TRUE(store->write(batch).is_ok());
    erase(*store, Column::kVec, "gone");
    EXPECT_TRUE(store->sync_wal().is_ok());
    put(*store, Column::kMeta, "after-sync", "1");  // unsynced but completed: survives close
    before = dump(*store);
  }
  std::unique_ptr<RocksKvStore> store = open_rocks(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(dump(*store), before);
  EXPECT_EQ(get(*store, Column::kTtl, "k"), "ttl");
  EXPECT_EQ(get(*store, Column::kVec, "gone"), std::nullopt);
  EXPECT_EQ(get(*store, Column::kKv, "gone"), "x");
  EXPECT_EQ(get(*store, Column::kMeta, "after-sync"), "1");
}

TEST(RocksKvStoreTest, OpenCreatesMissingDirectory) {
  TempDir dir;
  std::unique_ptr<RocksKvStore> store = open_rocks(dir.sub("state"));
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::exists(fs::path(dir.sub("state")) / "CURRENT"));
}

TEST(RocksKvStoreTest, OpenOnRegularFileFails) {
  TempDir dir;
  const std::string file = dir.sub("file");
  std::ofstream(file) << "not a database";
  Result<std::unique_ptr<RocksKvStore>> store = RocksKvStore::open(file);
  ASSERT_FALSE(store.is_ok());
  EXPECT_NE(store.status().message().find(file), std::string::npos) << store.status().to_string();
  EXPECT_TRUE(RocksKvStore::open("").status().code() == ErrorCode::kInvalidArgument);
}

TEST(RocksKvStoreTest, OpenOnForeignDirectoryFails) {
  TempDir dir;
  std::ofstream(dir.sub("notes.txt")) << "mine";
  Result<std::unique_ptr<RocksKvStore>> store = RocksKvStore::open(dir.path());
  ASSERT_FALSE(store.is_ok());
  EXPECT_NE(store.status().message().find("notes.txt"), std::string::npos)
      << store.status().to_string();
  EXPECT_FALSE(fs::exists(dir.sub("CURRENT")));  // nothing was written there
}

TEST(RocksKvStoreTest, OpenWithCorruptCurrentFileFails) {
  for (const std::string& garbage :
       {"garbage"s, "MANIFEST-999999\n"s, ""s, "\0\xff\x13\x37\n"s, "../../etc/passwd\n"s}) {
    SCOPED_TRACE(::testing::PrintToString(garbage));
    TempDir dir;
    {
      std::unique_ptr<RocksKvStore> store = open_rocks(dir.path());
      ASSERT_NE(store, nullptr);
      put(*store, Column::kKv, "k", "v");
    }
    std::ofstream(dir.sub("CURRENT"), std::ios::binary | std::ios::trunc) << garbage;
    Result<std::unique_ptr<RocksKvStore>> store = RocksKvStore::open(dir.path());
    ASSERT_FALSE(store.is_ok());
    EXPECT_EQ(store.status().code(), ErrorCode::kInternal) << store.status().to_string();
    EXPECT_NE(store.status().message().find(dir.path()), std::string::npos)
        << store.status().to_string();
  }
}

TEST(RocksKvStoreTest, SecondOpenOfSameDirectoryFails) {
  TempDir dir;
  std::unique_ptr<RocksKvStore> first = open_rocks(dir.path());
  ASSERT_NE(first, nullptr);
  Result<std::unique_ptr<RocksKvStore>> second = RocksKvStore::open(dir.path());
  EXPECT_FALSE(second.is_ok());
  put(*first, Column::kKv, "still", "works");
  EXPECT_EQ(get(*first, Column::kKv, "still"), "works");
}

TEST(RocksKvStoreTest, StoresInSeparateDirectoriesAreIndependent) {
  TempDir dir_a;
  TempDir dir_b;
  std::unique_ptr<RocksKvStore> a = open_rocks(dir_a.path());
  std::unique_ptr<RocksKvStore> b = open_rocks(dir_b.path());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  put(*a, Column::kKv, "k", "a");
  put(*b, Column::kKv, "k", "b");
  put(*b, Column::kMeta, "only-b", "1");
  EXPECT_EQ(get(*a, Column::kKv, "k"), "a");
  EXPECT_EQ(get(*b, Column::kKv, "k"), "b");
  EXPECT_EQ(get(*a, Column::kMeta, "only-b"), std::nullopt);
}

}  // namespace
}  // namespace neuroplex::storage
