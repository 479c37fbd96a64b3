// neuroplexd: one Neuroplex node. With no flags: a single-node cluster (the embedded default),
// data in ./neuroplex-data, Cap'n Proto on 127.0.0.1:7400. See docs/operations.md.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "api/server/server.h"

namespace {

constexpr const char* kUsage = R"(usage: neuroplexd [flags]
  --id ID                  this node's id (default 1)
  --listen HOST:PORT       Cap'n Proto for clients and peers (default 127.0.0.1:7400)
  --ws-listen HOST:PORT    WebSocket and HTTP: /ws, /metrics, /healthz, /readyz, the dashboard
                           (default 127.0.0.1:7401; port 0 picks a free one)
  --data-dir DIR           where the log and state live (default ./neuroplex-data)
  --peers ID=HOST:PORT,... the founding members, this node included; bootstraps that cluster on
                           first start (default: this node alone)
  --join                   start empty and wait to be added (neuroplexctl members add)
  --io-engine uring|sync   how the Raft log writes (default uring; falls back to sync)
  --repair-log             cut the log at the first corrupt record instead of refusing to start
  --tick-ms N              Raft tick period (default 10)
  --election-ticks N       election timeout in ticks (default 30)
  --heartbeat-ticks N      heartbeat period in ticks (default 5)
  --snapshot-every N       take a snapshot every N applied entries (default 20000)
  --snapshot-retain N      log entries kept behind a snapshot for slow followers (default 5000)
  --search-threads N       threads that run vector searches (default 2)
)";

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "neuroplexd: %s\n%s", message.c_str(), kUsage);
  std::exit(2);
}

std::uint64_t parse_number(std::string_view flag, const std::string& text) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value == 0) {
    usage_error(std::string(flag) + " takes a positive integer, not '" + text + "'");
  }
  return value;
}

neuroplex::raft::Membership parse_peers(const std::string& text) {
  neuroplex::raft::Membership membership;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma - start);
    const std::size_t equals = item.find('=');
    if (equals == std::string::npos || equals + 1 == item.size()) {
      usage_error("--peers wants ID=HOST:PORT,..., not '" + item + "'");
    }
    const std::uint64_t id = parse_number("--peers", item.substr(0, equals));
    if (membership.contains(id))
      usage_error("--peers names node " + item.substr(0, equals) + " twice");
    membership.members.push_back({id, true, item.substr(equals + 1)});
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::sort(membership.members.begin(), membership.members.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return membership;
}

}  // namespace

int main(int argc, char** argv) {
  neuroplex::server::ServerOptions options;
  std::string peers;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) usage_error(flag + " needs a value");
      return args[++i];
    };
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (flag == "--id") {
      options.node.id = parse_number(flag, value());
    } else if (flag == "--listen") {
      options.listen = value();
    } else if (flag == "--ws-listen") {
      options.ws_listen = value();
    } else if (flag == "--data-dir") {
      options.node.data_dir = value();
    } else if (flag == "--peers") {
      peers = value();
    } else if (flag == "--join") {
      options.node.join = true;
    } else if (flag == "--io-engine") {
      auto engine = neuroplex::wal::parse_io_engine(value());
      if (!engine.is_ok()) usage_error(engine.status().message());
      options.node.io_engine = *engine;
    } else if (flag == "--repair-log") {
      options.node.repair_log = true;
    } else if (flag == "--tick-ms") {
      options.node.tick = std::chrono::milliseconds(parse_number(flag, value()));
    } else if (flag == "--election-ticks") {
      options.node.election_ticks = static_cast<int>(parse_number(flag, value()));
    } else if (flag == "--heartbeat-ticks") {
      options.node.heartbeat_ticks = static_cast<int>(parse_number(flag, value()));
    } else if (flag == "--snapshot-every") {
      options.node.snapshot_every = parse_number(flag, value());
    } else if (flag == "--snapshot-retain") {
      options.node.snapshot_retain = parse_number(flag, value());
    } else if (flag == "--search-threads") {
      options.node.search_threads = parse_number(flag, value());
    } else {
      usage_error("unknown flag " + flag);
    }
  }
  if (options.node.heartbeat_ticks >= options.node.election_ticks) {
    usage_error("--heartbeat-ticks must be below --election-ticks");
  }
  options.node.address = options.listen;
  if (!peers.empty()) {
    options.node.founders = parse_peers(peers);
    const neuroplex::raft::Member* self = options.node.founders.find(options.node.id);
    if (self == nullptr && !options.node.join) {
      usage_error("--peers must include this node (--id " + std::to_string(options.node.id) + ")");
    }
    if (self != nullptr) options.node.address = self->address;
  } else if (!options.node.join) {
    options.node.founders.members.push_back({options.node.id, true, options.listen});
  }
  return neuroplex::server::run_server(options);
}
