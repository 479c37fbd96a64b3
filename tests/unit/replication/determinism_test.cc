// The same committed entries give byte-identical stores: on two RocksDB stores, on the in-memory
// store the simulator uses, and when the entries go through the log encoding.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

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

// Writes from a few pipelining clients that retry, reorder, acknowledge, go idle past the session
// expiry and come back, plus writes without ids and invalid ids. Deterministic per seed.
class SessionWorkload {
 public:
  explicit SessionWorkload(std::uint64_t seed) : rng_(seed) {
    for (auto& client : clients_) client = {rng_() | 1, 1, 0};
  }

  Batch batch() {
    switch (rng_() % 10) {
      case 0:  // a long pause: sessions expire
        now_ms_ += 3000 + rng_() % 4000;
        break;
      case 1:  // a new leader whose clock is behind
        now_ms_ -= rng_() % 2000;
        break;
      default:
        now_ms_ += rng_() % 300;
    }
    Batch batch{now_ms_, {}, {}};
    for (std::uint64_t n = 1 + rng_() % 5; n > 0; --n) {
      Client& client = clients_[rng_() % std::size(clients_)];
      if (rng_() % 40 == 0) client = {rng_() | 1, 1, 0};  // a new client process
      RequestId id{client.id, client.next_seq, client.acked_below};
      switch (rng_() % 8) {
        case 0:
        case 1:  // a retry (or a stray duplicate) of an earlier seq
          id.seq = 1 + rng_() % client.next_seq;
          id.acked_below = std::min(id.acked_below, id.seq);
          break;
        case 2:  // replies arrived
          client.acked_below += rng_() % (client.next_seq - client.acked_below + 1);
          id.acked_below = client.acked_below;
          ++client.next_seq;
          break;
        case 3:
          id = rng_() % 4 == 0 ? RequestId{client.id, 0, 0} : RequestId{};  // invalid, or none
          break;
        default:
          ++client.next_seq;
      }
      std::string key = "k" + std::to_string(rng_() % 6);
      crdt::Mutation mutation{
          {}, crdt::CrdtType::kCounter, crdt::CounterAdd{static_cast<std::int64_t>(rng_() % 100)}};
      if (rng_() % 10 == 0) mutation = {{}, crdt::CrdtType::kSet, crdt::SetAdd{{"1"}}};  // fails
      batch.operations.push_back(UpdateOp{"ns", key, {std::move(mutation)}});
      batch.request_ids.push_back(id);
    }
    return batch;
  }

 private:
  struct Client {
    std::uint64_t id;
    std::uint64_t next_seq;
    std::uint64_t acked_below;
  };
  std::mt19937_64 rng_;
  Client clients_[5];
  std::uint64_t now_ms_ = 1'000'000;
};

// The results of a run, and its store's dump.
struct SessionRun {
  std::string outcomes;
  std::string dump;
};

// `restart_every`: a new state machine (empty caches) every so many entries.
SessionRun run_sessions(storage::KvStore& store, std::uint64_t seed, bool encoded,
                        std::uint64_t restart_every, std::size_t cache_entries) {
  StateMachineOptions options;
  options.sessions = {.max_remembered = 8,
                      .idle_expiry_ms = 5000,
                      .expire_per_entry = 1,
                      .cache_entries = cache_entries};
  std::unique_ptr<StateMachine> machine;
  SessionWorkload workload(seed);
  SessionRun run;
  for (std::uint64_t index = 1; index <= 600; ++index) {
    if (machine == nullptr || index % restart_every == 0) {
      machine.reset();
      auto opened = StateMachine::open(store, options);
      EXPECT_TRUE(opened.is_ok());
      if (!opened.is_ok()) return run;
      machine = std::move(opened).value();
    }
    Batch batch = workload.batch();
    auto result =
        encoded ? machine->apply_encoded(index, encode_batch(batch)) : machine->apply(index, batch);
    EXPECT_TRUE(result.is_ok());
    if (!result.is_ok()) return run;
    for (std::size_t i = 0; i < result->results.size(); ++i) {
      run.outcomes +=
          result->results[i].to_string() + "@" + std::to_string(result->indexes[i]) + "\n";
    }
  }
  Result<std::string> dump = storage::dump_all(store);
  EXPECT_TRUE(dump.is_ok());
  if (dump.is_ok()) run.dump = std::move(dump).value();
  return run;
}

// Session expiry and forgetting happen identically everywhere: by entry timestamps, whatever a
// replica's cache holds or how often it restarted.
TEST(Determinism, ClientSessionsGiveByteIdenticalStores) {
  const std::uint64_t seed = neuroplex::testing::base_seed(44);
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto dir = temp_dir("sessions");
  SessionRun rocks;
  {
    auto store = storage::RocksKvStore::open(dir.string());
    ASSERT_TRUE(store.is_ok());
    rocks = run_sessions(**store, seed, /*encoded=*/true, /*restart_every=*/37,
                         /*cache_entries=*/3);
  }
  storage::MemoryKvStore memory;
  SessionRun reference = run_sessions(memory, seed, false, 1'000'000, std::size_t{1} << 20);
  EXPECT_EQ(rocks.outcomes, reference.outcomes);
  EXPECT_EQ(rocks.dump, reference.dump);
  // The workload did exercise the sessions: duplicates, forgotten requests, expiry.
  EXPECT_NE(reference.outcomes.find("UNAVAILABLE"), std::string::npos);
  EXPECT_NE(reference.dump.find("session/r/"), std::string::npos);
  storage::MemoryKvStore other;
  EXPECT_NE(run_sessions(other, seed + 1, false, 1'000'000, 1 << 20).dump, reference.dump);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace neuroplex::replication
