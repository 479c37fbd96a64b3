// A tiny harness for driving Raft cores by hand in unit tests (no simulator): nodes built from
// raft::bootstrap() or a hand-made DurableState, a host loop that drains ready() and acknowledges
// persistence at once or on request, a simulated disk that holds only acknowledged writes, and a
// Network that delivers pending messages until the cluster is quiet, optionally dropping links.
//
// Every step, tick, proposal and delivery is followed by check_invariants() on every node, and
// every Ready is checked against the contract of raft.h (committed entries are durable and
// applied in order, writes are contiguous, persist ids increase).
//
// Single-threaded; a Network owns its nodes.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "raft/raft.h"

namespace neuroplex::raft::testing {

inline constexpr int kElectionTicks = 10;

// Members 1..n, all voters.
Membership membership_of(std::size_t n);
// Config for node `id`: election_ticks 10, heartbeat_ticks 1, a fixed seed per id.
Config test_config(NodeId id);

Entry make_entry(Index index, Term term, std::string data = "");
// make_entry(index, term, "i<index>t<term>"): the entries state_with_log() writes.
Entry numbered_entry(Index index, Term term);
Entry membership_entry(Index index, Term term, const Membership& membership);
// The durable state of a member of membership_of(n) whose log holds the bootstrap entry at index
// 1 (term 1) followed by one normal entry per term in `terms` (index 2, 3, ...), data "i<index>t
// <term>". hard_state = {term, kNoNode, commit}; applied = commit.
DurableState state_with_log(std::size_t n, const std::vector<Term>& terms, Term term, Index commit);

// The entries the log holds, first_index()..last_index().
std::vector<Entry> log_entries(const RaftLog& log);
std::vector<Term> log_terms(const RaftLog& log);

Message make_message(MessageType type, NodeId from, NodeId to, Term term);
Message append_message(NodeId from, NodeId to, Term term, Index log_index, Term log_term,
                       std::vector<Entry> entries, Index commit);
Message vote_message(NodeId from, NodeId to, Term term, Index log_index, Term log_term,
                     bool pre_vote = false, bool transfer = false);

Message append_response(NodeId from, NodeId to, Term term, Index log_index);

std::vector<Message> filter(const std::vector<Message>& messages, MessageType type,
                            NodeId from = kNoNode, NodeId to = kNoNode);
std::size_t count(const std::vector<Message>& messages, MessageType type, NodeId from = kNoNode,
                  NodeId to = kNoNode);
// messages[from..]: what was sent after a point recorded as Network::sent.size().
std::vector<Message> since(const std::vector<Message>& messages, std::size_t from);

// One node and the host around it.
struct Node {
  NodeId id = kNoNode;
  Config config;
  std::unique_ptr<Raft> raft;

  DurableState disk;              // every acknowledged write, nothing else
  bool auto_persist = true;       // acknowledge each Ready's write as soon as it is taken
  std::deque<Ready> unpersisted;  // written, not yet acknowledged (auto_persist == false)
  std::vector<Message> outbox;    // produced, not yet delivered or taken
  std::vector<Entry> applied;     // every committed entry handed out, in order
  Index applied_index = 0;        // the state machine's applied index
  std::vector<ReadState> read_states;
  std::vector<std::uint64_t> failed_reads;
  std::vector<SnapshotMeta> installed;  // every Ready.snapshot
  std::vector<Ready> readies;           // every Ready taken (for contract tests)
  std::uint64_t last_persist_id = 0;
};

class Network {
 public:
  using Tweak = std::function<void(Config&)>;

  // Nodes 1..n from raft::bootstrap(membership_of(n)), each config passed through `tweak`.
  explicit Network(std::size_t n, const Tweak& tweak = {});
  // Nodes from explicit durable states (ids = keys).
  Network(std::map<NodeId, DurableState> states, const Tweak& tweak = {});

  Node& node(NodeId id);
  Raft& raft(NodeId id) { return *node(id).raft; }
  std::vector<NodeId> ids() const;
  // Adds a node (e.g. an empty one waiting to be added, DurableState{}).
  void add_node(NodeId id, DurableState state, const Tweak& tweak = {});
  // Rebuilds a node from its disk (unacknowledged writes are lost), with the given applied index
  // (default: the state machine's), then drains it. Its outbox is dropped; messages on their way
  // to it (in other nodes' outboxes) reach the new instance.
  void restart(NodeId id, std::optional<Index> applied = std::nullopt);

  // Host loop of one node: takes every Ready until has_ready() is false.
  void drain(NodeId id);
  void drain_all();
  // Acknowledges the oldest unacknowledged write of `id` (returns false if none) / all of them.
  bool persist_next(NodeId id);
  void persist_all(NodeId id);
  // Takes (and clears) the messages `id` produced since the last delivery.
  std::vector<Message> take_messages(NodeId id);

  // Steps one message into its recipient (then drains it and checks every node's invariants).
  void step(NodeId to, Message message);
  void tick(NodeId id, int times = 1);
  // Ticks every node once and delivers, `times` times.
  void tick_all(int times = 1);
  Result<Index> propose(NodeId id, std::string data);
  Result<Index> propose_membership(NodeId id, const MembershipChange& change);
  // Takes a snapshot at `index` on `id` (host side too: the disk drops entries <= index).
  void take_snapshot(NodeId id, Index index, Index retain_entries);

  // Drains every node and delivers every pending message, repeatedly, until nothing is left.
  // Returns the number of messages delivered.
  std::size_t deliver();

  // Links: a cut link drops messages in both directions; an isolated node talks to nobody;
  // heal() restores every link and clears the drop filter.
  void cut(NodeId a, NodeId b);
  void isolate(NodeId id);
  void heal();
  // Drops, in addition, every message for which `drop` returns true (empty: none).
  void set_drop(std::function<bool(const Message&)> drop) { drop_ = std::move(drop); }

  // Ticks `id` (draining it, delivering nothing) until it leaves the follower role, then
  // delivers until quiet, then ticks the winner for one heartbeat and delivers, so that every
  // follower has learnt the commit of its no-op. Fails the test (and returns false) if `id` does
  // not end up leader.
  [[nodiscard]] bool elect(NodeId id);

  void check_invariants() const;

  std::vector<Message> sent;       // every message that left a node, dropped or not
  std::vector<Message> delivered;  // every message stepped into a node

 private:
  void build(NodeId id, Config config, DurableState state);
  void take_ready(Node& node);
  void write(Node& node, const Ready& ready);
  bool dropped(const Message& message) const;

  std::map<NodeId, Node> nodes_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::set<NodeId> isolated_;
  std::function<bool(const Message&)> drop_;
};

// A network holding only node `id`, started from `state`: what it sends stays in its outbox.
Network solo(NodeId id, DurableState state, const Network::Tweak& tweak = {});
// Ticks `id` until it leaves the follower role (at most 2 * election_ticks times).
void tick_until_campaign(Network& net, NodeId id);
// The entries of every Ready `id` took from readies[from] on, concatenated.
std::vector<Entry> written_since(Network& net, NodeId id, std::size_t from);

}  // namespace neuroplex::raft::testing
