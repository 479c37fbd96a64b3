// The extensions beyond the paper's core rules: pre-vote and check-quorum (thesis sections 9.6
// and 6.2), the follower's election timer and slow disks, flow control (probe / replicate /
// inflight limits), fast backtracking, the uncommitted-bytes limit, NOT_LEADER, determinism.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/raft/raft_test_util.h"

namespace neuroplex::raft::testing {
namespace {

// ---- pre-vote ----

// A pre-candidate asks whether it could win before it increments its term, so a node that cannot
// win (here: nobody answers) never inflates its term, and the voters keep theirs.
TEST(RaftFeaturesTest, PreCandidateDoesNotBumpItsTerm) {
  Network net(3);
  const Term term = net.raft(1).term();
  tick_until_campaign(net, 1);
  ASSERT_EQ(net.raft(1).role(), Role::kPreCandidate);
  EXPECT_EQ(net.raft(1).term(), term);
  EXPECT_EQ(net.node(1).disk.hard_state.term, term);
  EXPECT_EQ(net.node(1).disk.hard_state.vote, kNoNode);
  const std::vector<Message> out = net.take_messages(1);
  EXPECT_EQ(count(out, MessageType::kVote), 0u);
  const std::vector<Message> pre_votes = filter(out, MessageType::kPreVote);
  ASSERT_EQ(pre_votes.size(), 2u);
  for (const Message& m : pre_votes) {
    EXPECT_EQ(m.term, term + 1) << "a pre-vote carries the term it would use";
    EXPECT_EQ(m.log_index, 1u);
    EXPECT_EQ(m.log_term, 1u);
  }

  net.isolate(1);
  net.tick(1, 10 * kElectionTicks);
  EXPECT_EQ(net.raft(1).term(), term) << "an isolated pre-candidate inflated its term";
  EXPECT_NE(net.raft(1).role(), Role::kLeader);

  // Voters answer a pre-vote without adopting its term.
  Network voters(3);
  tick_until_campaign(voters, 1);
  voters.set_drop([](const Message& m) { return m.type == MessageType::kPreVoteResponse; });
  voters.deliver();
  EXPECT_EQ(count(voters.sent, MessageType::kPreVoteResponse), 2u);
  for (NodeId id : {1, 2, 3}) EXPECT_EQ(voters.raft(id).term(), term) << "node " << id;

  // Without pre-vote the same isolated node does inflate its term (the test can fail).
  Network plain(3, [](Config& c) { c.pre_vote = false; });
  plain.isolate(1);
  plain.tick(1, 10 * kElectionTicks);
  EXPECT_GT(plain.raft(1).term(), term + 2);
}

TEST(RaftFeaturesTest, PartitionedNodeRejoiningWithPreVoteDoesNotDisruptLeader) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  const Term term = net.raft(1).term();
  net.isolate(3);
  net.tick_all(5 * kElectionTicks);
  EXPECT_EQ(net.raft(3).term(), term);
  ASSERT_TRUE(net.propose(1, "while partitioned").is_ok());
  net.deliver();

  net.heal();
  net.tick_all(3 * kElectionTicks);
  for (NodeId id : {1, 2, 3}) {
    EXPECT_EQ(net.raft(id).term(), term) << "node " << id;
    EXPECT_EQ(net.raft(id).leader(), 1u) << "node " << id;
  }
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(log_entries(net.raft(3).log()), log_entries(net.raft(1).log()));
}

// ---- check-quorum ----

TEST(RaftFeaturesTest, LeaderStepsDownWithoutHearingFromQuorum) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  net.isolate(1);
  net.tick(1, kElectionTicks - 1);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader) << "stepped down before an election timeout";
  net.tick(1, kElectionTicks + 1);
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_EQ(net.raft(1).leader(), kNoNode);
}

TEST(RaftFeaturesTest, LeaderWithQuorumStaysLeader) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  const Term term = net.raft(1).term();
  net.isolate(3);
  net.tick_all(5 * kElectionTicks);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).term(), term);
}

// A follower that heard from a leader within the election timeout ignores (pre-)votes, unless
// the candidate campaigns because the leader told it to (transfer).
TEST(RaftFeaturesTest, FollowerWithRecentLeaderIgnoresVotesUnlessTransfer) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  const Term term = net.raft(1).term();
  const Index last = net.raft(2).log().last_index();
  const Term last_term = net.raft(2).log().last_term();
  net.take_messages(2);

  for (bool pre_vote : {false, true}) {
    net.step(2, vote_message(3, 2, term + 1, last + 5, last_term, pre_vote));
    const MessageType type = pre_vote ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
    for (const Message& m : filter(net.take_messages(2), type)) {
      EXPECT_TRUE(m.reject) << "granted a " << (pre_vote ? "pre-vote" : "vote")
                            << " while the leader is recent";
    }
    EXPECT_EQ(net.raft(2).term(), term);
    EXPECT_EQ(net.raft(2).leader(), 1u);
  }

  net.step(2, vote_message(3, 2, term + 1, last + 5, last_term, false, /*transfer=*/true));
  EXPECT_EQ(net.raft(2).term(), term + 1);
  const std::vector<Message> granted = filter(net.take_messages(2), MessageType::kVoteResponse);
  ASSERT_EQ(granted.size(), 1u);
  EXPECT_FALSE(granted[0].reject);
  EXPECT_EQ(net.node(2).disk.hard_state.vote, 3u);
}

// ---- the follower's election timer and slow disks ----

// The timer restarts when a write of the leader's entries completes, so a follower whose disk is
// slower than an election timeout does not campaign against a live leader.
TEST(RaftFeaturesTest, FollowerWriteCompletionResetsElectionTimer) {
  Network net = solo(2, state_with_log(3, {}, 2, 1));
  net.node(2).auto_persist = false;
  net.step(2, append_message(1, 2, 2, 1, 1, {numbered_entry(2, 2)}, 1));
  net.step(2, append_message(1, 2, 2, 2, 2, {numbered_entry(3, 2)}, 1));
  ASSERT_EQ(net.node(2).unpersisted.size(), 2u);
  net.tick(2, kElectionTicks - 1);
  ASSERT_TRUE(net.persist_next(2));
  net.tick(2, kElectionTicks - 1);
  ASSERT_TRUE(net.persist_next(2));
  net.tick(2, kElectionTicks - 1);
  EXPECT_EQ(net.raft(2).role(), Role::kFollower)
      << 3 * (kElectionTicks - 1) << " ticks since the last append, but writes completed";
  EXPECT_EQ(net.raft(2).leader(), 1u);

  net.tick(2, 2 * kElectionTicks);
  EXPECT_NE(net.raft(2).role(), Role::kFollower) << "and without writes or appends it campaigns";
}

TEST(RaftFeaturesTest, FollowerWithSlowDiskDoesNotTimeOutWhileLeaderSends) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  const Term term = net.raft(1).term();
  net.node(2).auto_persist = false;
  for (int i = 0; i < 6 * kElectionTicks; ++i) {
    ASSERT_TRUE(net.propose(1, "w" + std::to_string(i)).is_ok());
    net.tick_all();
    if (i % (3 * kElectionTicks / 2) == 0) net.persist_all(2);
    ASSERT_EQ(net.raft(2).role(), Role::kFollower) << "tick " << i;
  }
  EXPECT_EQ(net.raft(2).term(), term);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
}

// ---- flow control ----

TEST(RaftFeaturesTest, ProbeStateSendsOneAppendAtATime) {
  Network net(3);
  net.cut(1, 2);
  ASSERT_TRUE(net.elect(1));
  EXPECT_EQ(count(net.sent, MessageType::kAppend, 1, 2), 1u) << "the new leader's probe";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(net.propose(1, "p").is_ok());
  net.deliver();
  EXPECT_EQ(count(net.sent, MessageType::kAppend, 1, 2), 1u)
      << "a second append while the probe is unanswered";

  net.heal();
  net.tick(1);
  net.deliver();
  EXPECT_EQ(log_entries(net.raft(2).log()), log_entries(net.raft(1).log()));
}

// Proposes five entries on an isolated leader (one append each) and returns the appends to 2.
std::vector<Message> pipelined_appends(Network& net, std::vector<Index>& indexes,
                                       std::size_t data_bytes) {
  EXPECT_TRUE(net.elect(1));
  net.isolate(1);
  const std::size_t from = net.sent.size();
  for (int i = 0; i < 5; ++i) {
    Result<Index> index = net.propose(1, std::string(data_bytes, 'a' + i));
    EXPECT_TRUE(index.is_ok());
    indexes.push_back(index.is_ok() ? *index : 0);
  }
  return filter(since(net.sent, from), MessageType::kAppend, 1, 2);
}

TEST(RaftFeaturesTest, ReplicateStatePipelinesUpToMaxInflightMessages) {
  Network net(3, [](Config& c) { c.max_inflight_messages = 3; });
  std::vector<Index> indexes;
  const std::vector<Message> appends = pipelined_appends(net, indexes, 10);
  ASSERT_EQ(appends.size(), 3u) << "pipelined up to max_inflight_messages, then paused";
  for (std::size_t j = 0; j < appends.size(); ++j) EXPECT_EQ(appends[j].log_index, indexes[j] - 1);

  const std::size_t from = net.sent.size();
  net.step(1, append_response(2, 1, net.raft(1).term(), indexes[0]));
  const std::vector<Message> more = filter(since(net.sent, from), MessageType::kAppend, 1, 2);
  ASSERT_EQ(more.size(), 1u) << "one acknowledgement frees one slot";
  EXPECT_EQ(more[0].log_index, indexes[2]);
  ASSERT_FALSE(more[0].entries.empty());
  EXPECT_EQ(more[0].entries.front().index, indexes[3]);
}

// Found by the simulator (snapshots_n3, seed 11): a follower restarts while the leader's window
// to it is full; every append in flight is lost, so no acknowledgement ever frees the window.
// A heartbeat answer must free a slot, and the next append's rejection resets the window.
TEST(RaftFeaturesTest, FullWindowOfLostAppendsRecoversOnHeartbeatResponse) {
  Network net(3, [](Config& c) { c.max_inflight_messages = 3; });
  std::vector<Index> indexes;
  const std::vector<Message> lost = pipelined_appends(net, indexes, 10);
  ASSERT_EQ(lost.size(), 3u);
  const std::size_t from = net.sent.size();
  Message answer = make_message(MessageType::kHeartbeatResponse, 2, 1, net.raft(1).term());
  net.step(1, answer);
  const std::vector<Message> retry = filter(since(net.sent, from), MessageType::kAppend, 1, 2);
  ASSERT_EQ(retry.size(), 1u) << "the heartbeat answer frees one slot of the full window";
  net.heal();
  net.step(2, retry[0]);  // node 2 lacks what the lost appends carried: it rejects
  for (int i = 0; i < 3; ++i) net.deliver();
  EXPECT_EQ(log_entries(net.raft(2).log()), log_entries(net.raft(1).log()));
}

TEST(RaftFeaturesTest, ReplicateStatePausesAtMaxInflightBytes) {
  Network net(3, [](Config& c) { c.max_inflight_bytes = 250; });
  std::vector<Index> indexes;
  const std::vector<Message> appends = pipelined_appends(net, indexes, 100);  // 124 bytes each
  EXPECT_EQ(appends.size(), 3u) << "sends while fewer than 250 bytes are in flight";
}

TEST(RaftFeaturesTest, AppendsCarryAtMostMaxMessageBytesBeyondTheFirstEntry) {
  Network net(3, [](Config& c) { c.max_message_bytes = 300; });
  ASSERT_TRUE(net.elect(1));
  net.isolate(2);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(net.propose(1, std::string(100, 'x')).is_ok());
  net.deliver();
  net.heal();
  const std::size_t from = net.sent.size();
  for (int i = 0; i < 3; ++i) {
    net.tick(1);
    net.deliver();
  }
  EXPECT_EQ(log_entries(net.raft(2).log()), log_entries(net.raft(1).log()));
  std::size_t largest = 0;
  for (const Message& m : filter(since(net.sent, from), MessageType::kAppend, 1, 2)) {
    largest = std::max(largest, m.entries.size());
  }
  EXPECT_EQ(largest, 2u) << "124 + 124 bytes fit in 300, a third entry does not";
}

// report_unreachable: appends in flight were probably lost, so the leader stops pipelining and
// probes (one append in flight) from the follower's match.
TEST(RaftFeaturesTest, ReportUnreachableFallsBackToProbing) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  const Index match = net.raft(1).status().match[2];
  net.cut(1, 2);
  const std::size_t from = net.sent.size();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(net.propose(1, "lost").is_ok());
  ASSERT_EQ(count(since(net.sent, from), MessageType::kAppend, 1, 2), 2u) << "pipelined";
  net.raft(1).report_unreachable(2);
  net.check_invariants();
  const std::size_t probing = net.sent.size();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(net.propose(1, "more").is_ok());
  const std::vector<Message> appends = filter(since(net.sent, probing), MessageType::kAppend, 1, 2);
  ASSERT_EQ(appends.size(), 1u) << "probe: one append in flight";
  EXPECT_EQ(appends[0].log_index, match) << "the probe restarts after the follower's match";
}

// ---- fast backtracking ----

// The rejection's hint (index and term) lets the leader skip a whole divergent term at once:
// one rejected probe, where one entry per round trip would take 20 or 40.
TEST(RaftFeaturesTest, FastBacktrackingNeedsOneRejection) {
  struct Case {
    std::vector<Term> leader;
    std::vector<Term> follower;
  };
  for (const Case& c : std::vector<Case>{{std::vector<Term>(10, 3), std::vector<Term>(30, 2)},
                                         {std::vector<Term>(40, 3), {}},
                                         {std::vector<Term>(20, 3), std::vector<Term>(5, 3)}}) {
    SCOPED_TRACE("leader " + std::to_string(c.leader.size()) + ", follower " +
                 std::to_string(c.follower.size()));
    std::map<NodeId, DurableState> states;
    states.emplace(1, state_with_log(3, c.leader, 3, 1));
    states.emplace(2, state_with_log(3, c.follower, 3, 1));
    states.emplace(3, state_with_log(3, c.leader, 3, 1));
    Network net(std::move(states));
    ASSERT_TRUE(net.elect(1));
    EXPECT_EQ(log_entries(net.raft(2).log()), log_entries(net.raft(1).log()));
    std::size_t rejections = 0;
    for (const Message& m : filter(net.sent, MessageType::kAppendResponse, 2, 1)) {
      rejections += m.reject ? 1 : 0;
    }
    EXPECT_EQ(rejections, 1u);
  }
}

// ---- proposals ----

TEST(RaftFeaturesTest, ProposalsRefusedPastMaxUncommittedBytesUntilCommitted) {
  Network net(3, [](Config& c) { c.max_uncommitted_bytes = 500; });
  ASSERT_TRUE(net.elect(1));
  net.isolate(1);
  const std::string data(100, 'x');  // 124 bytes
  int accepted = 0;
  Status refusal;
  for (int i = 0; i < 10 && refusal.is_ok(); ++i) {
    Result<Index> index = net.propose(1, data);
    if (index.is_ok()) {
      ++accepted;
    } else {
      refusal = index.status();
    }
  }
  EXPECT_EQ(refusal.code(), ErrorCode::kUnavailable) << refusal.to_string();
  // 4 entries hold 496 bytes: the 5th exceeds 500 (refused before, or accepted and refusing after).
  EXPECT_GE(accepted, 4);
  EXPECT_LE(accepted, 5);
  EXPECT_EQ(net.propose(1, data).status().code(), ErrorCode::kUnavailable);

  net.heal();
  for (int i = 0; i < 3 && net.raft(1).log().commit() < net.raft(1).log().last_index(); ++i) {
    net.tick(1);
    net.deliver();
  }
  ASSERT_EQ(net.raft(1).log().commit(), net.raft(1).log().last_index());
  EXPECT_TRUE(net.propose(1, data).is_ok()) << "accepted again once committed";
}

TEST(RaftFeaturesTest, ProposeOnFollowerIsNotLeader) {
  Network fresh(3);
  EXPECT_EQ(fresh.propose(1, "x").status().code(), ErrorCode::kNotLeader);

  Network net(3);
  ASSERT_TRUE(net.elect(1));
  const Index last = net.raft(2).log().last_index();
  EXPECT_EQ(net.propose(2, "x").status().code(), ErrorCode::kNotLeader);
  EXPECT_EQ(net.propose_membership(2, {ChangeType::kAddLearner, 4, "node4"}).status().code(),
            ErrorCode::kNotLeader);
  EXPECT_EQ(net.raft(2).leader(), 1u) << "leader() says who is";
  EXPECT_EQ(net.raft(2).log().last_index(), last);
}

// ---- determinism ----

std::vector<std::string> trace(std::uint64_t salt) {
  Network net(3, [&](Config& c) { c.random_seed += salt; });
  net.tick_all(3 * kElectionTicks);
  NodeId leader = kNoNode;
  for (NodeId id : net.ids()) leader = net.raft(id).role() == Role::kLeader ? id : leader;
  EXPECT_NE(leader, kNoNode);
  if (leader != kNoNode) {
    EXPECT_TRUE(net.propose(leader, "x").is_ok());
  }
  net.isolate(leader);
  net.tick_all(3 * kElectionTicks);
  net.heal();
  net.tick_all(3 * kElectionTicks);
  std::vector<std::string> lines;
  for (const Message& m : net.sent) {
    lines.push_back(std::string(message_type_name(m.type)) + " " + std::to_string(m.from) + ">" +
                    std::to_string(m.to) + " t" + std::to_string(m.term) + " i" +
                    std::to_string(m.log_index) + " lt" + std::to_string(m.log_term) + " c" +
                    std::to_string(m.commit) + " n" + std::to_string(m.entries.size()) +
                    (m.reject ? " reject" : ""));
  }
  return lines;
}

TEST(RaftFeaturesTest, SameSeedsGiveTheSameTrace) {
  const std::vector<std::string> first = trace(0);
  EXPECT_GT(first.size(), 50u);
  EXPECT_EQ(trace(0), first);
}

}  // namespace
}  // namespace neuroplex::raft::testing
