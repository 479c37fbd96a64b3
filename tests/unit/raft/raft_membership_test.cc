// Membership: single-server changes through the log (add a learner, promote, remove), the rules
// that guard them (one change in flight, none before the leader's no-op commits), a removed
// leader stepping down, membership taking effect on append and reverting on truncation; and the
// pure functions apply_change, encode_membership and decode_membership.
#include <gtest/gtest.h>

#include <random>

#include "tests/unit/raft/raft_test_util.h"

namespace neuroplex::raft::testing {
namespace {

Membership with(Membership membership, NodeId id, bool voter) {
  std::erase_if(membership.members, [&](const Member& m) { return m.id == id; });
  membership.members.push_back({id, voter, "node" + std::to_string(id)});
  std::sort(membership.members.begin(), membership.members.end(),
            [](const Member& a, const Member& b) { return a.id < b.id; });
  return membership;
}

// Commits whatever the leader has: delivers, then one heartbeat round.
void settle(Network& net, NodeId leader = 1) {
  net.deliver();
  net.tick(leader);
  net.deliver();
}

// Adds an empty node `id` to the cluster as a learner and lets it catch up.
void add_learner(Network& net, NodeId id) {
  net.add_node(id, DurableState{});
  Result<Index> index =
      net.propose_membership(1, {ChangeType::kAddLearner, id, "node" + std::to_string(id)});
  ASSERT_TRUE(index.is_ok()) << index.status().to_string();
  settle(net);
  ASSERT_EQ(net.raft(1).log().commit(), *index);
}

TEST(RaftMembershipTest, AddedLearnersReplicateButNeitherVoteNorCampaign) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  add_learner(net, 4);
  add_learner(net, 5);
  const Membership expected = with(with(membership_of(3), 4, false), 5, false);
  EXPECT_EQ(net.raft(1).log().membership(), expected);
  EXPECT_EQ(net.raft(1).status().membership, expected);
  for (NodeId id : {4, 5}) {
    EXPECT_EQ(net.raft(id).log().membership(), expected);
    EXPECT_EQ(log_entries(net.raft(id).log()), log_entries(net.raft(1).log()));
    EXPECT_EQ(net.raft(id).log().commit(), net.raft(1).log().commit());
  }

  // Their acknowledgements do not count: 1, 4 and 5 are three of five members, one of 3 voters.
  net.isolate(2);
  net.isolate(3);
  Result<Index> index = net.propose(1, "x");
  ASSERT_TRUE(index.is_ok());
  net.deliver();
  EXPECT_EQ(net.raft(4).log().last_index(), *index);
  EXPECT_EQ(net.raft(5).log().last_index(), *index);
  EXPECT_EQ(net.raft(1).log().commit(), *index - 1) << "learners counted as voters";

  // A learner never campaigns, however long it hears nothing.
  const Term term = net.raft(4).term();
  net.tick(4, 5 * kElectionTicks);
  EXPECT_EQ(net.raft(4).role(), Role::kFollower);
  EXPECT_EQ(net.raft(4).term(), term);
  EXPECT_EQ(count(net.sent, MessageType::kPreVote, 4), 0u);
  EXPECT_EQ(count(net.sent, MessageType::kVote, 4), 0u);
}

TEST(RaftMembershipTest, PromotedLearnerCountsTowardsTheQuorum) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  add_learner(net, 4);
  net.isolate(3);
  net.isolate(4);
  Result<Index> before = net.propose(1, "with 1 and 2 of 3 voters");
  ASSERT_TRUE(before.is_ok());
  settle(net);
  EXPECT_EQ(net.raft(1).log().commit(), *before);

  net.heal();
  Result<Index> promote = net.propose_membership(1, {ChangeType::kAddVoter, 4, "node4"});
  ASSERT_TRUE(promote.is_ok()) << promote.status().to_string();
  settle(net);
  ASSERT_EQ(net.raft(1).log().commit(), *promote);
  EXPECT_EQ(net.raft(1).log().membership().voters(), (std::vector<NodeId>{1, 2, 3, 4}));
  EXPECT_EQ(net.raft(4).log().membership().voters(), (std::vector<NodeId>{1, 2, 3, 4}));

  net.isolate(3);
  net.isolate(4);
  Result<Index> after = net.propose(1, "with 1 and 2 of 4 voters");
  ASSERT_TRUE(after.is_ok());
  settle(net);
  EXPECT_EQ(net.raft(1).log().commit(), *after - 1) << "two of four voters committed";
}

TEST(RaftMembershipTest, RemovedVoterNoLongerCounts) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  Result<Index> remove = net.propose_membership(1, {ChangeType::kRemove, 3, ""});
  ASSERT_TRUE(remove.is_ok()) << remove.status().to_string();
  settle(net);
  ASSERT_EQ(net.raft(1).log().commit(), *remove);
  EXPECT_EQ(net.raft(1).log().membership(), membership_of(2));
  EXPECT_EQ(net.raft(2).log().membership(), membership_of(2));

  net.isolate(3);
  Result<Index> index = net.propose(1, "x");
  ASSERT_TRUE(index.is_ok());
  settle(net);
  EXPECT_EQ(net.raft(1).log().commit(), *index);

  net.isolate(2);
  index = net.propose(1, "y");
  ASSERT_TRUE(index.is_ok());
  settle(net);
  EXPECT_EQ(net.raft(1).log().commit(), *index - 1) << "one of two voters committed";
}

TEST(RaftMembershipTest, OnlyOneChangeInFlight) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  net.isolate(2);
  net.isolate(3);
  ASSERT_TRUE(net.propose_membership(1, {ChangeType::kAddLearner, 4, "node4"}).is_ok());
  Result<Index> second = net.propose_membership(1, {ChangeType::kAddLearner, 5, "node5"});
  EXPECT_EQ(second.status().code(), ErrorCode::kUnavailable) << second.status().to_string();
  EXPECT_EQ(net.raft(1).log().membership(), with(membership_of(3), 4, false));

  net.heal();
  settle(net);
  second = net.propose_membership(1, {ChangeType::kAddLearner, 5, "node5"});
  EXPECT_TRUE(second.is_ok()) << second.status().to_string();
}

TEST(RaftMembershipTest, ChangeRefusedUntilLeadersNoopCommits) {
  Network net(3);
  net.set_drop([](const Message& m) {
    return m.type == MessageType::kAppend || m.type == MessageType::kAppendResponse;
  });
  tick_until_campaign(net, 1);
  net.deliver();
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  ASSERT_LT(net.raft(1).log().commit(), net.raft(1).log().last_index());
  const MembershipChange change{ChangeType::kAddLearner, 4, "node4"};
  EXPECT_EQ(net.propose_membership(1, change).status().code(), ErrorCode::kUnavailable);

  net.heal();
  settle(net);
  ASSERT_EQ(net.raft(1).log().commit(), net.raft(1).log().last_index());
  EXPECT_TRUE(net.propose_membership(1, change).is_ok());
}

TEST(RaftMembershipTest, RemovedLeaderStepsDownOnceRemovalCommits) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  net.set_drop([](const Message& m) { return m.type == MessageType::kAppendResponse; });
  Result<Index> remove = net.propose_membership(1, {ChangeType::kRemove, 1, ""});
  ASSERT_TRUE(remove.is_ok()) << remove.status().to_string();
  net.deliver();
  EXPECT_EQ(net.raft(1).log().membership().voters(), (std::vector<NodeId>{2, 3}));
  EXPECT_EQ(net.raft(1).role(), Role::kLeader) << "stepped down before the removal committed";

  net.heal();
  settle(net);
  EXPECT_GE(net.raft(1).log().commit(), *remove);
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);

  const std::size_t from = net.sent.size();
  net.tick_all(4 * kElectionTicks);
  const NodeId leader = net.raft(2).leader();
  EXPECT_TRUE(leader == 2 || leader == 3) << "leader " << leader;
  EXPECT_EQ(net.raft(3).leader(), leader);
  EXPECT_NE(net.raft(1).role(), Role::kLeader);
  const std::vector<Message> later = since(net.sent, from);
  EXPECT_EQ(count(later, MessageType::kPreVote, 1) + count(later, MessageType::kVote, 1), 0u)
      << "a removed node campaigned";
}

// Found by the simulator (everything_n3, seed 7): {1,2} -> {2} proposed by leader 1 while 2 is
// down. Check-quorum deposes 1 before the removal can commit; 2 comes back without the removal
// entry. 1 must still campaign (counting only the new membership's voter), or nobody can win:
// 2 cannot get 1's vote with its shorter log, and 1 would not stand.
TEST(RaftMembershipTest, LeaderWhoseUncommittedRemovalStrandedItCampaignsAgain) {
  Network net(2);
  ASSERT_TRUE(net.elect(1));
  net.isolate(2);
  Result<Index> remove = net.propose_membership(1, {ChangeType::kRemove, 1, ""});
  ASSERT_TRUE(remove.is_ok()) << remove.status().to_string();
  for (int i = 0; i < 3 * kElectionTicks; ++i) {
    net.tick(1);
    net.deliver();  // lost: 2 never sees the removal
  }
  ASSERT_NE(net.raft(1).role(), Role::kLeader) << "check-quorum should have deposed it";
  ASSERT_LT(net.raft(2).log().last_index(), *remove);
  ASSERT_LT(net.raft(1).log().commit(), *remove);

  net.heal();
  for (int i = 0; i < 10 * kElectionTicks; ++i) {
    net.tick_all(1);
    net.deliver();
  }
  EXPECT_GE(net.raft(2).log().commit(), *remove) << "the removal never committed";
  EXPECT_EQ(net.raft(2).role(), Role::kLeader);
  EXPECT_EQ(net.raft(2).log().membership().voters(), (std::vector<NodeId>{2}));
}

// Section 4.1: a server uses the latest membership in its log, committed or not; so a truncated
// membership entry takes its membership with it.
TEST(RaftMembershipTest, MembershipEffectiveWhenAppendedRevertsWhenTruncated) {
  const Membership four = with(membership_of(3), 4, false);
  Network net = solo(2, state_with_log(3, {}, 2, 1));
  net.step(2, append_message(1, 2, 2, 1, 1, {membership_entry(2, 2, four)}, 1));
  EXPECT_EQ(net.raft(2).log().membership(), four);
  EXPECT_EQ(net.raft(2).log().membership_index(), 2u);
  EXPECT_EQ(net.raft(2).status().membership, four);

  net.step(2, append_message(3, 2, 3, 1, 1, {numbered_entry(2, 3)}, 1));
  EXPECT_EQ(net.raft(2).log().membership(), membership_of(3));
  EXPECT_EQ(net.raft(2).log().membership_index(), 1u);

  Network leader(3);
  ASSERT_TRUE(leader.elect(1));
  leader.isolate(2);
  leader.isolate(3);
  ASSERT_TRUE(leader.propose_membership(1, {ChangeType::kAddLearner, 4, "node4"}).is_ok());
  EXPECT_EQ(leader.raft(1).log().membership(), four) << "the leader's change is effective at once";
  EXPECT_LT(leader.raft(1).log().commit(), leader.raft(1).log().membership_index());
}

// ---- apply_change ----

TEST(MembershipTest, ApplyChangeAddsPromotesDemotesRemoves) {
  const Membership three = membership_of(3);
  Result<Membership> learner = apply_change(three, {ChangeType::kAddLearner, 4, "node4"});
  ASSERT_TRUE(learner.is_ok()) << learner.status().to_string();
  EXPECT_EQ(*learner, with(three, 4, false));
  EXPECT_EQ(learner->voters(), (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(learner->ids(), (std::vector<NodeId>{1, 2, 3, 4}));
  EXPECT_FALSE(learner->is_voter(4));
  EXPECT_TRUE(learner->contains(4));

  Result<Membership> promoted = apply_change(*learner, {ChangeType::kAddVoter, 4, "node4"});
  ASSERT_TRUE(promoted.is_ok());
  EXPECT_TRUE(promoted->is_voter(4));
  EXPECT_EQ(promoted->voters(), (std::vector<NodeId>{1, 2, 3, 4}));

  Result<Membership> demoted = apply_change(three, {ChangeType::kAddLearner, 2, ""});
  ASSERT_TRUE(demoted.is_ok());
  EXPECT_EQ(demoted->voters(), (std::vector<NodeId>{1, 3}));
  EXPECT_TRUE(demoted->contains(2));

  Result<Membership> removed = apply_change(three, {ChangeType::kRemove, 2, ""});
  ASSERT_TRUE(removed.is_ok());
  EXPECT_EQ(removed->ids(), (std::vector<NodeId>{1, 3}));
  EXPECT_EQ(removed->find(2), nullptr);

  Result<Membership> sorted = apply_change(three, {ChangeType::kAddVoter, 7, "node7"});
  ASSERT_TRUE(sorted.is_ok());
  sorted = apply_change(*sorted, {ChangeType::kAddVoter, 5, "node5"});
  ASSERT_TRUE(sorted.is_ok());
  EXPECT_EQ(sorted->ids(), (std::vector<NodeId>{1, 2, 3, 5, 7}));
  ASSERT_NE(sorted->find(5), nullptr);
  EXPECT_EQ(sorted->find(5)->address, "node5");
}

TEST(MembershipTest, ApplyChangeRejectsNoOpsAndVoterlessResults) {
  const Membership three = membership_of(3);
  const Membership with_learner = with(three, 4, false);
  struct Case {
    const Membership* current;
    MembershipChange change;
  };
  const Membership one = membership_of(1);
  for (const Case& c : std::vector<Case>{{&three, {ChangeType::kAddVoter, 2, "node2"}},
                                         {&with_learner, {ChangeType::kAddLearner, 4, "node4"}},
                                         {&three, {ChangeType::kRemove, 9, ""}},
                                         {&one, {ChangeType::kRemove, 1, ""}},
                                         {&one, {ChangeType::kAddLearner, 1, ""}},
                                         {&three, {ChangeType::kAddVoter, kNoNode, "x"}}}) {
    SCOPED_TRACE("node " + std::to_string(c.change.node));
    Result<Membership> result = apply_change(*c.current, c.change);
    EXPECT_FALSE(result.is_ok());
    EXPECT_EQ(result.status().code(), ErrorCode::kInvalidArgument);
  }
}

// ---- encode / decode ----

Membership varied() {
  Membership membership;
  membership.members.push_back({1, true, ""});
  membership.members.push_back({2, false, "10.0.0.2:7000"});
  membership.members.push_back({300, true, std::string(1000, 'a')});
  membership.members.push_back({std::uint64_t{1} << 63, false, "last"});
  return membership;
}

TEST(MembershipCodecTest, RoundTrips) {
  for (const Membership& m : {membership_of(1), membership_of(5), varied()}) {
    Result<Membership> decoded = decode_membership(encode_membership(m));
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_EQ(*decoded, m);
  }
}

TEST(MembershipCodecTest, DecodeRejectsTruncation) {
  const std::string bytes = encode_membership(varied());
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    Result<Membership> decoded = decode_membership(std::string_view(bytes).substr(0, length));
    EXPECT_FALSE(decoded.is_ok()) << "a prefix of " << length << " of " << bytes.size()
                                  << " bytes decoded";
    if (!decoded.is_ok()) {
      EXPECT_EQ(decoded.status().code(), ErrorCode::kInvalidArgument);
    }
  }
}

TEST(MembershipCodecTest, DecodeRejectsGarbage) {
  const std::string bytes = encode_membership(varied());
  EXPECT_FALSE(decode_membership(bytes + "x").is_ok()) << "trailing bytes";
  EXPECT_FALSE(decode_membership(std::string(16, '\xff')).is_ok());
  EXPECT_FALSE(decode_membership("not a membership").is_ok());
  // Random inputs: decode either refuses them or returns a membership whose invariant holds.
  std::mt19937_64 random(42);
  for (int i = 0; i < 2000; ++i) {
    std::string input(random() % 64, '\0');
    for (char& c : input) c = static_cast<char>(random());
    Result<Membership> decoded = decode_membership(input);
    if (!decoded.is_ok()) {
      EXPECT_EQ(decoded.status().code(), ErrorCode::kInvalidArgument);
      continue;
    }
    for (std::size_t j = 0; j < decoded->members.size(); ++j) {
      EXPECT_GE(decoded->members[j].id, 1u);
      if (j > 0) {
        EXPECT_LT(decoded->members[j - 1].id, decoded->members[j].id);
      }
    }
  }
}

}  // namespace
}  // namespace neuroplex::raft::testing
