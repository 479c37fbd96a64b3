// The Raft consensus core: a deterministic state machine with no I/O, no threads, no clock and
// no randomness of its own (etcd/raft's model). The host feeds it ticks, messages, proposals and
// persistence acknowledgements, and drains its output with ready():
//
//   loop:
//     raft.tick() / raft.step(message) / raft.propose(data) / raft.read_index(id) ...
//     Ready r = raft.ready();
//     send r.messages (now, in any order; the leader's appends go out while its own disk writes)
//     persist r.hard_state, r.snapshot, r.entries (in that order; fdatasync if r.must_sync),
//       then, once durable, raft.on_persisted(r.persist_id)   (may be much later, in order)
//     apply r.committed (in order), serve r.read_states once applied >= their index
//
// Messages that promise durability (a vote, an append acknowledgement) are held inside the core
// until the write they depend on is acknowledged, and come out of a later ready(). A crash
// before on_persisted() therefore never breaks a promise.
//
// Thread-compatible: one thread (neuroplexd's core thread, or the simulator) owns a Raft.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "base/status.h"
#include "raft/config.h"
#include "raft/log.h"
#include "raft/message.h"
#include "raft/progress.h"
#include "raft/random.h"
#include "raft/read_index.h"
#include "raft/types.h"

namespace neuroplex::raft {

enum class Role : std::uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
std::string_view role_name(Role role);

struct Ready {
  // To persist, in this order, then acknowledge with on_persisted(persist_id). persist_id is 0
  // when there is nothing to persist.
  std::optional<HardState> hard_state;
  std::optional<SnapshotMeta> snapshot;  // install the snapshot the host staged for this meta
  std::vector<Entry> entries;  // entries[0].index may be <= the last written index: the log
                               // from there on is replaced
  bool must_sync = false;      // fdatasync before acknowledging (term, vote or entries changed)
  std::uint64_t persist_id = 0;

  std::vector<Message> messages;       // send now
  std::vector<Entry> committed;        // apply in order; all durable here and committed
  std::vector<ReadState> read_states;  // serve once applied >= index
  // Read requests this node will never answer (leadership changed while they waited): fail
  // them with UNAVAILABLE rather than letting them time out.
  std::vector<std::uint64_t> failed_reads;

  [[nodiscard]] bool empty() const;
};

// A read-only view of the node for status displays and tests.
struct RaftStatus {
  NodeId id = kNoNode;
  Role role = Role::kFollower;
  Term term = 0;
  NodeId leader = kNoNode;
  Index commit = 0;
  Index applied = 0;
  Index last_index = 0;
  Index persisted_index = 0;
  Membership membership;
  std::map<NodeId, Index> match;  // leader only: each member's match index (self: persisted)
};

class Raft {
 public:
  Raft(Config config, DurableState state);

  // Time and messages.
  void tick();
  void step(Message message);

  // Client requests. Only the leader accepts proposals: NOT_LEADER otherwise (leader() says who
  // is), UNAVAILABLE during a leadership transfer or past max_uncommitted_bytes. The returned
  // index is where the entry sits; it is applied only if it commits at that index and term.
  [[nodiscard]] Result<Index> propose(std::string data);
  // One server at a time; UNAVAILABLE until this term's no-op and any earlier change commit.
  [[nodiscard]] Result<Index> propose_membership(const MembershipChange& change);
  // ReadIndex (linearizable): a ReadState for request_id comes out of ready() once a quorum
  // confirmed leadership. Followers ask the leader. UNAVAILABLE without a known leader.
  [[nodiscard]] Status read_index(std::uint64_t request_id);
  // Leader lease read (check_quorum required): a ReadState right away while the lease holds.
  [[nodiscard]] Status read_lease(std::uint64_t request_id);
  [[nodiscard]] Status transfer_leadership(NodeId target);

  // Host reports.
  void on_persisted(std::uint64_t persist_id);
  // The host took a snapshot of the applied state at `index` (<= applied). Entries up to
  // index - retain_entries are dropped from memory; lagging followers get the snapshot.
  void on_snapshot(Index index, Index retain_entries);
  void report_snapshot(NodeId to, bool success);
  void report_unreachable(NodeId to);

  [[nodiscard]] bool has_ready() const;
  [[nodiscard]] Ready ready();

  [[nodiscard]] NodeId id() const { return config_.id; }
  [[nodiscard]] Role role() const { return role_; }
  [[nodiscard]] Term term() const { return term_; }
  [[nodiscard]] NodeId leader() const { return leader_; }
  [[nodiscard]] const RaftLog& log() const { return log_; }
  [[nodiscard]] const SnapshotMeta& snapshot() const { return snapshot_; }
  [[nodiscard]] RaftStatus status() const;

  // Asserts every invariant written at the fields below (the simulator calls it after every
  // step). Crashes on a violation: that is a bug in this file's neighbours, not bad input.
  void check_invariants() const;

 private:
  // raft.cc — roles and dispatch
  void become_follower(Term term, NodeId leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void reset(Term term);
  void reset_election_timeout();
  bool past_election_timeout() const { return election_elapsed_ >= randomized_timeout_; }
  void tick_election();
  void tick_heartbeat();
  bool step_term(const Message& message);
  void step_leader(Message& message);
  void step_candidate(Message& message);
  void step_follower(Message& message);
  void send(Message message);
  void send_after_persist(Message message);
  void release(std::vector<Message> messages);
  void step_to_self();
  HardState hard_state() const { return HardState{term_, vote_, log_.commit()}; }
  std::vector<Entry> take_committed();
  bool promotable() const;
  // Called on every acknowledgement: counts voters in place rather than building a list.
  bool is_quorum(std::size_t count) const { return count * 2 > log_.membership().voter_count(); }

  // election.cc
  void campaign(bool pre_vote, bool transfer);
  void handle_vote_request(const Message& message);
  void handle_vote_response(const Message& message);
  bool in_lease() const;
  void handle_timeout_now();
  void abort_transfer();

  // replication.cc
  Index append_as_leader(std::vector<Entry> entries);
  void broadcast_append();
  bool send_append(NodeId to, bool send_if_empty);
  void send_heartbeat(NodeId to, std::uint64_t read_seq);
  void broadcast_heartbeat();
  void handle_append(const Message& message);
  void handle_append_response(const Message& message);
  void handle_heartbeat(const Message& message);
  void handle_heartbeat_response(const Message& message);
  bool maybe_commit();
  bool leader_committed_in_term() const;

  // snapshot.cc
  void send_snapshot(NodeId to, Progress& progress);
  void handle_snapshot(const Message& message);

  // membership_change.cc
  void membership_changed();
  void maybe_step_down_after_removal();
  Progress new_progress() const;

  // read_index.cc
  void handle_read_index(const Message& message);
  void handle_read_index_response(const Message& message);
  void fail_reads(std::vector<ReadIndexQueue::Request> requests);
  void release_reads();
  std::uint64_t quorum_acked_read_seq() const;

  struct PendingWrite {
    std::uint64_t id = 0;
    Index first_index = 0;  // first entry written (0: none)
    Index last_index = 0;   // the log's last index once this write lands
    std::optional<SnapshotMeta> snapshot;
    bool from_leader = false;   // a follower's write of the leader's entries
    std::vector<Message> held;  // sent once this write is durable
  };

  Config config_;
  Random random_;
  RaftLog log_;
  SnapshotMeta snapshot_;  // the latest snapshot (taken or installed); index <= log_.applied()

  // Durable-looking state. Invariant: term_ never decreases; vote_ is for term_.
  Term term_ = 0;
  NodeId vote_ = kNoNode;
  Role role_ = Role::kFollower;
  NodeId leader_ = kNoNode;  // kNoNode when unknown; == id() iff role_ == kLeader

  // Ticks since the last valid leader contact (follower) or since the election began.
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_timeout_ = 0;   // in [election_ticks, 2 * election_ticks)
  std::uint64_t now_ticks_ = 0;  // ticks since start: the lease's clock

  // Candidate: votes received for term_ (pre-vote: for term_ + 1). Self is counted only once
  // this node's term and vote are durable.
  std::map<NodeId, bool> votes_;

  // Leader state. Invariant: progress_ has an entry for each member but self.
  std::map<NodeId, Progress> progress_;
  std::size_t uncommitted_bytes_ = 0;
  NodeId transfer_target_ = kNoNode;
  int transfer_elapsed_ = 0;
  ReadIndexQueue reads_;

  // Persistence pipeline. Invariant: ids strictly increase along pending_writes_.
  std::uint64_t next_persist_id_ = 1;
  std::deque<PendingWrite> pending_writes_;
  HardState persisted_hard_state_;  // the last hard state handed to the host
  std::optional<SnapshotMeta> snapshot_to_install_;
  bool from_leader_since_ready_ = false;
  // Messages that promise durability of the state as it is now: they wait for the next write
  // (or, when nothing new needs writing, for the last pending one).
  std::vector<Message> held_;
  std::vector<Message> to_self_;    // released messages addressed to this node (its own vote)
  bool pending_broadcast_ = false;  // leader: new entries to send, batched until ready()

  std::vector<Message> outbox_;
  std::vector<ReadState> read_states_;
  std::vector<std::uint64_t> failed_reads_;
};

}  // namespace neuroplex::raft
