// The log-replication and safety rules of the Raft paper (sections 5.3 and 5.4), one test per
// rule, each quoting the sentence it checks (after etcd's raft_paper_test.go).
#include <gtest/gtest.h>

#include "tests/unit/raft/raft_test_util.h"

namespace neuroplex::raft::testing {
namespace {

// "When the leader receives a client request, it appends it to its log as a new entry, then
// issues AppendEntries RPCs in parallel to each of the other servers to replicate the entry."
TEST(RaftPaperTest, LeaderStartsReplication) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  net.take_messages(1);
  const Index last = net.raft(1).log().last_index();
  const Term term = net.raft(1).term();
  const std::size_t readies = net.node(1).readies.size();
  Result<Index> index = net.propose(1, "some data");
  ASSERT_TRUE(index.is_ok()) << index.status().to_string();
  EXPECT_EQ(*index, last + 1);
  const Entry entry = make_entry(last + 1, term, "some data");
  EXPECT_EQ(written_since(net, 1, readies), std::vector<Entry>{entry})
      << "the leader must write its new entry";
  const std::vector<Message> out = net.take_messages(1);
  for (NodeId to : {2, 3}) {
    const std::vector<Message> appends = filter(out, MessageType::kAppend, 1, to);
    ASSERT_EQ(appends.size(), 1u) << "to " << to;
    EXPECT_EQ(appends[0].term, term);
    EXPECT_EQ(appends[0].log_index, last);
    EXPECT_EQ(appends[0].log_term, term);
    EXPECT_EQ(appends[0].entries, std::vector<Entry>{entry});
    EXPECT_EQ(appends[0].commit, last);
  }
  EXPECT_EQ(net.raft(1).log().commit(), last);
}

// "A log entry is committed once the leader that created the entry has replicated it on a
// majority of the servers ... When the entry has been safely replicated, the leader applies the
// entry to its state machine."
TEST(RaftPaperTest, LeaderCommitsEntryAfterMajority) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  Result<Index> index = net.propose(1, "x");
  ASSERT_TRUE(index.is_ok());
  net.deliver();
  EXPECT_EQ(net.raft(1).log().commit(), *index);
  ASSERT_FALSE(net.node(1).applied.empty());
  EXPECT_EQ(net.node(1).applied.back(), make_entry(*index, net.raft(1).term(), "x"));
}

// "The leader decides when it is safe to apply a log entry to the state machine; such an entry
// is called committed ... once the entry is replicated on a majority." (etcd:
// TestLeaderAcknowledgeCommit)
TEST(RaftPaperTest, LeaderCommitsOnlyWithMajorityAcknowledgement) {
  struct Case {
    std::size_t size;
    std::vector<NodeId> acceptors;
    bool committed;
  };
  for (const Case& c : std::vector<Case>{{1, {}, true},
                                         {3, {}, false},
                                         {3, {2}, true},
                                         {3, {2, 3}, true},
                                         {5, {}, false},
                                         {5, {2}, false},
                                         {5, {2, 3}, true},
                                         {5, {2, 3, 4, 5}, true}}) {
    SCOPED_TRACE("size " + std::to_string(c.size) + ", acks " + std::to_string(c.acceptors.size()));
    Network net(c.size);
    ASSERT_TRUE(net.elect(1));
    for (NodeId id = 2; id <= c.size; ++id) net.isolate(id);
    Result<Index> index = net.propose(1, "x");
    ASSERT_TRUE(index.is_ok());
    for (NodeId from : c.acceptors) {
      net.step(1, append_response(from, 1, net.raft(1).term(), *index));
    }
    EXPECT_EQ(net.raft(1).log().commit(), c.committed ? *index : *index - 1);
  }
}

// "The leader keeps track of the highest index it knows to be committed, and it includes that
// index in future AppendEntries RPCs (including heartbeats) so that the other servers eventually
// find out. Once a follower learns that a log entry is committed, it applies the entry to its
// local state machine (in log order)."
TEST(RaftPaperTest, FollowersLearnCommitFromLeader) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  Result<Index> index = net.propose(1, "x");
  ASSERT_TRUE(index.is_ok());
  net.deliver();
  net.tick(1);
  net.deliver();
  for (NodeId id : {2, 3}) {
    EXPECT_EQ(net.raft(id).log().commit(), *index) << "node " << id;
    ASSERT_FALSE(net.node(id).applied.empty());
    EXPECT_EQ(net.node(id).applied.back().data, "x") << "node " << id;
  }
}

// message.h: a heartbeat's commit is capped at the follower's match, since the follower's log
// beyond its match may still differ from the leader's.
TEST(RaftPaperTest, HeartbeatCommitIsCappedAtFollowersMatch) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  net.isolate(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(net.propose(1, "x").is_ok());
  net.deliver();
  const Index commit = net.raft(1).log().commit();
  const Index match = net.raft(1).status().match[3];
  ASSERT_LT(match, commit);
  const std::size_t from = net.sent.size();
  net.tick(1);
  const std::vector<Message> sent = since(net.sent, from);
  const std::vector<Message> to_3 = filter(sent, MessageType::kHeartbeat, 1, 3);
  const std::vector<Message> to_2 = filter(sent, MessageType::kHeartbeat, 1, 2);
  ASSERT_EQ(to_3.size(), 1u);
  ASSERT_EQ(to_2.size(), 1u);
  EXPECT_EQ(to_3[0].commit, match);
  EXPECT_EQ(to_2[0].commit, commit);
}

// "Raft never commits log entries from previous terms by counting replicas. Only log entries from
// the leader's current term are committed by counting replicas; once an entry from the current
// term has been committed in this way, then all prior entries are committed indirectly because
// of the Log Matching Property." (Figure 8)
TEST(RaftPaperTest, LeaderCommitsOldTermEntriesOnlyThroughCurrentTerm) {
  std::map<NodeId, DurableState> states;
  states.emplace(1, state_with_log(3, {2}, 2, 1));  // holds the term-2 entry at index 2
  states.emplace(2, state_with_log(3, {}, 2, 1));
  states.emplace(3, state_with_log(3, {}, 2, 1));
  Network net(std::move(states));
  net.set_drop([](const Message& m) {
    return m.type == MessageType::kAppend || m.type == MessageType::kAppendResponse;
  });
  for (int i = 0; i < 2 * kElectionTicks && net.raft(1).role() == Role::kFollower; ++i) {
    net.tick(1);
  }
  net.deliver();
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  const Term term = net.raft(1).term();
  ASSERT_EQ(term, 3u);
  ASSERT_EQ(net.raft(1).log().last_index(), 3u) << "the new leader appends its no-op at 3";

  // Node 2 now holds index 2 (term 2) too: a majority, but of an entry of an older term.
  net.step(1, append_response(2, 1, term, 2));
  EXPECT_EQ(net.raft(1).log().commit(), 1u) << "committed an old-term entry by counting replicas";

  net.step(1, append_response(2, 1, term, 3));
  EXPECT_EQ(net.raft(1).log().commit(), 3u);
  ASSERT_GE(net.node(1).applied.size(), 2u);
  EXPECT_EQ(net.node(1).applied[net.node(1).applied.size() - 2].index, 2u);
  EXPECT_EQ(net.node(1).applied.back().index, 3u);
}

// "If the follower does not find an entry in its log with the same index and term, then it
// refuses the new entries." A refusal names the probed index and a hint: the last index at or
// before it whose term is <= the leader's log_term (fast backtracking), with its term.
TEST(RaftPaperTest, FollowerChecksAppendConsistency) {
  struct Case {
    Index log_index;
    Term log_term;
    bool reject;
    Index hint_index;
    Term hint_term;
  };
  for (const Case& c : std::vector<Case>{{1, 1, false, 0, 0},
                                         {2, 1, false, 0, 0},
                                         {3, 2, false, 0, 0},
                                         {3, 1, true, 2, 1},
                                         {2, 2, true, 2, 1},
                                         {4, 2, true, 3, 2}}) {
    SCOPED_TRACE("probe (" + std::to_string(c.log_index) + ", " + std::to_string(c.log_term) + ")");
    Network net = solo(2, state_with_log(3, {1, 2}, 2, 1));  // terms 1 1 2
    net.step(2, append_message(1, 2, 2, c.log_index, c.log_term, {}, 1));
    const std::vector<Message> responses =
        filter(net.take_messages(2), MessageType::kAppendResponse, 2, 1);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].term, 2u);
    EXPECT_EQ(responses[0].reject, c.reject);
    EXPECT_EQ(responses[0].log_index, c.log_index);
    if (c.reject) {
      EXPECT_EQ(responses[0].hint_index, c.hint_index);
      EXPECT_EQ(responses[0].hint_term, c.hint_term);
    }
    EXPECT_EQ(log_terms(net.raft(2).log()), (std::vector<Term>{1, 1, 2}));
  }
}

// "If an existing entry conflicts with a new one (same index but different terms), delete the
// existing entry and all that follow it; append any new entries not already in the log."
TEST(RaftPaperTest, FollowerAppendsAndTruncatesConflictingSuffix) {
  struct Case {
    Index log_index;
    Term log_term;
    std::vector<Entry> entries;
    std::vector<Term> terms;     // the follower's log afterwards
    std::vector<Entry> written;  // what its Readies hand to the host
  };
  const Entry e4t3 = numbered_entry(4, 3);
  const std::vector<Case> cases = {
      {3, 2, {e4t3}, {1, 2, 2, 3}, {e4t3}},
      {2, 2, {numbered_entry(3, 3), e4t3}, {1, 2, 3, 3}, {numbered_entry(3, 3), e4t3}},
      {1, 1, {numbered_entry(2, 2), numbered_entry(3, 2), e4t3}, {1, 2, 2, 3}, {e4t3}},
      {1, 1, {numbered_entry(2, 3)}, {1, 3}, {numbered_entry(2, 3)}},
      {1, 1, {numbered_entry(2, 2)}, {1, 2, 2}, {}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE("case " + std::to_string(i));
    Network net = solo(2, state_with_log(3, {2, 2}, 3, 1));  // terms 1 2 2
    const std::size_t readies = net.node(2).readies.size();
    net.step(2, append_message(1, 2, 3, c.log_index, c.log_term, c.entries, 1));
    EXPECT_EQ(log_terms(net.raft(2).log()), c.terms);
    EXPECT_EQ(written_since(net, 2, readies), c.written);
    EXPECT_EQ(net.node(2).disk.entries, log_entries(net.raft(2).log())) << "disk != log";
    const std::vector<Message> responses =
        filter(net.take_messages(2), MessageType::kAppendResponse, 2, 1);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_FALSE(responses[0].reject);
    EXPECT_EQ(responses[0].log_index, c.log_index + c.entries.size());
  }
}

// "The leader handles inconsistencies by forcing the followers' logs to duplicate its own ...
// When a leader first comes to power, it initializes all nextIndex values to the index just after
// the last one in its log. If a follower's log is inconsistent with the leader's, the
// AppendEntries consistency check will fail in the next AppendEntries RPC ... Eventually nextIndex
// will reach a point where the leader and follower logs match." (Figure 7, a to f)
TEST(RaftPaperTest, LeaderSyncsFollowerLog) {
  const std::vector<Term> leader = {1, 1, 4, 4, 5, 5, 6, 6, 6};  // indexes 2..10
  const std::vector<std::vector<Term>> followers = {
      {1, 1, 4, 4, 5, 5, 6, 6},          {1, 1, 4},          {1, 1, 4, 4, 5, 5, 6, 6, 6, 6},
      {1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}, {1, 1, 4, 4, 4, 4}, {1, 1, 2, 2, 2, 3, 3, 3, 3, 3},
  };
  for (std::size_t i = 0; i < followers.size(); ++i) {
    SCOPED_TRACE(std::string("follower (") + static_cast<char>('a' + i) + ")");
    std::map<NodeId, DurableState> states;
    states.emplace(1, state_with_log(3, leader, 7, 3));
    states.emplace(2, state_with_log(3, followers[i], 7, 3));
    states.emplace(3, state_with_log(3, leader, 7, 3));
    Network net(std::move(states));
    tick_until_campaign(net, 1);
    net.deliver();
    ASSERT_EQ(net.raft(1).role(), Role::kLeader);
    EXPECT_EQ(log_entries(net.raft(2).log()), log_entries(net.raft(1).log()));
    EXPECT_EQ(net.raft(2).log().last_index(), 11u);
    net.tick(1);
    net.deliver();
    EXPECT_EQ(net.raft(2).log().commit(), 11u);
    EXPECT_EQ(net.node(2).disk.entries, log_entries(net.raft(1).log()));
  }
}

// "Once a follower learns that a log entry is committed, it applies the entry to its local state
// machine (in log order)." — and only then: never an entry that is not committed, nor one that is
// not yet durable on this node (raft.h: "committed: ... all durable here and committed").
TEST(RaftPaperTest, NodeOnlyAppliesCommittedEntries) {
  Network net = solo(2, state_with_log(3, {}, 2, 1));
  net.node(2).auto_persist = false;
  net.step(2,
           append_message(1, 2, 2, 1, 1,
                          {numbered_entry(2, 2), numbered_entry(3, 2), numbered_entry(4, 2)}, 3));
  EXPECT_TRUE(net.node(2).applied.empty()) << "applied entries before they were durable";
  net.persist_all(2);
  std::vector<Index> applied;
  for (const Entry& e : net.node(2).applied) applied.push_back(e.index);
  EXPECT_EQ(applied, (std::vector<Index>{2, 3})) << "entry 4 is not committed";

  Message heartbeat = make_message(MessageType::kHeartbeat, 1, 2, 2);
  heartbeat.commit = 4;
  net.step(2, heartbeat);
  ASSERT_EQ(net.node(2).applied.size(), 3u);
  EXPECT_EQ(net.node(2).applied.back(), numbered_entry(4, 2));
}

// The leader's own copy counts towards a majority only once durable (raft.h: the leader's match
// for itself is its persisted index), so nothing commits before a majority has persisted it.
TEST(RaftPaperTest, LeaderEntriesCountOnlyOncePersisted) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  net.node(1).auto_persist = false;
  net.node(2).auto_persist = false;
  net.isolate(3);
  Result<Index> index = net.propose(1, "x");
  ASSERT_TRUE(index.is_ok());
  net.deliver();
  EXPECT_EQ(net.raft(1).log().commit(), *index - 1);
  EXPECT_EQ(net.raft(1).status().match[1], *index - 1) << "self match must be the persisted index";

  net.persist_all(2);
  net.deliver();
  EXPECT_EQ(net.raft(1).status().match[2], *index);
  EXPECT_EQ(net.raft(1).log().commit(), *index - 1) << "committed with one durable copy of three";

  net.persist_all(1);
  net.deliver();
  EXPECT_EQ(net.raft(1).status().match[1], *index);
  EXPECT_EQ(net.raft(1).log().commit(), *index);
  ASSERT_FALSE(net.node(1).applied.empty());
  EXPECT_EQ(net.node(1).applied.back().index, *index);
}

// Two followers are a majority of three without the leader's disk, but the leader still applies
// an entry only once it is durable on the leader itself.
TEST(RaftPaperTest, LeaderAppliesOnlyEntriesDurableOnItself) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  net.node(1).auto_persist = false;
  Result<Index> index = net.propose(1, "x");
  ASSERT_TRUE(index.is_ok());
  net.deliver();
  EXPECT_TRUE(net.node(1).applied.empty() || net.node(1).applied.back().index < *index);
  net.persist_all(1);
  net.deliver();
  EXPECT_EQ(net.raft(1).log().commit(), *index);
  ASSERT_FALSE(net.node(1).applied.empty());
  EXPECT_EQ(net.node(1).applied.back().index, *index);
}

}  // namespace
}  // namespace neuroplex::raft::testing
