// kill -9 at random points of a write stream, many times: after every reopen the store must equal
// exactly the state at its recorded applied index (computed by replaying the same entries on the
// in-memory store). This is what "data and applied index in one WriteBatch" buys.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "replication/state_machine.h"
#include "storage/state/kv_dump.h"
#include "storage/state/memory_kv_store.h"
#include "storage/state/rocks_kv_store.h"
#include "tests/support/child_process.h"
#include "tests/support/seed.h"
#include "tests/support/workload.h"

namespace neuroplex {
namespace {

// The writer prints "ready\n" once it starts applying.
testing::ChildProcess start_writer(const std::string& dir, std::uint64_t seed) {
  return testing::spawn_with_stdout_pipe(NEUROPLEX_STATE_CRASH_WRITER, {dir, std::to_string(seed)});
}

void wait_ready(int fd) {
  char buffer[8];
  [[maybe_unused]] ssize_t n = ::read(fd, buffer, sizeof buffer);  // EOF if the child died
}

TEST(StateCrash, StoreEqualsStateAtAppliedIndexAfterEveryKill) {
  const std::uint64_t seed = neuroplex::testing::base_seed(1234);
  const std::uint64_t kills = neuroplex::testing::case_count(100);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (NEUROPLEX_TEST_SEED to replay)");
  auto dir =
      std::filesystem::path(::testing::TempDir()) / ("npx-crash-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);

  // The reference: the same entries applied in memory, advanced as the real store advances.
  storage::MemoryKvStore reference_store;
  auto reference = replication::StateMachine::open(reference_store, {});
  ASSERT_TRUE(reference.is_ok());
  neuroplex::testing::RandomWorkload workload(seed);
  std::mt19937_64 rng(seed);
  std::uint64_t kills_after_progress = 0;
  std::uint64_t kills_mid_stream = 0;

  for (std::uint64_t kill = 0; kill < kills; ++kill) {
    testing::ChildProcess writer = start_writer(dir.string(), seed);
    pid_t pid = writer.pid;
    ASSERT_GT(pid, 0);
    // One kill in five lands while the writer opens RocksDB (recovery itself interrupted);
    // the rest land in the write stream — in applies, memtable flushes and compactions.
    bool during_startup = std::bernoulli_distribution(0.2)(rng);
    if (!during_startup) wait_ready(writer.stdout_fd);
    std::this_thread::sleep_for(std::chrono::microseconds(
        std::uniform_int_distribution<int>(0, during_startup ? 5'000 : 30'000)(rng)));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    ::close(writer.stdout_fd);
    if (!during_startup) ++kills_mid_stream;
    int wait_status = 0;
    ASSERT_EQ(::waitpid(pid, &wait_status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wait_status)) << "the writer exited by itself with status "
                                          << WEXITSTATUS(wait_status) << " (kill " << kill << ")";

    auto store = storage::RocksKvStore::open(dir.string());
    ASSERT_TRUE(store.is_ok()) << "kill " << kill << ": " << store.status().to_string();
    auto machine = replication::StateMachine::open(**store, {});
    ASSERT_TRUE(machine.is_ok()) << machine.status().to_string();
    std::uint64_t applied = (*machine)->applied_index();
    ASSERT_GE(applied, (*reference)->applied_index()) << "a kill -9 lost applied entries";
    if (applied > (*reference)->applied_index()) ++kills_after_progress;
    while ((*reference)->applied_index() < applied) {
      std::uint64_t index = (*reference)->applied_index() + 1;
      ASSERT_TRUE((*reference)->apply(index, workload.batch(index)).is_ok());
    }
    Result<std::string> actual = storage::dump_all(**store);
    Result<std::string> expected = storage::dump_all(reference_store);
    ASSERT_TRUE(actual.is_ok() && expected.is_ok());
    ASSERT_EQ(*actual, *expected) << "kill " << kill << ": store differs from the state at "
                                  << "applied index " << applied;
  }
  std::printf(
      "[ crash    ] %llu kills (%llu aimed mid-stream), %llu after progress, final "
      "applied index %llu\n",
      static_cast<unsigned long long>(kills), static_cast<unsigned long long>(kills_mid_stream),
      static_cast<unsigned long long>(kills_after_progress),
      static_cast<unsigned long long>((*reference)->applied_index()));
  EXPECT_GE(kills_after_progress, kills_mid_stream / 2)
      << "kills aimed at the write stream should mostly land after some progress";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace neuroplex
