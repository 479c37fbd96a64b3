// The Ready contract of raft.h: promises (append acknowledgements, votes) leave only after the
// write they depend on is acknowledged; Ready.entries replaces the log from its first index; the
// persisted index follows what is really on disk; must_sync only when term, vote or entries
// change; and a restart from a DurableState reproduces the node.
#include <gtest/gtest.h>

#include "tests/unit/raft/raft_test_util.h"

namespace neuroplex::raft::testing {
namespace {

std::vector<Index> indexes(const std::vector<Entry>& entries) {
  std::vector<Index> out;
  for (const Entry& e : entries) out.push_back(e.index);
  return out;
}

TEST(RaftPersistenceTest, AppendAcknowledgedOnlyAfterPersisted) {
  Network net = solo(2, state_with_log(3, {}, 2, 1));
  net.node(2).auto_persist = false;
  net.step(2, append_message(1, 2, 2, 1, 1, {numbered_entry(2, 2), numbered_entry(3, 2)}, 1));
  EXPECT_EQ(count(net.take_messages(2), MessageType::kAppendResponse), 0u)
      << "acknowledged entries that are not durable";
  ASSERT_EQ(net.node(2).unpersisted.size(), 1u);
  const Ready& ready = net.node(2).unpersisted.front();
  EXPECT_EQ(ready.entries, (std::vector<Entry>{numbered_entry(2, 2), numbered_entry(3, 2)}));
  EXPECT_TRUE(ready.must_sync);
  EXPECT_NE(ready.persist_id, 0u);
  EXPECT_EQ(net.raft(2).status().persisted_index, 1u);

  net.persist_all(2);
  EXPECT_EQ(net.raft(2).status().persisted_index, 3u);
  const std::vector<Message> acks = filter(net.take_messages(2), MessageType::kAppendResponse);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_FALSE(acks[0].reject);
  EXPECT_EQ(acks[0].log_index, 3u);
  EXPECT_FALSE(net.raft(2).has_ready());
  EXPECT_TRUE(net.raft(2).ready().empty());
}

TEST(RaftPersistenceTest, VoteGrantedOnlyAfterPersisted) {
  Network net = solo(2, state_with_log(3, {}, 2, 1));
  net.node(2).auto_persist = false;
  net.step(2, vote_message(1, 2, 3, 1, 1));
  EXPECT_EQ(count(net.take_messages(2), MessageType::kVoteResponse), 0u)
      << "granted a vote that is not durable";
  ASSERT_EQ(net.node(2).unpersisted.size(), 1u);
  const Ready& ready = net.node(2).unpersisted.front();
  ASSERT_TRUE(ready.hard_state.has_value());
  EXPECT_EQ(*ready.hard_state, (HardState{3, 1, 1}));
  EXPECT_TRUE(ready.must_sync);

  net.persist_all(2);
  const std::vector<Message> votes = filter(net.take_messages(2), MessageType::kVoteResponse);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_FALSE(votes[0].reject);
  EXPECT_EQ(votes[0].term, 3u);
  EXPECT_EQ(net.node(2).disk.hard_state, (HardState{3, 1, 1}));
}

// Entries handed out but not yet acknowledged are replaced by a new leader's: the second Ready
// starts at the conflict, and the persisted index never counts the replaced entry.
TEST(RaftPersistenceTest, UnpersistedConflictingEntriesAreReplaced) {
  Network net = solo(2, state_with_log(3, {}, 2, 1));
  net.node(2).auto_persist = false;
  net.step(2, append_message(1, 2, 2, 1, 1, {numbered_entry(2, 2), numbered_entry(3, 2)}, 1));
  net.step(2, append_message(3, 2, 3, 2, 2, {numbered_entry(3, 3)}, 1));
  ASSERT_EQ(net.node(2).unpersisted.size(), 2u);
  EXPECT_EQ(net.node(2).unpersisted[1].entries, std::vector<Entry>{numbered_entry(3, 3)});
  EXPECT_TRUE(net.node(2).unpersisted[1].must_sync);
  ASSERT_TRUE(net.node(2).unpersisted[1].hard_state.has_value());
  EXPECT_EQ(net.node(2).unpersisted[1].hard_state->term, 3u);
  net.take_messages(2);

  net.persist_next(2);  // disk: 1, 2:t2, 3:t2 — the log's 3 is 3:t3
  EXPECT_EQ(net.raft(2).status().persisted_index, 2u);
  for (const Message& m : filter(net.take_messages(2), MessageType::kAppendResponse)) {
    EXPECT_FALSE(m.to == 3 && !m.reject) << "acknowledged 3:t3 before it was durable";
  }

  net.persist_next(2);
  EXPECT_EQ(net.raft(2).status().persisted_index, 3u);
  const std::vector<Message> acks =
      filter(net.take_messages(2), MessageType::kAppendResponse, 2, 3);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_FALSE(acks[0].reject);
  EXPECT_EQ(acks[0].log_index, 3u);
  EXPECT_EQ(net.node(2).disk.entries, log_entries(net.raft(2).log()));
}

TEST(RaftPersistenceTest, CommitOnlyChangeNeedsNoSync) {
  Network net = solo(2, state_with_log(3, {}, 2, 1));
  net.step(2, append_message(1, 2, 2, 1, 1, {numbered_entry(2, 2), numbered_entry(3, 2)}, 1));
  ASSERT_TRUE(net.node(2).applied.empty());
  const std::size_t from = net.node(2).readies.size();
  Message heartbeat = make_message(MessageType::kHeartbeat, 1, 2, 2);
  heartbeat.commit = 3;
  net.step(2, heartbeat);
  ASSERT_GT(net.node(2).readies.size(), from);
  for (std::size_t i = from; i < net.node(2).readies.size(); ++i) {
    const Ready& ready = net.node(2).readies[i];
    EXPECT_FALSE(ready.must_sync) << "a commit-only change was synced";
    EXPECT_TRUE(ready.entries.empty());
    EXPECT_FALSE(ready.snapshot.has_value());
    if (ready.hard_state) {
      EXPECT_EQ(*ready.hard_state, (HardState{2, kNoNode, 3}));
    }
  }
  EXPECT_EQ(indexes(net.node(2).applied), (std::vector<Index>{2, 3}));
  EXPECT_EQ(net.raft(2).log().commit(), 3u);
}

TEST(RaftPersistenceTest, TermChangeNeedsSync) {
  Network net = solo(2, state_with_log(3, {}, 2, 1));
  const std::size_t from = net.node(2).readies.size();
  net.step(2, make_message(MessageType::kHeartbeat, 1, 2, 5));
  ASSERT_GT(net.node(2).readies.size(), from);
  const Ready& ready = net.node(2).readies[from];
  ASSERT_TRUE(ready.hard_state.has_value());
  EXPECT_EQ(ready.hard_state->term, 5u);
  EXPECT_EQ(ready.hard_state->vote, kNoNode);
  EXPECT_TRUE(ready.must_sync);
}

TEST(RaftRestartTest, RestartReproducesLogTermVoteAndReappliesCommitted) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  for (const char* data : {"a", "b", "c"}) ASSERT_TRUE(net.propose(1, data).is_ok());
  net.deliver();
  net.tick(1);
  net.deliver();
  const Term term = net.raft(2).term();
  const std::vector<Entry> entries = log_entries(net.raft(2).log());
  const Index commit = net.raft(2).log().commit();
  ASSERT_EQ(commit, 5u);
  ASSERT_EQ(net.node(2).disk.hard_state, (HardState{term, 1, commit}));

  net.restart(2, /*applied=*/2);
  EXPECT_EQ(net.raft(2).term(), term);
  EXPECT_EQ(net.raft(2).role(), Role::kFollower);
  EXPECT_EQ(log_entries(net.raft(2).log()), entries);
  EXPECT_EQ(net.raft(2).log().commit(), commit);
  EXPECT_EQ(net.raft(2).status().persisted_index, commit);
  EXPECT_EQ(net.raft(2).log().membership(), membership_of(3));
  const std::vector<Entry>& applied = net.node(2).applied;
  ASSERT_GE(applied.size(), 3u);
  const std::vector<Entry> reapplied(applied.end() - 3, applied.end());
  EXPECT_EQ(indexes(reapplied), (std::vector<Index>{3, 4, 5}));
  EXPECT_EQ(reapplied[0].data, "a");
  EXPECT_EQ(reapplied[2].data, "c");
  EXPECT_EQ(net.raft(2).log().applied(), commit);

  // The vote for node 1 in this term survived: another candidate of the same term is refused.
  net.take_messages(2);
  net.step(2, vote_message(3, 2, term, 5, term));
  net.step(2, vote_message(1, 2, term, 5, term));
  const std::vector<Message> out = net.take_messages(2);
  const std::vector<Message> to_3 = filter(out, MessageType::kVoteResponse, 2, 3);
  const std::vector<Message> to_1 = filter(out, MessageType::kVoteResponse, 2, 1);
  ASSERT_EQ(to_3.size(), 1u);
  ASSERT_EQ(to_1.size(), 1u);
  EXPECT_TRUE(to_3[0].reject);
  EXPECT_FALSE(to_1[0].reject);
}

TEST(RaftRestartTest, UnacknowledgedWritesAreLostAndNotPromised) {
  Network net = solo(2, state_with_log(3, {}, 2, 1));
  net.node(2).auto_persist = false;
  net.step(2, vote_message(1, 2, 3, 1, 1));
  net.step(2, append_message(1, 2, 3, 1, 1, {numbered_entry(2, 3)}, 1));
  EXPECT_EQ(net.take_messages(2).size(), 0u) << "promised before anything was durable";
  net.restart(2);
  EXPECT_EQ(net.raft(2).term(), 2u);
  EXPECT_EQ(net.raft(2).log().last_index(), 1u);
  net.node(2).auto_persist = true;
  net.step(2, vote_message(3, 2, 3, 1, 1));
  const std::vector<Message> votes = filter(net.take_messages(2), MessageType::kVoteResponse);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_FALSE(votes[0].reject) << "the lost vote for 1 was never promised, so 3 may have it";
}

}  // namespace
}  // namespace neuroplex::raft::testing
