// Losing nodes of a 3-node neuroplexd cluster: kill -9 of the leader while a client writes (a new
// leader serves writes within 2 s, no acknowledged write is lost, the old leader catches up after
// a restart), and a follower that was down while the leader compacted its log past it (it catches
// up through a snapshot install).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "api/op_json.h"
#include "tests/integration/cluster_harness.h"

namespace neuroplex {
namespace {

using testing::Cluster;
using testing::connect_client;
using testing::Millis;
using testing::NodeId;
using Clock = std::chrono::steady_clock;

// Adds 1 to one counter in a loop on its own thread (with its own Client), recording when each
// acknowledged write started and ended.
class CounterWriter {
 public:
  CounterWriter(std::vector<std::string> endpoints, std::string ns, std::string key)
      : thread_([this, endpoints = std::move(endpoints), ns = std::move(ns), key = std::move(key)] {
          run(endpoints, ns, key);
        }) {}
  ~CounterWriter() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int attempted() const { return attempted_; }
  int acked() const { return acked_; }
  int failed() const { return failed_; }
  std::string first_error() {
    std::lock_guard<std::mutex> lock(mutex_);
    return first_error_;
  }
  // The end of the first acknowledged write that started at or after `since`.
  std::optional<Clock::time_point> first_ack_started_after(Clock::time_point since) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [start, end] : acks_) {
      if (start >= since) return end;
    }
    return std::nullopt;
  }

 private:
  void run(const std::vector<std::string>& endpoints, const std::string& ns,
           const std::string& key) {
    auto client = connect_client(endpoints, Millis(10000), /*follow_leader=*/true);
    if (!client.is_ok()) {
      ++failed_;
      std::lock_guard<std::mutex> lock(mutex_);
      first_error_ = "connect: " + client.status().to_string();
      return;
    }
    while (!stop_) {
      const Clock::time_point start = Clock::now();
      ++attempted_;
      Result<std::uint64_t> added = (*client)->update(ns, key, {api::counter_add(1)});
      std::lock_guard<std::mutex> lock(mutex_);
      if (added.is_ok()) {
        acks_.emplace_back(start, Clock::now());
        ++acked_;
      } else if (failed_++ == 0) {
        first_error_ = added.status().to_string();
      }
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> attempted_{0};
  std::atomic<int> acked_{0};
  std::atomic<int> failed_{0};
  std::mutex mutex_;
  std::vector<std::pair<Clock::time_point, Clock::time_point>> acks_;  // guarded by mutex_
  std::string first_error_;                                            // guarded by mutex_
  std::thread thread_;  // last: starts after the fields above exist
};

bool wait_until(const std::function<bool()>& done, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Millis(10));
  }
  return true;
}

TEST(Cluster, LeaderKillFailover) {
  constexpr int kAcksBeforeKill = 50;
  constexpr int kAcksAfterFailover = 20;
  Cluster cluster;
  ASSERT_TRUE(testing::succeeded(cluster.start_all()));
  Result<NodeId> leader = cluster.wait_for_leader();
  ASSERT_TRUE(leader.is_ok()) << leader.status().to_string();

  CounterWriter writer(cluster.endpoints(), "failover", "counter");
  ASSERT_TRUE(wait_until([&] { return writer.acked() >= kAcksBeforeKill; }, Millis(30000)))
      << "acked " << writer.acked() << "; " << writer.first_error();

  Result<client::StatusResult> before = cluster.status(*leader);
  ASSERT_TRUE(before.is_ok()) << before.status().to_string();
  const Clock::time_point killed_at = Clock::now();
  cluster.kill(*leader);
  // Meanwhile the survivors are polled, to tell the election's share from the client's retries.
  std::optional<Clock::time_point> served;
  std::optional<Clock::time_point> elected;
  ASSERT_TRUE(wait_until(
      [&] {
        for (NodeId id : cluster.running_ids()) {
          if (elected) break;
          Result<client::StatusResult> status = cluster.status(id, Millis(200));
          if (status.is_ok() && status->role == "leader" && status->term > before->term) {
            elected = Clock::now();
          }
        }
        served = writer.first_ack_started_after(killed_at);
        return served.has_value();
      },
      Millis(20000)))
      << "no write succeeded within 20 s of killing leader " << *leader << "; "
      << writer.first_error();
  const auto failover_ms = std::chrono::duration_cast<Millis>(*served - killed_at).count();
  const auto elected_ms =
      elected ? std::chrono::duration_cast<Millis>(*elected - killed_at).count() : -1;
  std::printf(
      "new leader serving writes after %lld ms (leader %llu killed; a survivor was seen leading "
      "after %lld ms)\n",
      static_cast<long long>(failover_ms), static_cast<unsigned long long>(*leader),
      static_cast<long long>(elected_ms));
  EXPECT_LT(failover_ms, 2000);

  const int acked_at_failover = writer.acked();
  ASSERT_TRUE(wait_until([&] { return writer.acked() >= acked_at_failover + kAcksAfterFailover; },
                         Millis(20000)));
  writer.stop();
  EXPECT_EQ(writer.failed(), 0) << writer.first_error();

  // No acknowledged write lost; none applied twice (a retry reuses its RequestId).
  Result<NodeId> new_leader = cluster.wait_for_leader();
  ASSERT_TRUE(new_leader.is_ok()) << new_leader.status().to_string();
  EXPECT_NE(*new_leader, *leader);
  Result<client::GetResult> read =
      cluster.get(*new_leader, "failover", "counter", client::Consistency::kLinearizable);
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  const std::int64_t value = testing::counter_value(*read);
  EXPECT_GE(value, writer.acked());
  EXPECT_LE(value, writer.attempted());
  EXPECT_EQ(value, writer.acked()) << "attempted " << writer.attempted();

  // The old leader comes back on its data directory and catches up.
  ASSERT_TRUE(testing::succeeded(cluster.start(*leader)));
  Result<client::GetResult> local = cluster.wait_for_local(
      *leader, "failover", "counter",
      [&](const client::GetResult& got) { return testing::counter_value(got) == value; },
      Millis(20000));
  ASSERT_TRUE(local.is_ok()) << local.status().to_string();
  EXPECT_EQ(testing::counter_value(*local), value);
  EXPECT_TRUE(testing::succeeded(cluster.wait_for_leader().status()));
}

// A follower is down while the others take several snapshots, each dropping all but
// kRetain entries behind it: when it comes back, the entries after its log are gone from every
// log, so only a snapshot install brings it up to date.
TEST(Cluster, SnapshotCatchUp) {
  constexpr int kWriters = 4;
  constexpr std::uint64_t kSnapshotEvery = 50;
  constexpr std::uint64_t kRetain = 10;
  testing::ClusterOptions options;
  options.extra_flags = {"--snapshot-every", std::to_string(kSnapshotEvery), "--snapshot-retain",
                         std::to_string(kRetain)};
  Cluster cluster(options);
  ASSERT_TRUE(testing::succeeded(cluster.start_all()));
  Result<NodeId> leader = cluster.wait_for_leader();
  ASSERT_TRUE(leader.is_ok()) << leader.status().to_string();
  const NodeId follower = *leader == 1 ? 2 : 1;

  auto up_to_date = [](std::int64_t want) {
    return [want](const client::GetResult& got) { return testing::counter_value(got) == want; };
  };
  {
    auto client = connect_client(cluster.endpoints(), Millis(10000), true);
    ASSERT_TRUE(client.is_ok()) << client.status().to_string();
    ASSERT_TRUE(
        testing::succeeded((*client)->update("snap", "counter", {api::counter_add(1)}).status()));
  }
  ASSERT_TRUE(testing::succeeded(
      cluster.wait_for_local(follower, "snap", "counter", up_to_date(1), Millis(10000)).status()));
  Result<client::StatusResult> before = cluster.status(follower);
  ASSERT_TRUE(before.is_ok()) << before.status().to_string();
  const std::uint64_t follower_last = before->last_log_index;
  cluster.kill(follower);

  // Write until every survivor took a snapshot that leaves nothing after follower_last in its
  // log (the log keeps entries after snapshot - kRetain), and at least three snapshots.
  const std::uint64_t wanted_snapshot = std::max(3 * kSnapshotEvery, follower_last + kRetain + 1);
  std::vector<std::unique_ptr<CounterWriter>> writers;
  for (int i = 0; i < kWriters; ++i) {
    writers.push_back(std::make_unique<CounterWriter>(cluster.endpoints(), "snap", "counter"));
  }
  auto compacted_past_follower = [&] {
    for (NodeId id : cluster.running_ids()) {
      Result<client::StatusResult> status = cluster.status(id);
      if (!status.is_ok() || status->snapshot_index < wanted_snapshot) return false;
    }
    return true;
  };
  const Clock::time_point writing = Clock::now();
  const bool compacted = wait_until(compacted_past_follower, Millis(60000));
  std::int64_t acked = 1;
  for (auto& writer : writers) {
    writer->stop();
    EXPECT_EQ(writer->failed(), 0) << writer->first_error();
    acked += writer->acked();
  }
  Result<client::StatusResult> leader_status = cluster.status(*leader);
  ASSERT_TRUE(leader_status.is_ok()) << leader_status.status().to_string();
  ASSERT_TRUE(compacted) << "no snapshot at " << wanted_snapshot
                         << " within 60 s; the leader's is at " << leader_status->snapshot_index;
  std::printf(
      "%lld writes in %lld ms; the leader's snapshot is at %llu, its log ends at %llu; the "
      "follower's log ended at %llu\n",
      static_cast<long long>(acked),
      static_cast<long long>(std::chrono::duration_cast<Millis>(Clock::now() - writing).count()),
      static_cast<unsigned long long>(leader_status->snapshot_index),
      static_cast<unsigned long long>(leader_status->last_log_index),
      static_cast<unsigned long long>(follower_last));

  // The follower restarts behind every log: it must install a snapshot and serve the final value.
  ASSERT_TRUE(testing::succeeded(cluster.start(follower)));
  Result<client::GetResult> local =
      cluster.wait_for_local(follower, "snap", "counter", up_to_date(acked), Millis(30000));
  ASSERT_TRUE(local.is_ok()) << local.status().to_string();
  EXPECT_EQ(testing::counter_value(*local), acked);
  Result<client::StatusResult> after = cluster.status(follower);
  ASSERT_TRUE(after.is_ok()) << after.status().to_string();
  EXPECT_GE(after->snapshot_index, wanted_snapshot);
  EXPECT_GT(after->first_log_index, follower_last + 1);
  for (NodeId id : cluster.ids()) {
    Result<client::GetResult> read =
        cluster.get(id, "snap", "counter", client::Consistency::kLocal);
    ASSERT_TRUE(read.is_ok()) << read.status().to_string();
    EXPECT_EQ(testing::counter_value(*read), acked) << "node " << id << " at index " << read->index;
  }
  // And it takes part again: a write through it is read back linearizably from it.
  auto client = connect_client({cluster.endpoint(follower)}, Millis(10000), false);
  ASSERT_TRUE(client.is_ok()) << client.status().to_string();
  ASSERT_TRUE(
      testing::succeeded((*client)->update("snap", "counter", {api::counter_add(1)}).status()));
  Result<client::GetResult> read = (*client)->get("snap", "counter");
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  EXPECT_EQ(testing::counter_value(*read), acked + 1);
}

}  // namespace
}  // namespace neuroplex
