// kill -9 a process that receives and installs snapshots (snapshot_crash_worker) at random
// moments, many times. After every kill the state root must open, hold nothing but CURRENT and
// the current state directory, and that store must equal exactly the snapshot its generation
// installed (or the empty initial state), never older than the last install the worker reported
// complete. Kills land in open_current's cleanup, RocksDB recovery, chunk transfer, finish's
// fsyncs and every step of install(); the summary line counts where they landed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/snapshot/create.h"
#include "storage/snapshot/snapshot_dir.h"
#include "storage/snapshot/state_root.h"
#include "storage/state/kv_dump.h"
#include "storage/state/rocks_kv_store.h"
#include "tests/support/child_process.h"
#include "tests/support/seed.h"

namespace neuroplex {
namespace {

namespace fs = std::filesystem;
constexpr std::uint64_t kSnapshots = 4;

testing::ChildProcess start_worker(const std::string& root, const std::string& snapshots,
                                   std::uint64_t seed) {
  return testing::spawn_with_stdout_pipe(
      NEUROPLEX_SNAPSHOT_CRASH_WORKER,
      {root, snapshots, std::to_string(kSnapshots), std::to_string(seed)});
}

// Reads one report line (byte by byte, so nothing after it is consumed); "" at end of file.
std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  return line;
}

std::vector<std::string> read_all_lines(int fd) {
  std::vector<std::string> lines;
  for (std::string line = read_line(fd); !line.empty(); line = read_line(fd)) {
    lines.push_back(line);
  }
  return lines;
}

// A store whose contents depend on `j`: a few hundred keys in every column, values up to 4 KiB
// (0.3-0.9 MB per snapshot, so that transfers take a fair share of the worker's time).
void fill(storage::RocksKvStore& store, std::uint64_t seed, std::uint64_t j) {
  std::mt19937_64 rng(seed * 31 + j);
  storage::WriteBatch batch;
  for (std::uint64_t i = 0; i < 150 + 100 * j; ++i) {
    std::string value(rng() % 4096, '\0');
    for (char& c : value) c = static_cast<char>(rng());  // incompressible
    batch.put(static_cast<storage::Column>(i % storage::kColumnCount),
              "k" + std::to_string(j) + "-" + std::to_string(i), std::move(value));
  }
  ASSERT_TRUE(store.write(batch).is_ok());
}

raft::SnapshotMeta meta_of(std::uint64_t j) {
  raft::SnapshotMeta meta{100 + j, 1 + j, {}};
  for (std::uint64_t id = 1; id <= j + 1; ++id) meta.membership.members.push_back({id, true, "n"});
  return meta;
}

TEST(SnapshotCrashTest, InstalledStateSurvivesEveryKill) {
  const std::uint64_t seed = neuroplex::testing::base_seed(4321);
  const std::uint64_t kills = neuroplex::testing::case_count(200);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (NEUROPLEX_TEST_SEED to replay)");
  fs::path dir = fs::path(::testing::TempDir()) / ("npx-snap-crash-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "snaps");
  const std::string root = (dir / "root").string();
  const std::string snapshots = (dir / "snaps").string();

  // The snapshots the worker installs, and the dumps their stores must equal.
  std::vector<std::string> dumps;
  for (std::uint64_t j = 0; j < kSnapshots; ++j) {
    auto store = storage::RocksKvStore::open((dir / ("src-" + std::to_string(j))).string());
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    fill(**store, seed, j);
    auto created =
        snapshot::create_snapshot(**store, meta_of(j), snapshots + "/snap-" + std::to_string(j));
    ASSERT_TRUE(created.is_ok()) << created.status().to_string();
    Result<std::string> bytes = storage::dump_all(**store);
    ASSERT_TRUE(bytes.is_ok());
    dumps.push_back(*bytes);
  }

  std::mt19937_64 rng(seed);
  std::uint64_t generation = 0;                 // after the previous kill
  double delay_max_us = 300'000;                // until calibrated by the first run
  std::map<std::string, std::uint64_t> landed;  // phase of the last report before the kill
  std::map<std::string, std::uint64_t> leftovers;
  std::uint64_t committed_unreported = 0;
  std::uint64_t rolled_back_installs = 0;
  auto started = std::chrono::steady_clock::now();

  for (std::uint64_t kill = 0; kill < kills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill));
    testing::ChildProcess worker = start_worker(root, snapshots, seed);
    ASSERT_GT(worker.pid, 0);
    ASSERT_EQ(read_line(worker.stdout_fd), "start");
    // The first run calibrates: the window then spans about 2.5 install cycles (at most 200 ms,
    // which bounds the run time). One kill in five aims at the startup (open_current's cleanup,
    // RocksDB recovery).
    bool calibrating = kill == 0;
    double delay_us = calibrating ? 1'000'000
                      : std::bernoulli_distribution(0.2)(rng)
                          ? std::uniform_real_distribution<double>(0, delay_max_us / 6)(rng)
                          : std::uniform_real_distribution<double>(0, delay_max_us)(rng);
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<std::int64_t>(delay_us)));
    ASSERT_EQ(::kill(worker.pid, SIGKILL), 0);
    int wait_status = 0;
    ASSERT_EQ(::waitpid(worker.pid, &wait_status, 0), worker.pid);
    std::vector<std::string> lines = read_all_lines(worker.stdout_fd);
    ::close(worker.stdout_fd);
    ASSERT_TRUE(WIFSIGNALED(wait_status))
        << "the worker exited by itself with status " << WEXITSTATUS(wait_status);

    std::uint64_t reported = generation;  // the newest install the worker reported complete
    std::uint64_t installs = 0;
    std::string phase = "start";
    for (const std::string& line : lines) {
      std::istringstream in(line);
      std::uint64_t g = 0;
      in >> phase >> g;
      if (phase == "installed") reported = std::max(reported, g), ++installs;
    }
    if (calibrating) {
      double cycle_us = 1'000'000.0 / static_cast<double>(std::max<std::uint64_t>(installs, 1));
      delay_max_us = std::clamp(2.5 * cycle_us, 5'000.0, 200'000.0);
    } else {
      ++landed[phase];
    }

    // What the kill left behind, before open_current() cleans it up.
    std::set<std::string> before;
    for (const auto& entry : fs::directory_iterator(root)) {
      before.insert(entry.path().filename().string());
    }
    for (const std::string& name : before) {
      if (name.starts_with("incoming-")) ++leftovers["staging"];
      if (name == "CURRENT.tmp") ++leftovers["CURRENT.tmp"];
    }
    if (std::ranges::count_if(before,
                              [](const std::string& n) { return n.starts_with("state-"); }) > 1) {
      ++leftovers["two state dirs"];
    }

    auto state = snapshot::open_current(root);
    ASSERT_TRUE(state.is_ok()) << state.status().to_string();
    std::set<std::string> after;
    for (const auto& entry : fs::directory_iterator(root)) {
      after.insert(entry.path().filename().string());
    }
    EXPECT_EQ(after,
              (std::set<std::string>{"CURRENT", "state-" + std::to_string(state->generation)}));
    ASSERT_GE(state->generation, reported) << "a reported install was lost";
    ASSERT_LE(state->generation, reported + 1) << "more than the one unreported install";
    if (state->generation > reported) ++committed_unreported;
    if (phase == "install" && state->generation == reported) ++rolled_back_installs;
    generation = state->generation;

    auto store = storage::RocksKvStore::open(state->path);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    Result<std::string> actual = storage::dump_all(**store);
    ASSERT_TRUE(actual.is_ok()) << actual.status().to_string();
    if (generation == 1) {
      ASSERT_EQ(*actual, "") << "the initial state must be empty";
    } else {
      std::uint64_t j = (generation + seed) % kSnapshots;
      ASSERT_EQ(*actual, dumps[j]) << "generation " << generation << " is not snapshot " << j;
      auto manifest = snapshot::read_manifest(state->path);
      ASSERT_TRUE(manifest.is_ok()) << manifest.status().to_string();
      ASSERT_EQ(manifest->meta, meta_of(j));
    }
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string where;
  for (const auto& [name, n] : landed) where += " " + name + "=" + std::to_string(n);
  std::string left;
  for (const auto& [name, n] : leftovers) left += " " + name + "=" + std::to_string(n);
  std::printf(
      "[ crash    ] %llu kills in %.1f s, final generation %llu, window %.0f us; last report "
      "before kill:%s; leftovers:%s; committed but unreported %llu, install rolled back %llu\n",
      static_cast<unsigned long long>(kills), seconds, static_cast<unsigned long long>(generation),
      delay_max_us, where.c_str(), left.c_str(),
      static_cast<unsigned long long>(committed_unreported),
      static_cast<unsigned long long>(rolled_back_installs));
  // A run whose kills never reach an install proves nothing.
  if (kills >= 100) {
    EXPECT_GE(landed["install"], kills / 50) << "too few kills landed inside install()";
    EXPECT_GE(landed["receive"], kills / 20) << "too few kills landed during transfers";
    EXPECT_GE(generation, kills / 10) << "the worker made too little progress";
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace neuroplex
