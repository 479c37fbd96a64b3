// Watches over real Cap'n Proto: a watch resumed from an index gets every document changed since
// then with its current value, then keeps receiving live changes; another namespace or prefix
// sends nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "api/op_json.h"
#include "tests/integration/cluster_harness.h"

namespace neuroplex {
namespace {

using testing::Cluster;
using testing::connect_client;
using testing::Millis;
using testing::NodeId;

TEST(Cluster, WatchResumesFromAnIndexThenFollowsLiveChanges) {
  Cluster cluster;
  ASSERT_TRUE(testing::succeeded(cluster.start_all()));
  ASSERT_TRUE(cluster.wait_for_leader().is_ok());
  const std::vector<NodeId> ids = cluster.ids();
  auto writer = connect_client({cluster.endpoint(ids[0])}, Millis(10000), /*follow_leader=*/true);
  ASSERT_TRUE(writer.is_ok()) << writer.status().to_string();

  Result<std::uint64_t> first = (*writer)->update("watched", "a/counter", {api::counter_add(2)});
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  Result<crdt::Mutation> tag = api::set_add(nlohmann::json::array({"x"}));
  ASSERT_TRUE(tag.is_ok());
  ASSERT_TRUE((*writer)->update("watched", "a/tags", {*tag}).is_ok());
  ASSERT_TRUE((*writer)->update("watched", "b/other", {api::counter_add(1)}).is_ok());  // prefix
  ASSERT_TRUE((*writer)->update("elsewhere", "a/counter", {api::counter_add(1)}).is_ok());

  // The watch runs on a follower, on its own thread with its own Client.
  std::mutex mutex;
  std::vector<client::WatchEvent> events;
  std::atomic<std::size_t> received{0};
  Status watch_status;
  std::thread watcher([&] {
    auto client = connect_client({cluster.endpoint(ids[1])}, Millis(10000), true);
    if (!client.is_ok()) {
      watch_status = client.status();
      return;
    }
    watch_status = (*client)->watch(
        "watched", "a/", *first,
        [&](const client::WatchEvent& event) {
          std::lock_guard lock(mutex);
          events.push_back(event);
          return ++received < 3;
        },
        Millis(20000));
  });
  // Once the two replayed events are in, a live change must follow.
  for (int i = 0; i < 2000 && received < 2; ++i) std::this_thread::sleep_for(Millis(10));
  Result<std::uint64_t> live = (*writer)->update("watched", "a/counter", {api::counter_add(5)});
  ASSERT_TRUE(live.is_ok()) << live.status().to_string();
  watcher.join();
  ASSERT_TRUE(watch_status.is_ok()) << watch_status.to_string();

  std::lock_guard lock(mutex);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].key, "a/counter");
  EXPECT_EQ(events[0].index, *first);
  EXPECT_EQ(events[0].value, 2);
  EXPECT_EQ(events[1].key, "a/tags");
  EXPECT_EQ(events[1].value, nlohmann::json::array({"x"}));
  EXPECT_EQ(events[2].key, "a/counter");
  EXPECT_EQ(events[2].index, *live);
  EXPECT_EQ(events[2].value, 7);
  for (const client::WatchEvent& event : events) {
    EXPECT_EQ(event.ns, "watched");
    EXPECT_TRUE(event.exists);
    EXPECT_FALSE(event.resync);
  }
}

}  // namespace
}  // namespace neuroplex
