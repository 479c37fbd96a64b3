// A cluster of real neuroplexd processes on loopback, for the cluster integration tests
// (cluster_*_test.cc): node ids 1..N, each with a free port, a data directory and a log file
// (its stderr and stdout) under one TempDir. Nodes are started, killed with SIGKILL, stopped
// with SIGTERM and restarted on the same port and data directory; a node added later starts
// with --join.
//
// The nodes run through a symlink named cluster-node, out of reach of a `pkill neuroplexd` aimed
// at some other cluster on the same machine; they die with the test (PR_SET_PDEATHSIG).
//
// Threads: a Cluster belongs to the test's main thread. Processes are forked from the calling
// thread and die with it (PR_SET_PDEATHSIG), so start() must be called from the thread that
// outlives the nodes. The client library allows one Client per thread, so every helper here
// that needs a Client (status, wait_for_leader, get, ...) makes a short-lived one on a thread of
// its own: a test may hold its own Client while it calls them.
//
// Lifecycle: the destructor sends SIGTERM to every running node and fails the test when one does
// not exit cleanly (status 0) — that is how sanitizer reports from a node's shutdown surface.
// When the test failed, it prints every running node's status and the tail of every node's log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "api/client/client.h"
#include "base/status.h"
#include "tests/support/temp_dir.h"

namespace neuroplex::testing {

using NodeId = std::uint64_t;
using Millis = std::chrono::milliseconds;

struct ClusterOptions {
  int nodes = 3;
  // Flags every node gets besides --id, --listen, --data-dir and --peers/--join.
  std::vector<std::string> extra_flags;
};

// Runs `f` on a new thread and returns what it returns (see "Threads" above).
template <typename F>
auto on_own_thread(F&& f) -> std::invoke_result_t<F&> {
  std::optional<std::invoke_result_t<F&>> result;
  std::thread thread([&] { result.emplace(f()); });
  thread.join();
  return std::move(*result);
}

// A Client for `endpoints`, with a short deadline for probing (follow_leader off: the answer is
// that node's own). Must be used on the calling thread only.
Result<std::unique_ptr<client::Client>> connect_client(std::vector<std::string> endpoints,
                                                       Millis deadline, bool follow_leader);

// For ASSERT_TRUE / EXPECT_TRUE: success, or a failure that prints the status.
::testing::AssertionResult succeeded(const Status& status);

// The counter value in a get result's plain view (0 when the key does not exist).
std::int64_t counter_value(const client::GetResult& result);

// Runs `program` with `args` to completion (killed after `timeout`): its exit code (-1 when it
// did not exit normally) and its stdout and stderr together.
struct ProgramRun {
  int exit_code = -1;
  std::string output;
};
ProgramRun run_program(const std::string& program, const std::vector<std::string>& args,
                       Millis timeout);

class Cluster {
 public:
  explicit Cluster(ClusterOptions options = {});
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Starts every founding node and waits until each listens.
  [[nodiscard]] Status start_all();
  // Starts node `id` (again) on its port and data directory; waits until it listens.
  [[nodiscard]] Status start(NodeId id);
  // SIGKILL; reaps the process.
  void kill(NodeId id);
  // SIGTERM; waits for the exit. OK when the node exited with status 0.
  [[nodiscard]] Status terminate(NodeId id);
  bool running(NodeId id);  // false once the process exited (reaps it then)

  // Reserves a port and data directory for a new node (the next id), started with --join.
  NodeId add_joiner();

  std::string endpoint(NodeId id) const;
  std::vector<NodeId> ids() const;       // every node, running or not
  std::vector<NodeId> running_ids();     // those with a live process
  std::vector<std::string> endpoints();  // those of the running nodes
  std::string log(NodeId id) const;      // the node's stderr so far
  std::string data_dir(NodeId id) const;

  // The node's own status, through a Client pinned to it.
  Result<client::StatusResult> status(NodeId id, Millis deadline = Millis(1000));
  // Waits until one running node is the leader and every running node names it; its id.
  Result<NodeId> wait_for_leader(Millis timeout = Millis(15000));
  // A get through a Client pinned to node `id` (follow_leader off).
  Result<client::GetResult> get(NodeId id, const std::string& ns, const std::string& key,
                                client::Consistency consistency, Millis deadline = Millis(3000));
  // Polls node `id` with local reads until `done(result)` holds; that result, or UNAVAILABLE
  // naming the last answer when `timeout` passes first.
  Result<client::GetResult> wait_for_local(
      NodeId id, const std::string& ns, const std::string& key,
      const std::function<bool(const client::GetResult&)>& done, Millis timeout);

 private:
  struct Node {
    std::uint16_t port = 0;
    pid_t pid = -1;
    bool join = false;
    std::string died;  // how the process ended when nobody stopped it (a crash)
  };

  std::string log_path(NodeId id) const;
  void print_logs() const;
  void print_statuses();  // of every running node, on stderr

  ClusterOptions options_;
  TempDir root_;
  std::map<NodeId, Node> nodes_;
  std::string peers_;  // --peers of the founders
};

}  // namespace neuroplex::testing
