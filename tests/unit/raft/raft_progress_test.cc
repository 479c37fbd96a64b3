// The leader's bookkeeping on its own: Inflights (count and byte limits), Progress state
// transitions (probe / replicate / snapshot) and the ReadIndexQueue (rounds, batching, deferred
// reads, the lease start).
#include <gtest/gtest.h>

#include "raft/progress.h"
#include "raft/read_index.h"

namespace neuroplex::raft {
namespace {

// ---- Inflights ----

TEST(InflightsTest, FullAtMessageCount) {
  Inflights inflights(3, 1 << 20);
  EXPECT_FALSE(inflights.full());
  inflights.add(1, 10);
  inflights.add(2, 10);
  EXPECT_FALSE(inflights.full());
  inflights.add(3, 10);
  EXPECT_TRUE(inflights.full());
  EXPECT_EQ(inflights.count(), 3u);
  inflights.free_up_to(1);
  EXPECT_EQ(inflights.count(), 2u);
  EXPECT_FALSE(inflights.full());
  inflights.free_up_to(3);
  EXPECT_EQ(inflights.count(), 0u);
}

TEST(InflightsTest, FullAtByteLimit) {
  Inflights inflights(100, 250);
  inflights.add(1, 124);
  EXPECT_FALSE(inflights.full());
  inflights.add(2, 124);  // 248 bytes
  EXPECT_FALSE(inflights.full());
  inflights.add(3, 124);  // 372 bytes
  EXPECT_TRUE(inflights.full());
  inflights.free_up_to(1);  // 248 bytes again
  EXPECT_FALSE(inflights.full());
  EXPECT_EQ(inflights.count(), 2u);
}

TEST(InflightsTest, FreeUpToFreesOnlyThePrefix) {
  Inflights inflights(10, 1 << 20);
  inflights.add(5, 1);
  inflights.add(7, 1);
  inflights.add(9, 1);
  inflights.free_up_to(6);
  EXPECT_EQ(inflights.count(), 2u);
  inflights.free_up_to(4);
  EXPECT_EQ(inflights.count(), 2u) << "a stale acknowledgement frees nothing";
  inflights.free_up_to(100);
  EXPECT_EQ(inflights.count(), 0u);
  inflights.add(10, 1);
  inflights.clear();
  EXPECT_EQ(inflights.count(), 0u);
  EXPECT_FALSE(inflights.full());
}

// ---- Progress ----

TEST(ProgressTest, StartsInProbe) {
  Progress progress(5, 10, 1 << 20);
  EXPECT_EQ(progress.state, ProgressState::kProbe);
  EXPECT_EQ(progress.match, 0u);
  EXPECT_EQ(progress.next, 5u);
  EXPECT_FALSE(progress.paused());
}

TEST(ProgressTest, ProbeSendsOneAppendAtATime) {
  Progress progress(8, 10, 1 << 20);
  progress.sent(9, 100);
  EXPECT_TRUE(progress.paused()) << "probe: one append in flight";
  EXPECT_TRUE(progress.maybe_update(9));
  EXPECT_EQ(progress.match, 9u);
  EXPECT_GE(progress.next, 10u);
  EXPECT_FALSE(progress.maybe_update(9)) << "stale acknowledgement";
  EXPECT_FALSE(progress.maybe_update(4));
  EXPECT_EQ(progress.match, 9u);
}

TEST(ProgressTest, ProbeRejectionMovesNextToHint) {
  Progress progress(10, 10, 1 << 20);
  progress.probe_sent = true;
  ASSERT_TRUE(progress.paused());
  EXPECT_TRUE(progress.maybe_decrease_to(9, 5));
  EXPECT_EQ(progress.next, 6u) << "retry from hint + 1";
  EXPECT_FALSE(progress.paused()) << "a rejection answers the probe";
  EXPECT_FALSE(progress.maybe_decrease_to(8, 3)) << "rejects a probe of 8 while next is 6: stale";
  EXPECT_EQ(progress.next, 6u);
}

TEST(ProgressTest, ReplicatePipelinesUntilInflightsFull) {
  Progress progress(1, 2, 1 << 20);
  ASSERT_TRUE(progress.maybe_update(4));
  progress.become_replicate();
  EXPECT_EQ(progress.state, ProgressState::kReplicate);
  EXPECT_EQ(progress.next, 5u);
  progress.sent(5, 10);
  EXPECT_FALSE(progress.paused());
  EXPECT_EQ(progress.next, 6u) << "replicate: next moves optimistically";
  progress.sent(6, 10);
  EXPECT_EQ(progress.next, 7u);
  EXPECT_TRUE(progress.paused()) << "two appends in flight, limit two";
  EXPECT_TRUE(progress.maybe_update(5));
  progress.inflights.free_up_to(5);
  EXPECT_FALSE(progress.paused());
  EXPECT_EQ(progress.match, 5u);
  EXPECT_EQ(progress.next, 7u);
}

TEST(ProgressTest, ReplicateRejectionFallsBackToMatch) {
  Progress progress(1, 10, 1 << 20);
  ASSERT_TRUE(progress.maybe_update(5));
  progress.become_replicate();
  progress.sent(8, 10);
  ASSERT_EQ(progress.next, 9u);
  EXPECT_FALSE(progress.maybe_decrease_to(4, 2)) << "rejected index <= match: stale";
  EXPECT_EQ(progress.next, 9u);
  EXPECT_TRUE(progress.maybe_decrease_to(8, 3));
  EXPECT_EQ(progress.next, 6u) << "never below match + 1";
  EXPECT_LT(progress.match, progress.next);
}

TEST(ProgressTest, BecomeProbeFromReplicateRestartsAfterMatch) {
  Progress progress(1, 10, 1 << 20);
  ASSERT_TRUE(progress.maybe_update(5));
  progress.become_replicate();
  progress.sent(7, 10);
  progress.sent(9, 10);
  progress.become_probe();
  EXPECT_EQ(progress.state, ProgressState::kProbe);
  EXPECT_EQ(progress.next, 6u);
  EXPECT_EQ(progress.inflights.count(), 0u);
  EXPECT_FALSE(progress.paused());
}

TEST(ProgressTest, SnapshotStatePausesUntilDone) {
  Progress progress(1, 10, 1 << 20);
  ASSERT_TRUE(progress.maybe_update(5));
  progress.become_snapshot(20);
  EXPECT_EQ(progress.state, ProgressState::kSnapshot);
  EXPECT_EQ(progress.pending_snapshot, 20u);
  EXPECT_TRUE(progress.paused());
  progress.become_probe();
  EXPECT_EQ(progress.state, ProgressState::kProbe);
  EXPECT_GT(progress.next, progress.match);
  EXPECT_LE(progress.next, 21u);
}

TEST(ProgressTest, StateNamesAreDistinct) {
  const std::string_view probe = progress_state_name(ProgressState::kProbe);
  const std::string_view replicate = progress_state_name(ProgressState::kReplicate);
  const std::string_view snapshot = progress_state_name(ProgressState::kSnapshot);
  EXPECT_FALSE(probe.empty());
  EXPECT_NE(probe, replicate);
  EXPECT_NE(replicate, snapshot);
  EXPECT_NE(probe, snapshot);
}

// ---- ReadIndexQueue ----

std::vector<std::uint64_t> ids_of(const std::vector<ReadIndexQueue::Request>& requests) {
  std::vector<std::uint64_t> ids;
  for (const auto& r : requests) ids.push_back(r.request_id);
  return ids;
}

TEST(ReadIndexQueueTest, ReadsBeforeARoundShareIt) {
  ReadIndexQueue queue;
  EXPECT_FALSE(queue.round_needed());
  queue.add(1, 1, 5);
  queue.add(2, 2, 5);
  EXPECT_TRUE(queue.round_needed());
  EXPECT_EQ(queue.pending(), 2u);
  const std::uint64_t seq = queue.start_round(10);
  EXPECT_EQ(queue.last_seq(), seq);
  EXPECT_FALSE(queue.round_needed());
  EXPECT_EQ(queue.lease_start(), std::nullopt);
  const std::vector<ReadIndexQueue::Request> confirmed = queue.confirm(seq);
  ASSERT_EQ(confirmed.size(), 2u);
  EXPECT_EQ(ids_of(confirmed), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(confirmed[0].index, 5u);
  EXPECT_EQ(confirmed[1].requester, 2u);
  EXPECT_EQ(queue.pending(), 0u);
  EXPECT_EQ(queue.lease_start(), std::optional<std::uint64_t>(10));
}

TEST(ReadIndexQueueTest, ReadAfterARoundStartedWaitsForTheNext) {
  ReadIndexQueue queue;
  queue.add(1, 1, 5);
  const std::uint64_t first = queue.start_round(10);
  queue.add(2, 1, 6);
  EXPECT_TRUE(queue.round_needed());
  EXPECT_EQ(ids_of(queue.confirm(first)), std::vector<std::uint64_t>{1});
  EXPECT_EQ(queue.pending(), 1u);
  const std::uint64_t second = queue.start_round(12);
  EXPECT_GT(second, first);
  EXPECT_TRUE(queue.confirm(first).empty()) << "an old round confirms nothing new";
  EXPECT_EQ(ids_of(queue.confirm(second)), std::vector<std::uint64_t>{2});
  EXPECT_EQ(queue.lease_start(), std::optional<std::uint64_t>(12));
  queue.confirm(first);
  EXPECT_EQ(queue.lease_start(), std::optional<std::uint64_t>(12)) << "the lease went backwards";
}

TEST(ReadIndexQueueTest, DeferredReadWaitsForAnIndex) {
  ReadIndexQueue queue;
  queue.add(7, 1, 0);
  const std::uint64_t first = queue.start_round(3);
  EXPECT_TRUE(queue.confirm(first).empty()) << "a read without an index cannot be served";
  EXPECT_EQ(queue.pending(), 1u);
  queue.assign_index(9);
  const std::uint64_t second = queue.start_round(4);
  const std::vector<ReadIndexQueue::Request> confirmed = queue.confirm(second);
  ASSERT_EQ(confirmed.size(), 1u);
  EXPECT_EQ(confirmed[0].request_id, 7u);
  EXPECT_EQ(confirmed[0].index, 9u);
}

TEST(ReadIndexQueueTest, ResetReturnsPendingReadsAndForgetsTheLease) {
  ReadIndexQueue queue;
  queue.add(1, 1, 5);
  queue.confirm(queue.start_round(1));
  queue.add(2, 3, 5);
  queue.add(3, 1, 0);
  ASSERT_TRUE(queue.lease_start().has_value());
  const std::vector<ReadIndexQueue::Request> failed = queue.reset();
  EXPECT_EQ(ids_of(failed), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(queue.pending(), 0u);
  EXPECT_EQ(queue.lease_start(), std::nullopt);
  EXPECT_FALSE(queue.round_needed());
}

}  // namespace
}  // namespace neuroplex::raft
