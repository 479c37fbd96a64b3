// Snapshots: compaction on the host's word, a lagging follower getting a kSnapshot, installation
// through Ready.snapshot and persistence, failure reports, heartbeats while a transfer runs, and
// restarting from a snapshot.
#include <gtest/gtest.h>

#include "tests/unit/raft/raft_test_util.h"

namespace neuroplex::raft::testing {
namespace {

bool is_snapshot(const Message& m) { return m.type == MessageType::kSnapshot; }

// Node 3 is cut off while the leader (node 1) commits five entries and compacts its whole log;
// the network is healed on return. Returns the snapshot index.
Index lag_behind_snapshot(Network& net) {
  EXPECT_TRUE(net.elect(1));
  net.isolate(3);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(net.propose(1, "v" + std::to_string(i)).is_ok());
  net.deliver();
  net.tick(1);
  net.deliver();
  const Index snapshot = net.raft(1).log().commit();
  EXPECT_EQ(snapshot, net.raft(1).log().last_index());
  EXPECT_EQ(net.node(1).applied_index, snapshot);
  net.take_snapshot(1, snapshot, 0);
  EXPECT_EQ(net.raft(1).log().first_index(), snapshot + 1);
  net.heal();
  return snapshot;
}

// Ticks the leader (delivering) until it has sent a kSnapshot to node 3, at most 10 times.
void tick_until_snapshot_sent(Network& net) {
  for (int i = 0; i < 10 && count(net.sent, MessageType::kSnapshot, 1, 3) == 0; ++i) {
    net.tick(1);
    net.deliver();
  }
}

TEST(RaftSnapshotTest, OnSnapshotCompactsTheLog) {
  Network net(3);
  ASSERT_TRUE(net.elect(1));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net.propose(1, "v").is_ok());
  net.deliver();
  const Index last = net.raft(1).log().last_index();
  ASSERT_EQ(net.node(1).applied_index, last);
  const Term term = *net.raft(1).log().term(last - 2);
  net.take_snapshot(1, last - 2, 2);
  EXPECT_EQ(net.raft(1).snapshot(), (SnapshotMeta{last - 2, term, membership_of(3)}));
  EXPECT_EQ(net.raft(1).log().first_index(), last - 3) << "keeps retain_entries before the index";
  EXPECT_EQ(net.raft(1).log().last_index(), last);
  EXPECT_EQ(net.raft(1).log().commit(), last);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
}

TEST(RaftSnapshotTest, LaggingFollowerGetsSnapshotAndCatchesUp) {
  Network net(3);
  const Index snapshot = lag_behind_snapshot(net);
  const SnapshotMeta meta = net.raft(1).snapshot();
  ASSERT_EQ(meta.index, snapshot);
  tick_until_snapshot_sent(net);
  const std::vector<Message> sent = filter(net.sent, MessageType::kSnapshot, 1, 3);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].snapshot, meta);
  EXPECT_EQ(count(net.sent, MessageType::kSnapshot, 1, 2), 0u);

  ASSERT_EQ(net.node(3).installed.size(), 1u);
  EXPECT_EQ(net.node(3).installed[0], meta);
  EXPECT_EQ(net.raft(3).snapshot(), meta);
  EXPECT_EQ(net.node(3).disk.snapshot, meta);
  EXPECT_EQ(net.raft(3).log().prev_index(), snapshot);
  EXPECT_GE(net.raft(3).log().commit(), snapshot);

  Result<Index> index = net.propose(1, "after");
  ASSERT_TRUE(index.is_ok());
  net.deliver();
  net.tick(1);
  net.deliver();
  EXPECT_EQ(net.raft(3).log().last_index(), *index);
  EXPECT_EQ(net.raft(3).log().at(*index).data, "after");
  EXPECT_EQ(net.raft(3).log().commit(), *index);
  EXPECT_EQ(net.node(3).applied_index, *index);
  EXPECT_EQ(net.node(3).applied.back().data, "after");

  // A restart from the installed snapshot reproduces it.
  net.restart(3);
  EXPECT_EQ(net.raft(3).snapshot(), meta);
  EXPECT_EQ(net.raft(3).log().prev_index(), snapshot);
  EXPECT_EQ(net.raft(3).log().last_index(), *index);
}

TEST(RaftSnapshotTest, InstalledSnapshotIsAcknowledgedOnlyOncePersisted) {
  Network net(3);
  const Index snapshot = lag_behind_snapshot(net);
  net.set_drop(is_snapshot);
  tick_until_snapshot_sent(net);
  const std::vector<Message> sent = filter(net.sent, MessageType::kSnapshot, 1, 3);
  ASSERT_EQ(sent.size(), 1u);
  net.set_drop(nullptr);
  net.take_messages(3);

  net.node(3).auto_persist = false;
  net.step(3, sent[0]);
  ASSERT_FALSE(net.node(3).unpersisted.empty());
  ASSERT_TRUE(net.node(3).unpersisted.back().snapshot.has_value());
  EXPECT_EQ(*net.node(3).unpersisted.back().snapshot, sent[0].snapshot);
  EXPECT_EQ(count(net.take_messages(3), MessageType::kAppendResponse), 0u)
      << "acknowledged a snapshot that is not durable";

  net.persist_all(3);
  const std::vector<Message> acks = filter(net.take_messages(3), MessageType::kAppendResponse);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_FALSE(acks[0].reject);
  EXPECT_EQ(acks[0].log_index, snapshot);
  net.step(1, acks[0]);

  net.node(3).auto_persist = true;
  Result<Index> index = net.propose(1, "after");
  ASSERT_TRUE(index.is_ok());
  net.deliver();
  EXPECT_EQ(net.raft(3).log().last_index(), *index) << "replication continues after the snapshot";
  EXPECT_EQ(net.raft(1).status().match[3], *index);
}

TEST(RaftSnapshotTest, FailedSnapshotIsRetriedAndHeartbeatsKeepFlowing) {
  Network net(3);
  lag_behind_snapshot(net);
  const Term term = net.raft(1).term();
  net.set_drop(is_snapshot);
  tick_until_snapshot_sent(net);
  ASSERT_EQ(count(net.sent, MessageType::kSnapshot, 1, 3), 1u);

  // While the transfer runs: no second snapshot, no appends, but heartbeats, so no election.
  const std::size_t heartbeats = count(net.delivered, MessageType::kHeartbeat, 1, 3);
  const std::size_t appends = count(net.sent, MessageType::kAppend, 1, 3);
  for (int i = 0; i < 2 * kElectionTicks; ++i) net.tick_all();
  EXPECT_EQ(count(net.sent, MessageType::kSnapshot, 1, 3), 1u);
  EXPECT_EQ(count(net.sent, MessageType::kAppend, 1, 3), appends);
  EXPECT_GE(count(net.delivered, MessageType::kHeartbeat, 1, 3), heartbeats + 2 * kElectionTicks);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(3).leader(), 1u);
  EXPECT_EQ(net.raft(3).term(), term);

  // The host reports the stream failed: the leader probes again and sends a new snapshot.
  net.raft(1).report_snapshot(3, false);
  net.check_invariants();
  for (int i = 0; i < 3; ++i) net.tick_all();
  EXPECT_EQ(count(net.sent, MessageType::kSnapshot, 1, 3), 2u);

  net.set_drop(nullptr);
  net.raft(1).report_snapshot(3, false);
  for (int i = 0; i < 5; ++i) net.tick_all();
  EXPECT_EQ(net.raft(3).log().last_index(), net.raft(1).log().last_index());
  EXPECT_EQ(net.raft(3).snapshot(), net.raft(1).snapshot());
}

}  // namespace
}  // namespace neuroplex::raft::testing
