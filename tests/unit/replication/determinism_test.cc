// The same committed entries give byte-identical stores: on two RocksDB stores, on the in-memory
// store the simulator uses, and when the entries go through the log encoding.
#include <gtest/gtest.h>

#include <filesystem>

#include "replication/batch_codec.h"
#include "replication/state_machine.h"
#include "storage/state/kv_dump.h"
#include "storage/state/memory_kv_store.h"
#include "storage/state/rocks_kv_store.h"
#include "tests/support/seed.h"
#include "tests/support/workload.h"

namespace neuroplex::replication {
namespace {

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::path(::testing::TempDir()) /
             ("npx-det-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

std::string run(storage::KvStore& store, std::uint64_t seed, std::uint64_t entries, bool encoded,
                std::size_t cache_bytes = StateMachineOptions{}.cache_bytes) {
  auto machine =
      StateMachine::open(store, {.replica_id = 1, .limits = {}, .cache_bytes = cache_bytes});
  EXPECT_TRUE(machine.is_ok());
  neuroplex::testing::RandomWorkload workload(seed);
  for (std::uint64_t index = 1; index <= entries; ++index) {
    Batch batch = workload.batch(index);
    auto result = encoded ? (*machine)->apply_encoded(index, encode_batch(batch))
                          : (*machine)->apply(index, batch);
    EXPECT_TRUE(result.is_ok());
  }
  Result<std::string> dump = storage::dump_all(store);
  EXPECT_TRUE(dump.is_ok());
  return dump.is_ok() ? std::move(dump).value() : "";
}

TEST(Determinism, SameEntriesGiveByteIdenticalStores) {
  const std::uint64_t seed = neuroplex::testing::base_seed(42);
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto dir_a = temp_dir("a");
  auto dir_b = temp_dir("b");
  std::string dump_a, dump_b, dump_memory;
  {
    auto a = storage::RocksKvStore::open(dir_a.string());
    auto b = storage::RocksKvStore::open(dir_b.string());
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    dump_a = run(**a, seed, 400, /*encoded=*/false);
    dump_b = run(**b, seed, 400, /*encoded=*/true);
  }
  storage::MemoryKvStore memory;
  dump_memory = run(memory, seed, 400, /*encoded=*/false);
  EXPECT_GT(dump_a.size(), 1000u);  // the workload wrote real content
  EXPECT_EQ(dump_a, dump_b);
  EXPECT_EQ(dump_a, dump_memory);

  storage::MemoryKvStore other_seed;
  EXPECT_NE(run(other_seed, seed + 1, 400, false), dump_memory);  // the dump does tell apart
  std::filesystem::remove_all(dir_a);
  std::filesystem::remove_all(dir_b);
}

// The document cache only saves work: no cache, a cache so small it thrashes, and the default
// all give the same store.
TEST(Determinism, TheDocumentCacheNeverChangesTheResult) {
  const std::uint64_t seed = neuroplex::testing::base_seed(43);
  storage::MemoryKvStore none, tiny, full;
  std::string without_cache = run(none, seed, 300, false, /*cache_bytes=*/0);
  EXPECT_EQ(run(tiny, seed, 300, false, /*cache_bytes=*/4096), without_cache);
  EXPECT_EQ(run(full, seed, 300, false), without_cache);
}

}  // namespace
}  // namespace neuroplex::replication
