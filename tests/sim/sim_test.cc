// The deterministic cluster simulation as a test: every scenario runs a batch of seeds.
//
//   NEUROPLEX_SIM_SEEDS=<n>       seeds per scenario (default: the scenario's default_seeds)
//   NEUROPLEX_SIM_FIRST_SEED=<n>  first seed of the batch (default 1; seeds are consecutive)
//   NEUROPLEX_SIM_SEED=<n>        run only this seed (what a failure's replay line sets)
//   NEUROPLEX_SIM_TRACE=1         print every delivery and Ready of the run(s) to stderr
//
// A failing seed prints exactly one line starting with "replay:" that reruns just that seed; the
// line is also printed if the process dies (an assert in the Raft core, a sanitizer report).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/sim/scenarios.h"
#include "tests/sim/sim_cluster.h"
#include "tests/support/seed.h"

namespace neuroplex::sim {
namespace {

using neuroplex::testing::env_or;

bool trace_requested() { return env_or("NEUROPLEX_SIM_TRACE", 0) != 0; }

// The test binary as a person would type it: relative from the build directory's parent when
// the path contains "build/", else absolute.
std::string binary_path() {
  char buffer[4096];
  const ssize_t size = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (size <= 0) return "sim_test";
  std::string path(buffer, static_cast<std::size_t>(size));
  const std::size_t build = path.rfind("/build/");
  return build == std::string::npos ? path : path.substr(build + 1);
}

std::string replay_line(const std::string& scenario, std::uint64_t seed) {
  return "replay: NEUROPLEX_SIM_SEED=" + std::to_string(seed) + " " + binary_path() +
         " --gtest_filter=Scenarios/SimTest.Run/" + scenario;
}

// Printed by the signal handler when the process dies inside a run.
char g_replay[1024];

extern "C" void print_replay_and_die(int signal_number) {
  if (g_replay[0] != '\0') {
    const std::size_t length = std::strlen(g_replay);
    (void)!write(STDERR_FILENO, "\n", 1);
    (void)!write(STDERR_FILENO, g_replay, length);
    (void)!write(STDERR_FILENO, "\n", 1);
  }
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

void arm_replay(const std::string& line) {
  std::snprintf(g_replay, sizeof(g_replay), "%s", line.c_str());
  std::signal(SIGABRT, print_replay_and_die);
  std::signal(SIGSEGV, print_replay_and_die);
}

void disarm_replay() { g_replay[0] = '\0'; }

std::vector<std::string> scenario_names() {
  std::vector<std::string> names;
  for (const Scenario& scenario : scenarios()) names.push_back(scenario.name);
  return names;
}

class SimTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SimTest, Run) {
  const Scenario* scenario = find_scenario(GetParam());
  ASSERT_NE(scenario, nullptr);
  std::uint64_t first = env_or("NEUROPLEX_SIM_FIRST_SEED", 1);
  std::uint64_t count =
      env_or("NEUROPLEX_SIM_SEEDS", static_cast<std::uint64_t>(scenario->default_seeds));
  if (const std::uint64_t only = env_or("NEUROPLEX_SIM_SEED", 0); only != 0) {
    first = only;
    count = 1;
  }
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t events = 0;
  std::uint64_t ops = 0;
  std::uint64_t unknown = 0;
  std::uint64_t leases = 0;
  Time simulated = 0;
  Hasher traces;  // all the batch's trace hashes: equal across builds and machines
  for (std::uint64_t seed = first; seed < first + count; ++seed) {
    arm_replay(replay_line(scenario->name, seed));
    const RunResult result = run_scenario(*scenario, seed, trace_requested());
    disarm_replay();
    if (!result.ok) {
      std::fprintf(stderr, "%s\n", replay_line(scenario->name, seed).c_str());
      FAIL() << result.failure;
    }
    events += result.events;
    ops += result.ops_completed;
    unknown += result.ops_unknown;
    leases += result.lease_reads;
    simulated += result.simulated;
    traces.add(result.trace_hash);
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "%s: %llu seeds from %llu, %.1f s simulated, %llu events, %llu ops completed, "
      "%llu unknown, %llu lease reads, trace %016llx, %.2f s wall\n",
      scenario->name.c_str(), static_cast<unsigned long long>(count),
      static_cast<unsigned long long>(first), static_cast<double>(simulated) / kSeconds,
      static_cast<unsigned long long>(events), static_cast<unsigned long long>(ops),
      static_cast<unsigned long long>(unknown), static_cast<unsigned long long>(leases),
      static_cast<unsigned long long>(traces.value()), wall);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, SimTest, ::testing::ValuesIn(scenario_names()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param;
                         });

// The same seed gives the same run, message for message; another seed another run.
TEST(SimDeterminism, SameSeedSameTrace) {
  const Scenario* scenario = find_scenario("everything_n5");
  ASSERT_NE(scenario, nullptr);
  const RunResult first = run_scenario(*scenario, 42);
  const RunResult again = run_scenario(*scenario, 42);
  const RunResult other = run_scenario(*scenario, 43);
  ASSERT_TRUE(first.ok) << first.failure;
  ASSERT_TRUE(other.ok) << other.failure;
  EXPECT_EQ(first.trace_hash, again.trace_hash);
  EXPECT_EQ(first.events, again.events);
  EXPECT_EQ(first.messages, again.messages);
  EXPECT_NE(first.trace_hash, other.trace_hash);
}

// The benchmark entry points work and report plausible numbers.
TEST(SimBench, ThroughputAndFailover) {
  const ThroughputReport throughput = measure_propose_throughput(2000);
  EXPECT_EQ(throughput.entries, 2000u);
  EXPECT_GT(throughput.entries_per_second, 0);
  const FailoverReport failover = measure_failover(7);
  ASSERT_TRUE(failover.ok);
  EXPECT_GT(failover.failover, 0u);
  // An election timeout is 100-200 ms; pre-vote and the vote add a few round trips.
  EXPECT_LT(failover.failover, 2 * kSeconds);
  std::printf(
      "throughput: %llu entries in %.3f s wall (%.0f entries/s, %.1f ms simulated); "
      "failover: %.1f ms simulated\n",
      static_cast<unsigned long long>(throughput.entries), throughput.wall_seconds,
      throughput.entries_per_second, static_cast<double>(throughput.simulated) / kMillis,
      static_cast<double>(failover.failover) / kMillis);
}

}  // namespace
}  // namespace neuroplex::sim
