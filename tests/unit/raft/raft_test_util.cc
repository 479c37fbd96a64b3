#include "tests/unit/raft/raft_test_util.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>

namespace neuroplex::raft::testing {

Membership membership_of(std::size_t n) {
  Membership membership;
  for (NodeId id = 1; id <= n; ++id) {
    membership.members.push_back({id, true, "node" + std::to_string(id)});
  }
  return membership;
}

Config test_config(NodeId id) {
  Config config;
  config.id = id;
  config.election_ticks = kElectionTicks;
  config.heartbeat_ticks = 1;
  config.random_seed = 0x5eed + id * 7919;
  return config;
}

Entry make_entry(Index index, Term term, std::string data) {
  return {index, term, EntryType::kNormal, std::move(data)};
}

Entry numbered_entry(Index index, Term term) {
  return make_entry(index, term, "i" + std::to_string(index) + "t" + std::to_string(term));
}

Entry membership_entry(Index index, Term term, const Membership& membership) {
  return {index, term, EntryType::kMembership, encode_membership(membership)};
}

DurableState state_with_log(std::size_t n, const std::vector<Term>& terms, Term term,
                            Index commit) {
  DurableState state;
  state.entries.push_back(membership_entry(1, 1, membership_of(n)));
  for (Term t : terms) {
    state.entries.push_back(numbered_entry(state.entries.size() + 1, t));
  }
  state.hard_state = {term, kNoNode, commit};
  state.applied = commit;
  return state;
}

std::vector<Entry> log_entries(const RaftLog& log) {
  std::vector<Entry> entries;
  for (Index i = log.first_index(); i <= log.last_index(); ++i) entries.push_back(log.at(i));
  return entries;
}

std::vector<Term> log_terms(const RaftLog& log) {
  std::vector<Term> terms;
  for (const Entry& entry : log_entries(log)) terms.push_back(entry.term);
  return terms;
}

Message make_message(MessageType type, NodeId from, NodeId to, Term term) {
  Message message;
  message.type = type;
  message.from = from;
  message.to = to;
  message.term = term;
  return message;
}

Message append_message(NodeId from, NodeId to, Term term, Index log_index, Term log_term,
                       std::vector<Entry> entries, Index commit) {
  Message message = make_message(MessageType::kAppend, from, to, term);
  message.log_index = log_index;
  message.log_term = log_term;
  message.entries = std::move(entries);
  message.commit = commit;
  return message;
}

Message vote_message(NodeId from, NodeId to, Term term, Index log_index, Term log_term,
                     bool pre_vote, bool transfer) {
  Message message =
      make_message(pre_vote ? MessageType::kPreVote : MessageType::kVote, from, to, term);
  message.log_index = log_index;
  message.log_term = log_term;
  message.transfer = transfer;
  return message;
}

Message append_response(NodeId from, NodeId to, Term term, Index log_index) {
  Message message = make_message(MessageType::kAppendResponse, from, to, term);
  message.log_index = log_index;
  return message;
}

std::vector<Message> filter(const std::vector<Message>& messages, MessageType type, NodeId from,
                            NodeId to) {
  std::vector<Message> out;
  for (const Message& m : messages) {
    if (m.type == type && (from == kNoNode || m.from == from) && (to == kNoNode || m.to == to)) {
      out.push_back(m);
    }
  }
  return out;
}

std::size_t count(const std::vector<Message>& messages, MessageType type, NodeId from, NodeId to) {
  return filter(messages, type, from, to).size();
}

std::vector<Message> since(const std::vector<Message>& messages, std::size_t from) {
  return {messages.begin() + static_cast<std::ptrdiff_t>(std::min(from, messages.size())),
          messages.end()};
}

// ---- Network ----

Network::Network(std::size_t n, const Tweak& tweak) {
  const DurableState founders = bootstrap(membership_of(n));
  for (NodeId id = 1; id <= n; ++id) add_node(id, founders, tweak);
}

Network::Network(std::map<NodeId, DurableState> states, const Tweak& tweak) {
  for (auto& [id, state] : states) add_node(id, std::move(state), tweak);
}

Node& Network::node(NodeId id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) {
    ADD_FAILURE() << "no node " << id;
    std::abort();
  }
  return it->second;
}

std::vector<NodeId> Network::ids() const {
  std::vector<NodeId> ids;
  for (const auto& [id, node] : nodes_) ids.push_back(id);
  return ids;
}

void Network::add_node(NodeId id, DurableState state, const Tweak& tweak) {
  Config config = test_config(id);
  if (tweak) tweak(config);
  build(id, config, std::move(state));
}

void Network::build(NodeId id, Config config, DurableState state) {
  Node& node = nodes_[id];
  node.id = id;
  node.config = config;
  node.disk = state;
  node.applied_index = state.applied;
  node.raft = std::make_unique<Raft>(config, std::move(state));
  node.raft->check_invariants();
}

void Network::restart(NodeId id, std::optional<Index> applied) {
  Node& old = node(id);
  DurableState state = old.disk;
  state.applied = std::max(applied.value_or(old.applied_index), state.snapshot.index);
  const bool auto_persist = old.auto_persist;
  std::vector<Entry> history = old.applied;
  std::erase_if(history, [&](const Entry& e) { return e.index > state.applied; });
  const Config config = old.config;
  nodes_.erase(id);
  build(id, config, std::move(state));
  node(id).auto_persist = auto_persist;
  node(id).applied = std::move(history);
  drain(id);
}

void Network::write(Node& node, const Ready& ready) {
  DurableState& disk = node.disk;
  if (ready.hard_state) disk.hard_state = *ready.hard_state;
  if (ready.snapshot) {
    const SnapshotMeta& meta = *ready.snapshot;
    const bool keep = std::any_of(disk.entries.begin(), disk.entries.end(), [&](const Entry& e) {
      return e.index == meta.index && e.term == meta.term;
    });
    if (keep) {
      std::erase_if(disk.entries, [&](const Entry& e) { return e.index <= meta.index; });
    } else {
      disk.entries.clear();
    }
    disk.snapshot = meta;
    disk.applied = std::max(disk.applied, meta.index);
  }
  if (!ready.entries.empty()) {
    const Index first = ready.entries.front().index;
    for (std::size_t i = 0; i < ready.entries.size(); ++i) {
      EXPECT_EQ(ready.entries[i].index, first + i) << "Ready.entries not contiguous";
    }
    std::erase_if(disk.entries, [&](const Entry& e) { return e.index >= first; });
    const Index last = disk.entries.empty() ? disk.snapshot.index : disk.entries.back().index;
    EXPECT_EQ(first, last + 1) << "node " << node.id << ": a write would leave a gap on disk";
    disk.entries.insert(disk.entries.end(), ready.entries.begin(), ready.entries.end());
  }
  node.raft->on_persisted(ready.persist_id);
  check_invariants();
}

void Network::take_ready(Node& node) {
  Ready ready = node.raft->ready();
  check_invariants();
  const bool writes = ready.hard_state || ready.snapshot || !ready.entries.empty();
  EXPECT_EQ(writes, ready.persist_id != 0) << "persist_id must be set iff there is a write";
  if (ready.persist_id != 0) {
    EXPECT_GT(ready.persist_id, node.last_persist_id) << "persist ids must increase";
    node.last_persist_id = ready.persist_id;
  }
  if (ready.snapshot) {
    node.installed.push_back(*ready.snapshot);
    node.applied_index = std::max(node.applied_index, ready.snapshot->index);
  }
  for (const Entry& entry : ready.committed) {
    EXPECT_EQ(entry.index, node.applied_index + 1)
        << "node " << node.id << ": applied out of order";
    EXPECT_LE(entry.index, node.raft->log().commit()) << "applied an uncommitted entry";
    const bool durable = std::any_of(node.disk.entries.begin(), node.disk.entries.end(),
                                     [&](const Entry& e) { return e == entry; });
    EXPECT_TRUE(durable) << "node " << node.id << ": entry " << entry.index
                         << " handed out for applying before it was durable here";
    node.applied_index = entry.index;
    node.applied.push_back(entry);
  }
  node.read_states.insert(node.read_states.end(), ready.read_states.begin(),
                          ready.read_states.end());
  node.failed_reads.insert(node.failed_reads.end(), ready.failed_reads.begin(),
                           ready.failed_reads.end());
  for (const Message& message : ready.messages) {
    EXPECT_EQ(message.from, node.id);
    EXPECT_NE(message.to, node.id);
    EXPECT_NE(message.to, kNoNode);
    node.outbox.push_back(message);
    sent.push_back(message);
  }
  node.readies.push_back(ready);
  if (ready.persist_id != 0) node.unpersisted.push_back(std::move(ready));
}

void Network::drain(NodeId id) {
  Node& n = node(id);
  for (int i = 0; i < 1000; ++i) {
    if (!n.raft->has_ready()) return;
    take_ready(n);
    while (n.auto_persist && !n.unpersisted.empty()) {
      Ready ready = std::move(n.unpersisted.front());
      n.unpersisted.pop_front();
      write(n, ready);
    }
  }
  ADD_FAILURE() << "node " << id << ": has_ready() stays true";
}

void Network::drain_all() {
  for (auto& [id, node] : nodes_) drain(id);
}

bool Network::persist_next(NodeId id) {
  Node& n = node(id);
  if (n.unpersisted.empty()) return false;
  Ready ready = std::move(n.unpersisted.front());
  n.unpersisted.pop_front();
  write(n, ready);
  drain(id);
  return true;
}

void Network::persist_all(NodeId id) {
  while (persist_next(id)) {
  }
}

std::vector<Message> Network::take_messages(NodeId id) {
  drain(id);
  return std::exchange(node(id).outbox, {});
}

void Network::step(NodeId to, Message message) {
  delivered.push_back(message);
  node(to).raft->step(std::move(message));
  check_invariants();
  drain(to);
}

void Network::tick(NodeId id, int times) {
  for (int i = 0; i < times; ++i) {
    node(id).raft->tick();
    check_invariants();
    drain(id);
  }
}

void Network::tick_all(int times) {
  for (int i = 0; i < times; ++i) {
    for (NodeId id : ids()) tick(id);
    deliver();
  }
}

Result<Index> Network::propose(NodeId id, std::string data) {
  Result<Index> result = raft(id).propose(std::move(data));
  check_invariants();
  drain(id);
  return result;
}

Result<Index> Network::propose_membership(NodeId id, const MembershipChange& change) {
  Result<Index> result = raft(id).propose_membership(change);
  check_invariants();
  drain(id);
  return result;
}

void Network::take_snapshot(NodeId id, Index index, Index retain_entries) {
  Node& n = node(id);
  const std::optional<Term> term = n.raft->log().term(index);
  EXPECT_TRUE(term.has_value()) << "no term for snapshot index " << index;
  SnapshotMeta meta{index, term.value_or(0), n.raft->log().membership_at(index)};
  n.raft->on_snapshot(index, retain_entries);
  check_invariants();
  std::erase_if(n.disk.entries, [&](const Entry& e) { return e.index <= index; });
  n.disk.snapshot = std::move(meta);
  drain(id);
}

std::size_t Network::deliver() {
  std::size_t delivered_count = 0;
  for (int round = 0; round < 10000; ++round) {
    drain_all();
    std::vector<Message> batch;
    for (auto& [id, node] : nodes_) {
      std::move(node.outbox.begin(), node.outbox.end(), std::back_inserter(batch));
      node.outbox.clear();
    }
    if (batch.empty()) return delivered_count;
    for (Message& message : batch) {
      if (dropped(message) || !nodes_.contains(message.to)) continue;
      const NodeId to = message.to;
      step(to, std::move(message));
      ++delivered_count;
    }
  }
  ADD_FAILURE() << "the network did not go quiet";
  return delivered_count;
}

void Network::cut(NodeId a, NodeId b) { cut_.insert({std::min(a, b), std::max(a, b)}); }
void Network::isolate(NodeId id) { isolated_.insert(id); }
void Network::heal() {
  cut_.clear();
  isolated_.clear();
  drop_ = nullptr;
}

bool Network::dropped(const Message& message) const {
  if (isolated_.contains(message.from) || isolated_.contains(message.to)) return true;
  if (cut_.contains({std::min(message.from, message.to), std::max(message.from, message.to)})) {
    return true;
  }
  return drop_ && drop_(message);
}

bool Network::elect(NodeId id) {
  const Config& config = node(id).config;
  for (int i = 0; i < 2 * config.election_ticks && raft(id).role() == Role::kFollower; ++i) {
    tick(id);
  }
  deliver();
  if (raft(id).role() != Role::kLeader) {
    ADD_FAILURE() << "node " << id << " did not win: role " << role_name(raft(id).role())
                  << ", term " << raft(id).term();
    return false;
  }
  tick(id, config.heartbeat_ticks);
  deliver();
  return raft(id).role() == Role::kLeader;
}

void Network::check_invariants() const {
  for (const auto& [id, node] : nodes_) node.raft->check_invariants();
}

Network solo(NodeId id, DurableState state, const Network::Tweak& tweak) {
  std::map<NodeId, DurableState> states;
  states.emplace(id, std::move(state));
  return Network(std::move(states), tweak);
}

void tick_until_campaign(Network& net, NodeId id) {
  const int limit = 2 * net.node(id).config.election_ticks;
  for (int i = 0; i < limit && net.raft(id).role() == Role::kFollower; ++i) net.tick(id);
}

std::vector<Entry> written_since(Network& net, NodeId id, std::size_t from) {
  std::vector<Entry> written;
  const std::vector<Ready>& readies = net.node(id).readies;
  for (std::size_t i = from; i < readies.size(); ++i) {
    written.insert(written.end(), readies[i].entries.begin(), readies[i].entries.end());
  }
  return written;
}

}  // namespace neuroplex::raft::testing
