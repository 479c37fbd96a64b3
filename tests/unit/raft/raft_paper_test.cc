// The election rules of the Raft paper ("In Search of an Understandable Consensus Algorithm",
// sections 5.1, 5.2 and 5.4.1), one test per rule, each quoting the sentence it checks (after
// etcd's raft_paper_test.go). The cores are driven by hand: messages are stepped, not simulated.
#include <gtest/gtest.h>

#include <set>

#include "tests/unit/raft/raft_test_util.h"

namespace neuroplex::raft::testing {
namespace {

// "Current terms are exchanged whenever servers communicate; if one server's current term is
// smaller than the other's, then it updates its current term to the larger value. If a candidate
// or leader discovers that its term is out of date, it immediately reverts to follower state."
TEST(RaftPaperTest, UpdateTermFromMessage) {
  for (Role role : {Role::kFollower, Role::kPreCandidate, Role::kCandidate, Role::kLeader}) {
    SCOPED_TRACE(role_name(role));
    Network net(3, [&](Config& c) { c.pre_vote = role == Role::kPreCandidate; });
    if (role == Role::kLeader) {
      ASSERT_TRUE(net.elect(1));
    } else if (role != Role::kFollower) {
      tick_until_campaign(net, 1);
    }
    ASSERT_EQ(net.raft(1).role(), role);
    const Term term = net.raft(1).term();

    net.step(1, make_message(MessageType::kHeartbeat, 2, 1, term + 2));
    EXPECT_EQ(net.raft(1).role(), Role::kFollower);
    EXPECT_EQ(net.raft(1).term(), term + 2);
    EXPECT_EQ(net.raft(1).leader(), 2u);
    EXPECT_EQ(net.node(1).disk.hard_state.term, term + 2) << "the new term was not persisted";
  }
}

// "If a server receives a request with a stale term number, it rejects the request."
TEST(RaftPaperTest, RejectStaleTermMessage) {
  Network net = solo(1, state_with_log(3, {}, 3, 1));
  net.step(1, append_message(2, 1, 2, 1, 1, {make_entry(2, 2, "stale")}, 1));
  net.step(1, vote_message(2, 1, 2, 5, 2));
  EXPECT_EQ(net.raft(1).term(), 3u);
  EXPECT_EQ(net.raft(1).leader(), kNoNode);
  EXPECT_EQ(net.raft(1).log().last_index(), 1u) << "accepted entries from a stale leader";
  // An answer, if any, carries the newer term (so that a stale leader steps down) and neither
  // acknowledges the stale entry nor grants the vote.
  for (const Message& m : net.take_messages(1)) {
    EXPECT_EQ(m.term, 3u) << message_type_name(m.type);
    if (m.type == MessageType::kAppendResponse && !m.reject) {
      EXPECT_LT(m.log_index, 2u);
    }
    if (m.type == MessageType::kVoteResponse) {
      EXPECT_TRUE(m.reject);
    }
  }
}

// "When servers start up, they begin as followers."
TEST(RaftPaperTest, StartAsFollower) {
  const DurableState founders = bootstrap(membership_of(3));
  ASSERT_EQ(founders.entries.size(), 1u);
  EXPECT_EQ(founders.entries[0].index, 1u);
  EXPECT_EQ(founders.entries[0].term, 1u);
  EXPECT_EQ(founders.entries[0].type, EntryType::kMembership);
  Result<Membership> decoded = decode_membership(founders.entries[0].data);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, membership_of(3));
  EXPECT_EQ(founders.hard_state.term, 1u);
  EXPECT_EQ(founders.hard_state.commit, 1u) << "the bootstrap entry is committed";

  Network net(3);
  for (NodeId id : net.ids()) {
    EXPECT_EQ(net.raft(id).role(), Role::kFollower);
    EXPECT_EQ(net.raft(id).leader(), kNoNode);
    EXPECT_EQ(net.raft(id).term(), 1u);
    EXPECT_EQ(net.raft(id).log().membership(), membership_of(3));
  }
}

// "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to all
// followers in order to maintain their authority."
TEST(RaftPaperTest, LeaderBroadcastsHeartbeat) {
  Network net(3, [](Config& c) { c.heartbeat_ticks = 3; });
  ASSERT_TRUE(net.elect(1));
  net.tick(1, 2);
  EXPECT_EQ(count(net.take_messages(1), MessageType::kHeartbeat), 0u) << "before the period";
  net.tick(1);
  const std::vector<Message> out = net.take_messages(1);
  EXPECT_EQ(count(out, MessageType::kHeartbeat, 1, 2), 1u);
  EXPECT_EQ(count(out, MessageType::kHeartbeat, 1, 3), 1u);
  for (const Message& m : filter(out, MessageType::kHeartbeat)) {
    EXPECT_EQ(m.term, net.raft(1).term());
  }
}

// "If a follower receives no communication over a period of time called the election timeout,
// then it assumes there is no viable leader and begins an election to choose a new leader. To
// begin an election, a follower increments its current term and transitions to candidate state.
// It then votes for itself and issues RequestVote RPCs in parallel to each of the other servers."
TEST(RaftPaperTest, FollowerStartsElectionAfterTimeout) {
  Network net(3, [](Config& c) { c.pre_vote = false; });
  const Term term = net.raft(1).term();
  tick_until_campaign(net, 1);
  EXPECT_EQ(net.raft(1).role(), Role::kCandidate);
  EXPECT_EQ(net.raft(1).term(), term + 1);
  EXPECT_EQ(net.node(1).disk.hard_state, (HardState{term + 1, 1, 1}));
  const std::vector<Message> out = net.take_messages(1);
  for (NodeId to : {2, 3}) {
    const std::vector<Message> votes = filter(out, MessageType::kVote, 1, to);
    ASSERT_EQ(votes.size(), 1u) << "to " << to;
    EXPECT_EQ(votes[0].term, term + 1);
    EXPECT_EQ(votes[0].log_index, 1u);
    EXPECT_EQ(votes[0].log_term, 1u);
  }
}

// "...each candidate will time out and start a new election by incrementing its term and
// initiating another round of RequestVote RPCs."
TEST(RaftPaperTest, CandidateStartsNewElectionAfterTimeout) {
  Network net(3, [](Config& c) { c.pre_vote = false; });
  tick_until_campaign(net, 1);
  const Term term = net.raft(1).term();
  net.take_messages(1);
  for (int i = 0; i < 2 * kElectionTicks && net.raft(1).term() == term; ++i) net.tick(1);
  EXPECT_EQ(net.raft(1).role(), Role::kCandidate);
  EXPECT_EQ(net.raft(1).term(), term + 1);
  const std::vector<Message> votes = filter(net.take_messages(1), MessageType::kVote);
  ASSERT_EQ(votes.size(), 2u);
  for (const Message& m : votes) EXPECT_EQ(m.term, term + 1);
}

// "A candidate wins an election if it receives votes from a majority of the servers in the full
// cluster for the same term."
TEST(RaftPaperTest, LeaderElectionInOneRound) {
  enum Outcome { kWins, kWaits, kLoses };
  struct Case {
    std::size_t size;
    std::map<NodeId, bool> rejects;  // voter -> reject
    Outcome outcome;
  };
  const std::vector<Case> cases = {
      {1, {}, kWins},
      {3, {{2, false}, {3, false}}, kWins},
      {3, {{2, false}}, kWins},
      {5, {{2, false}, {3, false}, {4, false}, {5, false}}, kWins},
      {5, {{2, false}, {3, false}}, kWins},
      {3, {}, kWaits},
      {5, {{2, false}}, kWaits},
      {5, {{2, false}, {3, true}}, kWaits},
      {3, {{2, true}, {3, true}}, kLoses},
      {5, {{2, true}, {3, true}, {4, true}}, kLoses},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE("case " + std::to_string(i));
    Network net(c.size, [](Config& config) { config.pre_vote = false; });
    tick_until_campaign(net, 1);
    const Term term = net.raft(1).term();
    for (const auto& [voter, reject] : c.rejects) {
      Message response = make_message(MessageType::kVoteResponse, voter, 1, term);
      response.reject = reject;
      net.step(1, response);
    }
    if (c.outcome == kWins) {
      EXPECT_EQ(net.raft(1).role(), Role::kLeader);
      EXPECT_EQ(net.raft(1).leader(), 1u);
    } else if (c.outcome == kWaits) {
      EXPECT_EQ(net.raft(1).role(), Role::kCandidate);
    } else {
      EXPECT_NE(net.raft(1).role(), Role::kLeader);
    }
    EXPECT_EQ(net.raft(1).term(), term);
  }
}

// "Each server will vote for at most one candidate in a given term, on a first-come-first-served
// basis."
TEST(RaftPaperTest, FollowerVotesOncePerTerm) {
  struct Case {
    NodeId voted;
    NodeId candidate;
    bool reject;
  };
  for (const Case& c : std::vector<Case>{{kNoNode, 1, false},
                                         {kNoNode, 2, false},
                                         {1, 1, false},
                                         {2, 2, false},
                                         {1, 2, true},
                                         {2, 1, true}}) {
    SCOPED_TRACE("voted " + std::to_string(c.voted) + ", candidate " + std::to_string(c.candidate));
    DurableState state = state_with_log(3, {}, 2, 1);
    state.hard_state.vote = c.voted;
    Network net = solo(3, state);
    net.step(3, vote_message(c.candidate, 3, 2, 1, 1));
    const std::vector<Message> responses =
        filter(net.take_messages(3), MessageType::kVoteResponse, 3, c.candidate);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].reject, c.reject);
    EXPECT_EQ(responses[0].term, 2u);
    EXPECT_EQ(net.node(3).disk.hard_state.vote, c.reject ? c.voted : c.candidate);
  }

  Network net = solo(3, state_with_log(3, {}, 2, 1));
  net.step(3, vote_message(1, 3, 2, 1, 1));
  net.step(3, vote_message(2, 3, 2, 1, 1));
  const std::vector<Message> out = net.take_messages(3);
  ASSERT_EQ(count(out, MessageType::kVoteResponse), 2u);
  EXPECT_FALSE(filter(out, MessageType::kVoteResponse, 3, 1)[0].reject);
  EXPECT_TRUE(filter(out, MessageType::kVoteResponse, 3, 2)[0].reject);
}

// "While waiting for votes, a candidate may receive an AppendEntries RPC from another server
// claiming to be leader. If the leader's term is at least as large as the candidate's current
// term, then the candidate recognizes the leader as legitimate and returns to follower state."
TEST(RaftPaperTest, CandidateFallsBackOnAppendFromLeader) {
  for (Term extra : {0, 1}) {
    SCOPED_TRACE("leader term = candidate term + " + std::to_string(extra));
    Network net(3, [](Config& c) { c.pre_vote = false; });
    tick_until_campaign(net, 1);
    ASSERT_EQ(net.raft(1).role(), Role::kCandidate);
    const Term term = net.raft(1).term() + extra;
    net.take_messages(1);
    net.step(1, append_message(2, 1, term, 1, 1, {}, 1));
    EXPECT_EQ(net.raft(1).role(), Role::kFollower);
    EXPECT_EQ(net.raft(1).term(), term);
    EXPECT_EQ(net.raft(1).leader(), 2u);
    const std::vector<Message> acks = filter(net.take_messages(1), MessageType::kAppendResponse);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_FALSE(acks[0].reject);
  }
}

// "Raft uses randomized election timeouts to ensure that split votes are rare ... election
// timeouts are chosen randomly from a fixed interval" — here [election_ticks, 2 *
// election_ticks), for followers and for candidates, and the same seed gives the same timeout.
TEST(RaftPaperTest, ElectionTimeoutsAreRandomizedWithinRange) {
  auto first_timeouts = [](std::uint64_t seed) {
    Network net = solo(1, bootstrap(membership_of(3)), [&](Config& c) {
      c.random_seed = seed;
      c.pre_vote = false;
    });
    int follower_ticks = 0;
    while (net.raft(1).role() == Role::kFollower && follower_ticks < 100) {
      net.tick(1);
      ++follower_ticks;
    }
    const Term term = net.raft(1).term();
    int candidate_ticks = 0;
    while (net.raft(1).term() == term && candidate_ticks < 100) {
      net.tick(1);
      ++candidate_ticks;
    }
    return std::pair{follower_ticks, candidate_ticks};
  };
  std::set<int> seen;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    const auto [follower, candidate] = first_timeouts(seed);
    EXPECT_GE(follower, kElectionTicks) << "seed " << seed;
    EXPECT_LT(follower, 2 * kElectionTicks) << "seed " << seed;
    EXPECT_GE(candidate, kElectionTicks) << "seed " << seed;
    EXPECT_LT(candidate, 2 * kElectionTicks) << "seed " << seed;
    EXPECT_EQ(first_timeouts(seed), std::pair(follower, candidate)) << "not deterministic";
    seen.insert(follower);
  }
  EXPECT_GE(seen.size(), 5u) << "timeouts are not randomized";
}

// A voter whose log holds the bootstrap entry then `voter_terms` is asked, at term 3 (its own is
// 2), for a vote by a candidate whose log ends at (log_index, log_term).
struct VoteCase {
  std::vector<Term> voter_terms;
  Index log_index;
  Term log_term;
};

void expect_vote(const VoteCase& c, bool pre_vote, bool reject) {
  SCOPED_TRACE(std::string(pre_vote ? "pre-vote" : "vote") + " for (" +
               std::to_string(c.log_index) + ", " + std::to_string(c.log_term) + "), voter has " +
               std::to_string(c.voter_terms.size() + 1) + " entries");
  Network net = solo(2, state_with_log(3, c.voter_terms, 2, 1));
  net.step(2, vote_message(1, 2, 3, c.log_index, c.log_term, pre_vote));
  const MessageType type = pre_vote ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  const std::vector<Message> responses = filter(net.take_messages(2), type, 2, 1);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].reject, reject);
  EXPECT_EQ(net.raft(2).term(), pre_vote ? 2u : 3u) << "a pre-vote must not change the term";
  if (!pre_vote) {
    EXPECT_EQ(responses[0].term, 3u);
    EXPECT_EQ(net.node(2).disk.hard_state.vote, reject ? kNoNode : 1u);
  }
}

// "The RequestVote RPC implements this restriction: the RPC includes information about the
// candidate's log, and the voter denies its vote if its own log is more up-to-date than that of
// the candidate. ... If the logs have last entries with different terms, then the log with the
// later term is more up-to-date. If the logs end with the same term, then whichever log is longer
// is more up-to-date."
TEST(RaftPaperTest, VoteRejectedWhenCandidateLogIsNotUpToDate) {
  for (bool pre_vote : {false, true}) {
    for (const VoteCase& c : std::vector<VoteCase>{
             {{1}, 1, 1}, {{2}, 1, 1}, {{2}, 2, 1}, {{2}, 3, 1}, {{2, 2}, 2, 2}}) {
      expect_vote(c, pre_vote, true);
    }
  }
}

TEST(RaftPaperTest, VoterGrantsUpToDateCandidate) {
  for (bool pre_vote : {false, true}) {
    for (const VoteCase& c : std::vector<VoteCase>{{{}, 1, 1},
                                                   {{}, 2, 1},
                                                   {{}, 1, 2},
                                                   {{1}, 2, 1},
                                                   {{1}, 3, 1},
                                                   {{1}, 1, 2},
                                                   {{2}, 2, 2},
                                                   {{2}, 3, 2},
                                                   {{2}, 1, 3}}) {
      expect_vote(c, pre_vote, false);
    }
  }
}

}  // namespace
}  // namespace neuroplex::raft::testing
