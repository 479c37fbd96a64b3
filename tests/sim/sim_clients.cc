#include "tests/sim/sim_clients.h"

#include <algorithm>
#include <cassert>

namespace neuroplex::sim {

SimClients::SimClients(SimCluster& cluster, ClientOptions options)
    : cluster_(cluster), options_(options), random_(cluster.fork_random()) {
  for (int i = 0; i < options_.clients; ++i) {
    Client client;
    client.id = static_cast<std::uint64_t>(i) + 1;
    client.seen.resize(static_cast<std::size_t>(options_.keys));
    clients_.push_back(std::move(client));
  }
  cluster_.set_observer(this);
}

SimClients::~SimClients() { cluster_.set_observer(nullptr); }

void SimClients::start() {
  for (Client& client : clients_) {
    schedule(client, random_.range(options_.think_min, options_.think_max), &SimClients::issue);
  }
}

bool SimClients::idle() const {
  for (const Client& client : clients_) {
    if (client.phase != Phase::kIdle) return false;
  }
  return true;
}

std::string SimClients::incomplete_required_ops() const {
  std::string text;
  for (std::size_t i = 0; i < history_.size(); ++i) {
    const HistoryOp& op = history_[i];
    if (op.invoke_time < must_complete_after_ || op.return_time != kNeverReturned) continue;
    const Client& client = clients_[op.client - 1];
    const bool pending = client.phase != Phase::kIdle && client.op == i;
    text += "  client " + std::to_string(op.client) + " " +
            (op.kind == OpKind::kGet   ? "get"
             : op.kind == OpKind::kPut ? "put"
                                       : "cas") +
            " " + op.key + " invoked at t=" + std::to_string(op.invoke_time) + "us " +
            (pending ? "still pending" : "timed out or lost") + "\n";
  }
  return text;
}

// Runs `step` on `client` after `delay` unless the client moved on in between.
void SimClients::schedule(Client& client, Time delay, void (SimClients::*step)(Client&)) {
  const std::size_t index = static_cast<std::size_t>(client.id - 1);
  const std::uint64_t token = ++client.token;
  cluster_.events().after(delay, [this, index, token, step] {
    Client& target = clients_[index];
    if (target.token == token) (this->*step)(target);
  });
}

void SimClients::issue(Client& client) {
  if (stopped_ || client.phase != Phase::kIdle) return;
  const auto key_index = static_cast<std::size_t>(random_.below(clients_[0].seen.size()));
  HistoryOp op;
  op.client = client.id;
  op.key = 'k';
  op.key += std::to_string(key_index);
  client.key = key_index;
  op.invoke_time = cluster_.now();
  client.op_id = client.next_op++;
  client.command = KvCommand{.kind = KvCommandKind::kPut,
                             .client = client.id,
                             .op = client.op_id,
                             .key = op.key,
                             .value = {},
                             .expected = {}};
  // Unique per op, so that the checker can tell every write apart.
  client.command.value = 'c';
  client.command.value += std::to_string(client.id);
  client.command.value += '-';
  client.command.value += std::to_string(client.op_id);
  if (random_.chance(options_.get_probability)) {
    op.kind = OpKind::kGet;
  } else if (random_.chance(options_.cas_probability /
                            std::max(1e-9, 1 - options_.get_probability))) {
    op.kind = OpKind::kCas;
    client.command.kind = KvCommandKind::kCas;
    client.command.expected = client.seen[key_index];
    if (client.command.expected.empty()) client.command.expected = "c1-1";
    op.expected = client.command.expected;
    op.value = client.command.value;
  } else {
    op.kind = OpKind::kPut;
    op.value = client.command.value;
  }
  client.op = history_.size();
  client.read_attempts = 0;
  client.avoid.clear();
  history_.push_back(op);
  ++stats_.invoked;
  client.phase = Phase::kRetrying;
  // The op's deadline: whatever is still outstanding then has an unknown outcome.
  const std::size_t index = static_cast<std::size_t>(client.id - 1);
  const std::uint64_t op_id = client.op_id;
  cluster_.events().after(options_.op_timeout, [this, index, op_id] {
    Client& target = clients_[index];
    if (target.phase != Phase::kIdle && target.op_id == op_id) give_up(target);
  });
  attempt(client);
}

void SimClients::attempt(Client& client) {
  client.phase = Phase::kRetrying;
  if (history_[client.op].kind == OpKind::kGet) {
    attempt_read(client);
  } else {
    attempt_write(client);
  }
}

void SimClients::retry(Client& client) {
  ++stats_.retries;
  client.phase = Phase::kRetrying;
  schedule(client, random_.range(options_.backoff_min, options_.backoff_max), &SimClients::attempt);
}

raft::NodeId SimClients::pick_node(Client& client, bool prefer_leader) {
  auto avoided = [&](raft::NodeId id) {
    return std::find(client.avoid.begin(), client.avoid.end(), id) != client.avoid.end();
  };
  if (prefer_leader && client.guess != raft::kNoNode && cluster_.node(client.guess).up() &&
      !avoided(client.guess)) {
    return client.guess;
  }
  std::vector<raft::NodeId> up;
  for (raft::NodeId id : cluster_.ids()) {
    if (cluster_.node(id).up() && !avoided(id)) up.push_back(id);
  }
  if (up.empty()) {
    client.avoid.clear();  // every node failed once: start over
    for (raft::NodeId id : cluster_.ids()) {
      if (cluster_.node(id).up()) up.push_back(id);
    }
  }
  if (up.empty()) return raft::kNoNode;
  return random_.pick(up);
}

// After `asked` refused (or, `silent`, never answered): a busy leader is asked again later;
// any other node is avoided for the rest of the op, and its leader hint followed.
void SimClients::learn_leader(Client& client, raft::NodeId asked, bool silent) {
  const SimNode& node = cluster_.node(asked);
  if (!silent && node.up() && node.raft().role() == raft::Role::kLeader) {
    client.guess = asked;  // UNAVAILABLE: a transfer, or too much uncommitted
    return;
  }
  client.avoid.push_back(asked);
  const raft::NodeId hint = node.up() ? node.raft().leader() : raft::kNoNode;
  client.guess = hint != asked ? hint : raft::kNoNode;
}

void SimClients::attempt_write(Client& client) {
  const raft::NodeId target = pick_node(client, /*prefer_leader=*/true);
  if (target == raft::kNoNode) return retry(client);
  SimNode& node = cluster_.node(target);
  Result<raft::Index> proposed = node.propose(encode_command(client.command));
  if (!proposed.is_ok()) {
    learn_leader(client, target, /*silent=*/false);
    return retry(client);
  }
  client.guess = target;
  client.node = target;
  client.index = *proposed;
  client.phase = Phase::kWaitApply;
  client.ask_around = false;
  schedule(client, options_.ask_around_after, &SimClients::ask_around);
}

// The node the write went to has not answered for a while (it may have lost leadership, or been
// removed, and never apply the entry): ask the other nodes too. Any node that applied the
// proposal's index knows its fate (applied entries are committed).
void SimClients::ask_around(Client& client) {
  client.ask_around = true;
  for (raft::NodeId id : cluster_.ids()) {
    if (client.phase != Phase::kWaitApply) return;
    const SimNode& node = cluster_.node(id);
    if (node.up()) resolve_write(client, node);
  }
}

// A get that heard nothing: the node may be cut off, removed, or behind forever. Ask the node it
// believes leads instead (its hint, else any node).
void SimClients::read_timed_out(Client& client) {
  ++stats_.retries;
  learn_leader(client, client.node, /*silent=*/true);
  attempt(client);
}

void SimClients::attempt_read(Client& client) {
  // The first try may be a lease read or go through any node; retries go to the leader.
  const bool first = client.read_attempts++ == 0;
  const bool lease = first && random_.chance(options_.lease_probability);
  const bool anywhere = first && !lease && random_.chance(options_.follower_read_probability);
  const raft::NodeId target = pick_node(client, /*prefer_leader=*/!anywhere);
  if (target == raft::kNoNode) return retry(client);
  SimNode& node = cluster_.node(target);
  const std::uint64_t request_id = next_request_id_++;
  client.node = target;
  client.request_id = request_id;
  client.phase = Phase::kWaitRead;
  // Issue the read with a fresh token first: its ReadState may be served before this returns.
  schedule(client, options_.read_retry, &SimClients::read_timed_out);
  const Status status = lease ? node.read_lease(request_id) : node.read_index(request_id);
  if (lease && status.is_ok()) ++stats_.lease_reads;
  if (client.phase != Phase::kWaitRead || client.request_id != request_id) return;  // served
  if (!status.is_ok()) {
    learn_leader(client, target, /*silent=*/false);
    retry(client);
  }
}

void SimClients::on_progress(const SimNode& node) {
  for (Client& client : clients_) {
    if (client.phase != Phase::kWaitApply) continue;
    if (client.node == node.id() || client.ask_around) resolve_write(client, node);
  }
}

void SimClients::resolve_write(Client& client, const SimNode& node) {
  const SessionRecord* record = node.kv().session(client.id);
  if (record != nullptr && record->op == client.op_id) {
    if (history_[client.op].kind == OpKind::kCas) {
      history_[client.op].found = record->succeeded;
      if (record->succeeded) client.seen[client.key] = client.command.value;
    } else {
      client.seen[client.key] = client.command.value;
    }
    complete(client);
  } else if (node.kv().applied() >= client.index) {
    retry(client);  // another entry took the slot: the proposal had no effect
  }
}

void SimClients::on_read(const SimNode& node, std::uint64_t request_id) {
  for (Client& client : clients_) {
    if (client.phase != Phase::kWaitRead || client.request_id != request_id ||
        client.node != node.id()) {
      continue;
    }
    HistoryOp& op = history_[client.op];
    const std::optional<std::string> value = node.kv().get(op.key);
    op.found = value.has_value();
    op.value = value.value_or("");
    if (value) client.seen[client.key] = *value;
    complete(client);
  }
}

// The node will never answer this read (leadership changed while it waited): ask elsewhere.
void SimClients::on_read_failed(const SimNode& node, std::uint64_t request_id) {
  for (Client& client : clients_) {
    if (client.phase != Phase::kWaitRead || client.request_id != request_id ||
        client.node != node.id()) {
      continue;
    }
    learn_leader(client, client.node, /*silent=*/false);
    retry(client);
  }
}

void SimClients::on_crash(raft::NodeId crashed) {
  for (Client& client : clients_) {
    if (client.node != crashed) continue;
    if (client.phase == Phase::kWaitApply) {
      // The connection broke: the write may or may not commit. Ask the others.
      client.ask_around = true;
    } else if (client.phase == Phase::kWaitRead) {
      retry(client);
    }
  }
}

void SimClients::complete(Client& client) {
  history_[client.op].return_time = cluster_.now();
  ++stats_.completed;
  client.phase = Phase::kIdle;
  schedule(client, random_.range(options_.think_min, options_.think_max), &SimClients::issue);
}

void SimClients::give_up(Client& client) {
  ++stats_.unknown;
  client.phase = Phase::kIdle;
  client.guess = raft::kNoNode;
  schedule(client, random_.range(options_.think_min, options_.think_max), &SimClients::issue);
}

}  // namespace neuroplex::sim
