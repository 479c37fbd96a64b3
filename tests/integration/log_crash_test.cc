// kill -9 at random moments while a child appends to the Raft log (several producers, group
// commit, segment rollover, compaction snapshots), many times, alternating the io_uring and the
// sync engine: after every kill the log must open, hold every acknowledged entry with exactly the
// expected content, a snapshot and hard state at least as new as the acknowledged ones, and the
// next child continues from what was recovered.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>

#include "storage/log/log.h"
#include "tests/integration/log_crash_workload.h"
#include "tests/support/child_process.h"
#include "tests/support/seed.h"

namespace neuroplex {
namespace {

namespace workload = neuroplex::testing::log_crash;
using Clock = std::chrono::steady_clock;

testing::ChildProcess start_writer(const std::string& dir, std::uint64_t seed, const char* engine) {
  return testing::spawn_with_stdout_pipe(NEUROPLEX_LOG_CRASH_WRITER,
                                         {dir, std::to_string(seed), engine});
}

// What the children have reported acknowledged, over all of them.
struct Acknowledged {
  raft::Index last = 0;
  raft::Index snapshot = 0;
  raft::Term term = 0;
  raft::Index commit = 0;
  std::string pending;  // a partial line

  void feed(const char* data, std::size_t size) {
    pending.append(data, size);
    std::size_t end;
    while ((end = pending.find('\n')) != std::string::npos) {
      std::istringstream line(pending.substr(0, end));
      pending.erase(0, end + 1);
      std::string tag;
      line >> tag;
      std::uint64_t a = 0;
      std::uint64_t b = 0;
      if (tag == "A" && line >> a) {
        last = std::max(last, a);
      } else if (tag == "S" && line >> a) {
        snapshot = std::max(snapshot, a);
      } else if (tag == "H" && line >> a >> b) {
        term = std::max(term, a);
        commit = std::max(commit, b);
      }
    }
  }
};

// Reads what the child writes until `deadline` (or EOF); returns true when a line starting with
// `until` arrived (then it stops early).
bool drain(int fd, Acknowledged& acked, Clock::time_point deadline, const char* until = nullptr) {
  char buffer[4096];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) return false;
    pollfd poll_fd{fd, POLLIN, 0};
    const int ready = ::poll(&poll_fd, 1, static_cast<int>(left.count()));
    if (ready <= 0) return false;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return false;
    if (until != nullptr && std::string_view(buffer, static_cast<std::size_t>(n)).find(until) !=
                                std::string_view::npos) {
      acked.feed(buffer, static_cast<std::size_t>(n));
      return true;
    }
    acked.feed(buffer, static_cast<std::size_t>(n));
  }
}

TEST(LogCrash, AcknowledgedEntriesSurviveEveryKill) {
  const std::uint64_t seed = neuroplex::testing::base_seed(4242);
  const std::uint64_t kills = neuroplex::testing::case_count(200);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (NEUROPLEX_TEST_SEED to replay)");
  const auto dir =
      std::filesystem::path(::testing::TempDir()) / ("npx-log-crash-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::mt19937_64 rng(seed);
  Acknowledged acked;
  std::uint64_t torn_tails = 0;
  std::uint64_t kills_after_progress = 0;
  std::uint64_t kills_mid_stream = 0;
  std::uint64_t max_segments = 0;
  const auto start = Clock::now();

  for (std::uint64_t kill = 0; kill < kills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill));
    const char* engine = kill % 2 == 0 ? "uring" : "sync";
    const raft::Index acked_before = acked.last;
    testing::ChildProcess child = start_writer(dir.string(), seed, engine);
    ASSERT_GT(child.pid, 0);
    // One kill in six lands while the child opens the log (recovery itself interrupted).
    const bool during_startup = std::bernoulli_distribution(1.0 / 6)(rng);
    if (!during_startup) {
      ASSERT_TRUE(drain(child.stdout_fd, acked, Clock::now() + std::chrono::seconds(30), "ready"))
          << "the writer did not start";
      ++kills_mid_stream;
    }
    const int delay_us =
        std::uniform_int_distribution<int>(0, during_startup ? 5'000 : 40'000)(rng);
    drain(child.stdout_fd, acked, Clock::now() + std::chrono::microseconds(delay_us));
    ASSERT_EQ(::kill(child.pid, SIGKILL), 0);
    int wait_status = 0;
    ASSERT_EQ(::waitpid(child.pid, &wait_status, 0), child.pid);
    drain(child.stdout_fd, acked, Clock::now() + std::chrono::seconds(5));  // up to EOF
    ::close(child.stdout_fd);
    ASSERT_TRUE(WIFSIGNALED(wait_status))
        << "the writer exited by itself with status " << WEXITSTATUS(wait_status);
    if (acked.last > acked_before) ++kills_after_progress;

    std::vector<std::string> warnings;
    wal::LogOptions options;
    options.dir = dir.string();
    options.segment_bytes = 256 << 10;
    options.engine = kill % 4 < 2 ? wal::IoEngineKind::kSync : wal::IoEngineKind::kUring;
    options.warn = [&warnings](const std::string& line) { warnings.push_back(line); };
    Result<std::unique_ptr<wal::Log>> opened = wal::Log::open(options);
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    wal::Log& log = **opened;
    if (log.recovery().torn_bytes_truncated > 0) ++torn_tails;
    max_segments = std::max<std::uint64_t>(max_segments, log.recovery().segments);

    const raft::SnapshotMeta snapshot = log.snapshot();
    ASSERT_GE(log.last_index(), acked.last) << "an acknowledged entry was lost";
    ASSERT_GE(snapshot.index, acked.snapshot) << "an acknowledged snapshot was lost";
    if (snapshot.index > 0) {
      ASSERT_EQ(snapshot.term, workload::term_of(snapshot.index));
      ASSERT_EQ(snapshot.membership, workload::members());
    }
    ASSERT_GE(log.hard_state().term, acked.term) << "an acknowledged hard state was lost";
    ASSERT_GE(log.hard_state().commit, acked.commit) << "an acknowledged hard state was lost";
    ASSERT_EQ(log.first_index(), snapshot.index + 1);

    const raft::DurableState state = log.durable_state();
    ASSERT_EQ(state.entries.size(), log.last_index() - snapshot.index);
    for (std::size_t i = 0; i < state.entries.size(); ++i) {
      ASSERT_TRUE(state.entries[i] == workload::entry_of(seed, snapshot.index + 1 + i))
          << "entry " << snapshot.index + 1 + i << " differs from what was appended";
    }
    Result<std::vector<raft::Entry>> read = log.entries(log.first_index(), log.last_index() + 1);
    ASSERT_TRUE(read.is_ok()) << read.status().to_string();
    ASSERT_EQ(read->size(), state.entries.size());
    for (std::size_t i = 0; i < read->size(); ++i) {
      ASSERT_TRUE((*read)[i] == state.entries[i]) << "entries() differs at " << i;
    }
    // The recovered state is the new baseline: the next child continues from it.
    acked.last = log.last_index();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "[ crash    ] %llu kills (%llu aimed mid-stream, %llu after progress), %llu torn tails "
      "cut, last index %llu, at most %llu segments, %.1f s\n",
      static_cast<unsigned long long>(kills), static_cast<unsigned long long>(kills_mid_stream),
      static_cast<unsigned long long>(kills_after_progress),
      static_cast<unsigned long long>(torn_tails), static_cast<unsigned long long>(acked.last),
      static_cast<unsigned long long>(max_segments), seconds);
  EXPECT_GE(kills_after_progress, kills_mid_stream / 2)
      << "kills aimed at the append stream should mostly land after some progress";
  EXPECT_GT(acked.snapshot, 0U) << "no compaction snapshot was ever acknowledged";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace neuroplex
