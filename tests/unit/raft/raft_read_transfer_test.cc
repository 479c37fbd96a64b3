// Leadership transfer (thesis section 3.10) and linearizable reads: ReadIndex on the leader and
// through a follower (section 6.4), batching, a new leader's deferred reads, and lease reads.
#include <gtest/gtest.h>

#include "tests/unit/raft/raft_test_util.h"

namespace neuroplex::raft::testing {
namespace {

Status transfer(Network& net, NodeId leader, NodeId target) {
  Status status = net.raft(leader).transfer_leadership(target);
  net.check_invariants();
  net.drain(leader);
  return status;
}

Status read_index(Network& net, NodeId id, std::uint64_t request_id) {
  Status status = net.raft(id).read_index(request_id);
  net.check_invariants();
  net.drain(id);
  return status;
}

Status read_lease(Network& net, NodeId id, std::uint64_t request_id) {
  Status status = net.raft(id).read_lease(request_id);
  net.check_invariants();
  net.drain(id);
  return status;
}

// ---- leadership transfer ----

TEST(RaftTransferTest, CaughtUpTargetGetsTimeoutNowAtOnceAndWins) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  const Term term = net.raft(1).term();
  ASSERT_TRUE(transfer(net, 1, 2).is_ok());
  EXPECT_EQ(count(net.sent, MessageType::kTimeoutNow, 1, 2), 1u);
  net.deliver();
  EXPECT_EQ(net.raft(2).role(), Role::kLeader);
  EXPECT_EQ(net.raft(2).term(), term + 1);
  EXPECT_EQ(net.raft(1).leader(), 2u);
  EXPECT_EQ(net.raft(3).leader(), 2u);
  EXPECT_EQ(count(net.sent, MessageType::kPreVote, 2), 0u) << "TimeoutNow skips pre-vote";
  for (const Message& m : filter(net.sent, MessageType::kVote, 2)) EXPECT_TRUE(m.transfer);
}

TEST(RaftTransferTest, TimeoutNowWaitsUntilTargetCaughtUp) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  const Term term = net.raft(1).term();
  net.isolate(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(net.propose(1, "x").is_ok());
  net.deliver();
  ASSERT_TRUE(transfer(net, 1, 3).is_ok());
  net.deliver();
  EXPECT_EQ(count(net.sent, MessageType::kTimeoutNow), 0u) << "the target is behind";
  EXPECT_EQ(net.propose(1, "during").status().code(), ErrorCode::kUnavailable)
      << "proposals are refused during a transfer";

  net.heal();
  net.tick(1);
  net.deliver();
  const std::vector<Message> timeout_now = filter(net.sent, MessageType::kTimeoutNow, 1, 3);
  ASSERT_EQ(timeout_now.size(), 1u);
  EXPECT_EQ(net.raft(3).role(), Role::kLeader);
  EXPECT_EQ(net.raft(3).term(), term + 1);
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_EQ(net.raft(1).leader(), 3u);
  EXPECT_EQ(net.raft(3).log().at(net.raft(3).log().last_index() - 1).data, "x")
      << "the new leader has every entry of the old one";
}

TEST(RaftTransferTest, TransferAbortedAfterElectionTimeout) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  net.isolate(3);
  ASSERT_TRUE(net.propose(1, "x").is_ok());
  net.deliver();
  ASSERT_TRUE(transfer(net, 1, 3).is_ok());
  for (int i = 0; i < kElectionTicks - 1; ++i) {
    net.tick(1);
    net.deliver();
  }
  EXPECT_EQ(net.propose(1, "during").status().code(), ErrorCode::kUnavailable);
  net.tick(1, 2);
  net.deliver();
  EXPECT_TRUE(net.propose(1, "after").is_ok()) << "the transfer was not aborted";
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(count(net.sent, MessageType::kTimeoutNow), 0u);
}

// ---- ReadIndex ----

TEST(RaftReadIndexTest, LeaderServesReadOnlyAfterHeartbeatQuorum) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  net.isolate(2);
  net.isolate(3);
  ASSERT_TRUE(read_index(net, 1, 42).is_ok());
  net.tick(1, 3);
  net.deliver();
  EXPECT_TRUE(net.node(1).read_states.empty()) << "served a read without a quorum";

  net.heal();
  net.tick(1);
  net.deliver();
  ASSERT_EQ(net.node(1).read_states.size(), 1u);
  EXPECT_EQ(net.node(1).read_states[0].request_id, 42u);
  EXPECT_EQ(net.node(1).read_states[0].index, net.raft(1).log().commit());
}

TEST(RaftReadIndexTest, ReadsArrivingTogetherShareOneRound) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  const std::size_t from = net.sent.size();
  // Three reads before the leader's next Ready: they go out in one round.
  for (std::uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(net.raft(1).read_index(id).is_ok());
  net.deliver();
  if (net.node(1).read_states.size() < 3) {
    net.tick(1);
    net.deliver();
  }
  ASSERT_EQ(net.node(1).read_states.size(), 3u);
  for (std::uint64_t id = 1; id <= 3; ++id) {
    EXPECT_EQ(net.node(1).read_states[id - 1].request_id, id);
    EXPECT_EQ(net.node(1).read_states[id - 1].index, net.raft(1).log().commit());
  }
  EXPECT_EQ(count(since(net.sent, from), MessageType::kHeartbeat, 1, 2), 1u)
      << "one heartbeat round for the three reads";
}

TEST(RaftReadIndexTest, NewLeaderDefersReadsUntilItsNoopCommits) {
  Network net(3);
  net.set_drop([](const Message& m) {
    return m.type == MessageType::kAppend || m.type == MessageType::kAppendResponse;
  });
  tick_until_campaign(net, 1);
  net.deliver();
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  const Index noop = net.raft(1).log().last_index();
  ASSERT_LT(net.raft(1).log().commit(), noop);
  ASSERT_TRUE(read_index(net, 1, 7).is_ok());
  for (int i = 0; i < 3; ++i) {
    net.tick(1);
    net.deliver();
  }
  EXPECT_TRUE(net.node(1).read_states.empty()) << "served before the leader's no-op committed";

  net.heal();
  for (int i = 0; i < 3 && net.node(1).read_states.empty(); ++i) {
    net.tick(1);
    net.deliver();
  }
  ASSERT_EQ(net.raft(1).log().commit(), noop);
  ASSERT_EQ(net.node(1).read_states.size(), 1u);
  EXPECT_EQ(net.node(1).read_states[0].request_id, 7u);
  EXPECT_EQ(net.node(1).read_states[0].index, noop);
}

TEST(RaftReadIndexTest, FollowerForwardsToLeaderAndGetsItsIndex) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  ASSERT_TRUE(net.propose(1, "x").is_ok());
  net.deliver();
  ASSERT_TRUE(read_index(net, 2, 99).is_ok());
  EXPECT_EQ(count(net.sent, MessageType::kReadIndex, 2, 1), 1u);
  net.deliver();
  if (net.node(2).read_states.empty()) {
    net.tick(1);
    net.deliver();
  }
  ASSERT_EQ(net.node(2).read_states.size(), 1u);
  EXPECT_EQ(net.node(2).read_states[0].request_id, 99u);
  EXPECT_EQ(net.node(2).read_states[0].index, net.raft(1).log().commit());
  EXPECT_TRUE(net.node(1).read_states.empty()) << "the leader served the follower's read itself";
}

// A leader deposed while reads wait fails them at once, its own and the followers' alike,
// instead of leaving the clients to time out.
TEST(RaftReadIndexTest, DeposedLeaderFailsPendingReads) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  net.isolate(1);  // its heartbeat rounds can no longer be acknowledged
  ASSERT_TRUE(read_index(net, 1, 7).is_ok());
  net.step(1, make_message(MessageType::kReadIndex, 2, 1, net.raft(1).term()));
  net.tick(1);
  EXPECT_TRUE(net.node(1).read_states.empty());
  net.heal();
  net.step(1, append_message(3, 1, net.raft(1).term() + 1, 0, 0, {}, 0));  // a newer leader
  EXPECT_NE(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.node(1).failed_reads, std::vector<std::uint64_t>{7});
  const std::vector<Message> rejections = filter(net.sent, MessageType::kReadIndexResponse, 1, 2);
  ASSERT_EQ(rejections.size(), 1u);
  EXPECT_TRUE(rejections[0].reject);
  net.step(2, rejections[0]);
  EXPECT_EQ(net.node(2).failed_reads.size(), 1u);
}

// A read forwarded to a node that is not the leader (it lost leadership on the way) fails.
TEST(RaftReadIndexTest, ReadIndexAtNonLeaderIsRejected) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  Message request = make_message(MessageType::kReadIndex, 3, 2, net.raft(2).term());
  request.request_id = 42;
  net.step(2, request);
  const std::vector<Message> rejections = filter(net.sent, MessageType::kReadIndexResponse, 2, 3);
  ASSERT_EQ(rejections.size(), 1u);
  EXPECT_TRUE(rejections[0].reject);
  EXPECT_EQ(rejections[0].request_id, 42u);
}

TEST(RaftReadIndexTest, SingleVoterServesReadsAlone) {
  Network net(1);
  ASSERT_TRUE(net.elect(1));
  ASSERT_TRUE(read_index(net, 1, 11).is_ok());
  net.tick(1);
  ASSERT_EQ(net.node(1).read_states.size(), 1u);
  EXPECT_EQ(net.node(1).read_states[0].request_id, 11u);
  EXPECT_EQ(net.node(1).read_states[0].index, net.raft(1).log().commit());
}

TEST(RaftReadIndexTest, NoKnownLeaderIsUnavailable) {
  Network net(3);
  EXPECT_EQ(read_index(net, 1, 1).code(), ErrorCode::kUnavailable);
  tick_until_campaign(net, 1);
  EXPECT_EQ(read_index(net, 1, 2).code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(read_lease(net, 2, 3).is_ok());
  EXPECT_TRUE(net.node(1).read_states.empty());
}

// ---- lease reads ----

TEST(RaftLeaseTest, ServedImmediatelyWhileLeaseHolds) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  net.tick(1);
  net.deliver();
  const std::size_t sent = net.sent.size();
  ASSERT_TRUE(read_lease(net, 1, 5).is_ok());
  ASSERT_EQ(net.node(1).read_states.size(), 1u) << "a lease read needs no round trip";
  EXPECT_EQ(net.node(1).read_states[0].request_id, 5u);
  EXPECT_EQ(net.node(1).read_states[0].index, net.raft(1).log().commit());
  EXPECT_EQ(net.sent.size(), sent);
}

// The lease starts when the acknowledged round was sent and runs election_ticks -
// lease_margin_ticks ticks (config.h).
TEST(RaftLeaseTest, RefusedOnceQuorumSilentForLeaseDuration) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  net.tick(1);  // this round is acknowledged
  net.deliver();
  net.isolate(1);
  const int lease = kElectionTicks - net.node(1).config.lease_margin_ticks;
  net.tick(1, lease - 1);
  EXPECT_TRUE(read_lease(net, 1, 1).is_ok()) << "lease ran " << lease - 1 << " of " << lease;
  net.tick(1);
  Status refused = read_lease(net, 1, 2);
  EXPECT_FALSE(refused.is_ok()) << "served after the lease ran out";
  EXPECT_EQ(refused.code(), ErrorCode::kUnavailable) << refused.to_string();
  std::vector<std::uint64_t> served;
  for (const ReadState& r : net.node(1).read_states) served.push_back(r.request_id);
  EXPECT_EQ(served, std::vector<std::uint64_t>{1});
}

TEST(RaftLeaseTest, RequiresCheckQuorum) {
  Network net(3, [](Config& c) { c.check_quorum = false; });
  ASSERT_TRUE(net.elect(1));
  net.tick(1);
  net.deliver();
  EXPECT_FALSE(read_lease(net, 1, 1).is_ok());
  EXPECT_TRUE(net.node(1).read_states.empty());
}

}  // namespace
}  // namespace neuroplex::raft::testing
