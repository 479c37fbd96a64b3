// The processes and polling behind cluster_harness.h.
#include "tests/integration/cluster_harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace neuroplex::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kListening = "serving Cap'n Proto on";
// What the nodes run as: a symlink to neuroplexd, so that `pkill neuroplexd` or `killall
// neuroplexd` of someone else's cluster on the same machine does not stop a test's nodes.
constexpr const char* kProgramName = "cluster-node";
constexpr Millis kStartTimeout(30000);  // RocksDB and the log open slowly under ASan
constexpr Millis kExitTimeout(20000);

// `count` distinct free loopback ports: all are bound at once (so no two are equal), then freed.
std::vector<std::uint16_t> free_ports(int count) {
  std::vector<int> sockets;
  std::vector<std::uint16_t> ports;
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot find a free port";
      if (fd >= 0) ::close(fd);
      break;
    }
    sockets.push_back(fd);
    ports.push_back(ntohs(address.sin_port));
  }
  for (int fd : sockets) ::close(fd);
  return ports;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string tail_lines(const std::string& text, std::size_t lines) {
  std::size_t at = text.size();
  for (std::size_t seen = 0; at > 0 && seen <= lines;) {
    --at;
    if (text[at] == '\n') ++seen;
  }
  return text.substr(at);
}

// Waits up to `timeout` for `pid` to exit; its wait status, or nullopt while it still runs.
std::optional<int> wait_exit(pid_t pid, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0) return -1;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(Millis(10));
  }
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

}  // namespace

Result<std::unique_ptr<client::Client>> connect_client(std::vector<std::string> endpoints,
                                                       Millis deadline, bool follow_leader) {
  client::ClientOptions options;
  options.endpoints = std::move(endpoints);
  options.deadline = deadline;
  options.attempt_timeout = std::min(deadline, Millis(3000));
  options.follow_leader = follow_leader;
  return client::Client::connect(std::move(options));
}

::testing::AssertionResult succeeded(const Status& status) {
  if (status.is_ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.to_string();
}

std::int64_t counter_value(const client::GetResult& result) {
  if (!result.exists || !result.value.is_number_integer()) return 0;
  return result.value.get<std::int64_t>();
}

ProgramRun run_program(const std::string& program, const std::vector<std::string>& args,
                       Millis timeout) {
  TempDir dir;
  const std::string output_path = dir.sub("output");
  std::vector<std::string> all = {program};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : all) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int fd = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return {-1, "cannot open " + output_path};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fd);
  if (pid < 0) return {-1, "fork failed"};
  std::optional<int> status = wait_exit(pid, timeout);
  if (!status) {
    ::kill(pid, SIGKILL);
    (void)wait_exit(pid, timeout);
  }
  ProgramRun run;
  run.output = read_file(output_path);
  if (!status) {
    run.output += "\n(killed after " + std::to_string(timeout.count()) + " ms)";
  } else if (WIFEXITED(*status)) {
    run.exit_code = WEXITSTATUS(*status);
  } else {
    run.output += "\n(" + describe_exit(*status) + ")";
  }
  return run;
}

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  std::error_code error;
  std::filesystem::create_symlink(NEUROPLEX_NEUROPLEXD, root_.sub(kProgramName), error);
  if (error) ADD_FAILURE() << "cannot link " << root_.sub(kProgramName) << ": " << error.message();
  const std::vector<std::uint16_t> ports = free_ports(options_.nodes);
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const NodeId id = i + 1;
    nodes_[id].port = ports[i];
    if (!peers_.empty()) peers_ += ",";
    peers_ += std::to_string(id) + "=" + endpoint(id);
  }
}

Cluster::~Cluster() {
  if (::testing::Test::HasFailure()) print_statuses();
  for (auto& [id, node] : nodes_) {
    if (node.pid > 0) ::kill(node.pid, SIGTERM);
    if (!node.died.empty()) {
      ADD_FAILURE() << "node " << id << " died on its own with " << node.died << "; its log ends:\n"
                    << tail_lines(log(id), 60);
    }
  }
  for (auto& [id, node] : nodes_) {
    if (node.pid <= 0) continue;
    std::optional<int> status = wait_exit(node.pid, kExitTimeout);
    if (!status) {
      ::kill(node.pid, SIGKILL);
      (void)wait_exit(node.pid, kExitTimeout);
      ADD_FAILURE() << "node " << id << " did not exit within " << kExitTimeout.count()
                    << " ms of SIGTERM";
    } else if (*status != 0) {
      ADD_FAILURE() << "node " << id << " shut down with " << describe_exit(*status)
                    << " after SIGTERM; its log ends:\n"
                    << tail_lines(log(id), 60);
    }
    node.pid = -1;
  }
  if (::testing::Test::HasFailure()) print_logs();
}

Status Cluster::start_all() {
  for (const auto& [id, node] : nodes_) NPX_RETURN_IF_ERROR(start(id));
  return Status();
}

Status Cluster::start(NodeId id) {
  Node& node = nodes_.at(id);
  if (node.pid > 0) return invalid_argument("node " + std::to_string(id) + " already runs");
  const std::string program = root_.sub(kProgramName);
  // The web front on a free port of the kernel's choosing: these tests speak Cap'n Proto.
  std::vector<std::string> args = {program,      "--id",        std::to_string(id),
                                   "--listen",   endpoint(id),  "--data-dir",
                                   data_dir(id), "--ws-listen", "127.0.0.1:0"};
  if (node.join) {
    args.push_back("--join");
  } else {
    args.insert(args.end(), {"--peers", peers_});
  }
  args.insert(args.end(), options_.extra_flags.begin(), options_.extra_flags.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const std::size_t log_before = log(id).size();
  const int log_fd = ::open(log_path(id).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return internal_error("cannot open " + log_path(id));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (pid < 0) return internal_error("fork failed");
  node.pid = pid;

  const auto deadline = Clock::now() + kStartTimeout;
  while (Clock::now() < deadline) {
    if (log(id).find(kListening, log_before) != std::string::npos) return Status();
    if (!running(id)) {
      return internal_error("node " + std::to_string(id) + " exited while starting:\n" +
                            tail_lines(log(id).substr(log_before), 30));
    }
    std::this_thread::sleep_for(Millis(20));
  }
  return unavailable("node " + std::to_string(id) + " did not listen within " +
                     std::to_string(kStartTimeout.count()) + " ms");
}

void Cluster::kill(NodeId id) {
  Node& node = nodes_.at(id);
  if (node.pid <= 0) return;
  ::kill(node.pid, SIGKILL);
  (void)wait_exit(node.pid, kExitTimeout);
  node.pid = -1;
}

Status Cluster::terminate(NodeId id) {
  Node& node = nodes_.at(id);
  if (node.pid <= 0) return Status();
  ::kill(node.pid, SIGTERM);
  std::optional<int> status = wait_exit(node.pid, kExitTimeout);
  if (!status) {
    kill(id);
    return unavailable("node " + std::to_string(id) + " ignored SIGTERM");
  }
  node.pid = -1;
  if (*status != 0) {
    return internal_error("node " + std::to_string(id) + " shut down with " +
                          describe_exit(*status));
  }
  return Status();
}

bool Cluster::running(NodeId id) {
  Node& node = nodes_.at(id);
  if (node.pid <= 0) return false;
  if (std::optional<int> status = wait_exit(node.pid, Millis(0))) {
    node.died = describe_exit(*status);
    node.pid = -1;
  }
  return node.pid > 0;
}

NodeId Cluster::add_joiner() {
  const NodeId id = nodes_.rbegin()->first + 1;
  std::vector<std::uint16_t> ports;
  // A fresh port that no node of this cluster holds.
  while (true) {
    ports = free_ports(1);
    if (ports.empty()) break;
    bool taken = false;
    for (const auto& [other, node] : nodes_) taken = taken || node.port == ports[0];
    if (!taken) break;
  }
  nodes_[id] = Node{.port = ports.empty() ? std::uint16_t{0} : ports[0], .pid = -1, .join = true};
  return id;
}

std::string Cluster::endpoint(NodeId id) const {
  return "127.0.0.1:" + std::to_string(nodes_.at(id).port);
}

std::vector<NodeId> Cluster::ids() const {
  std::vector<NodeId> ids;
  for (const auto& [id, node] : nodes_) ids.push_back(id);
  return ids;
}

std::vector<NodeId> Cluster::running_ids() {
  std::vector<NodeId> ids;
  for (const auto& [id, node] : nodes_) {
    if (running(id)) ids.push_back(id);
  }
  return ids;
}

std::vector<std::string> Cluster::endpoints() {
  std::vector<std::string> endpoints;
  for (NodeId id : running_ids()) endpoints.push_back(endpoint(id));
  return endpoints;
}

std::string Cluster::log(NodeId id) const { return read_file(log_path(id)); }

std::string Cluster::data_dir(NodeId id) const { return root_.sub("node-" + std::to_string(id)); }

std::string Cluster::log_path(NodeId id) const {
  return root_.sub("node-" + std::to_string(id) + ".log");
}

void Cluster::print_logs() const {
  for (const auto& [id, node] : nodes_) {
    std::fprintf(stderr, "---- node %llu (%s), log tail ----\n%s\n",
                 static_cast<unsigned long long>(id), endpoint(id).c_str(),
                 tail_lines(log(id), 40).c_str());
  }
}

void Cluster::print_statuses() {
  for (NodeId id : running_ids()) {
    Result<client::StatusResult> got = status(id);
    if (!got.is_ok()) {
      std::fprintf(stderr, "node %llu status: %s\n", static_cast<unsigned long long>(id),
                   got.status().to_string().c_str());
      continue;
    }
    std::string members;
    for (const client::MemberInfo& member : got->members) {
      members +=
          " " + std::to_string(member.id) + ":" + member.role + "@" + std::to_string(member.match);
    }
    std::fprintf(
        stderr,
        "node %llu status: %s term %llu leader %llu commit %llu applied %llu snapshot "
        "%llu log %llu..%llu members%s\n",
        static_cast<unsigned long long>(id), got->role.c_str(),
        static_cast<unsigned long long>(got->term), static_cast<unsigned long long>(got->leader),
        static_cast<unsigned long long>(got->commit), static_cast<unsigned long long>(got->applied),
        static_cast<unsigned long long>(got->snapshot_index),
        static_cast<unsigned long long>(got->first_log_index),
        static_cast<unsigned long long>(got->last_log_index), members.c_str());
  }
}

Result<client::StatusResult> Cluster::status(NodeId id, Millis deadline) {
  const std::string address = endpoint(id);
  return on_own_thread([&]() -> Result<client::StatusResult> {
    auto client = connect_client({address}, deadline, /*follow_leader=*/false);
    if (!client.is_ok()) return client.status();
    return (*client)->status();
  });
}

Result<NodeId> Cluster::wait_for_leader(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "no node answered";
  while (Clock::now() < deadline) {
    std::optional<NodeId> agreed;
    bool all_agree = true;
    bool leader_confirms = false;
    for (NodeId id : running_ids()) {
      Result<client::StatusResult> status = this->status(id, Millis(500));
      if (!status.is_ok()) {
        last = "node " + std::to_string(id) + ": " + status.status().to_string();
        all_agree = false;
        break;
      }
      if (status->leader == 0 || (agreed && *agreed != status->leader)) {
        last = "node " + std::to_string(id) + " names leader " + std::to_string(status->leader);
        all_agree = false;
        break;
      }
      agreed = status->leader;
      if (status->node_id == status->leader && status->role == "leader") leader_confirms = true;
    }
    if (all_agree && agreed && leader_confirms) return *agreed;
    std::this_thread::sleep_for(Millis(50));
  }
  return unavailable("no agreed leader within " + std::to_string(timeout.count()) +
                     " ms; last: " + last);
}

Result<client::GetResult> Cluster::get(NodeId id, const std::string& ns, const std::string& key,
                                       client::Consistency consistency, Millis deadline) {
  const std::string address = endpoint(id);
  return on_own_thread([&]() -> Result<client::GetResult> {
    auto client = connect_client({address}, deadline, /*follow_leader=*/false);
    if (!client.is_ok()) return client.status();
    return (*client)->get(ns, key, consistency);
  });
}

Result<client::GetResult> Cluster::wait_for_local(
    NodeId id, const std::string& ns, const std::string& key,
    const std::function<bool(const client::GetResult&)>& done, Millis timeout) {
  const std::string address = endpoint(id);
  return on_own_thread([&]() -> Result<client::GetResult> {
    const auto deadline = Clock::now() + timeout;
    Result<client::GetResult> last = unavailable("never answered");
    std::unique_ptr<client::Client> client;
    while (Clock::now() < deadline) {
      if (client == nullptr) {
        auto connected = connect_client({address}, Millis(1000), /*follow_leader=*/false);
        if (connected.is_ok()) client = std::move(*connected);
      }
      if (client != nullptr) {
        last = client->get(ns, key, client::Consistency::kLocal);
        if (last.is_ok() && done(*last)) return last;
      }
      std::this_thread::sleep_for(Millis(50));
    }
    if (!last.is_ok()) return last;
    return unavailable("node's local read never satisfied the wait within " +
                       std::to_string(timeout.count()) + " ms; last value " + last->value.dump() +
                       " at index " + std::to_string(last->index));
  });
}

}  // namespace neuroplex::testing
