// Writes to a 3-node neuroplexd cluster on loopback: every node accepts writes (followers
// forward them to the leader) and serves linearizable reads that see them; 32 concurrent clients
// spread over the nodes lose and duplicate nothing; bad requests get stable codes and change
// nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "api/op_json.h"
#include "tests/integration/cluster_harness.h"

namespace neuroplex {
namespace {

using testing::Cluster;
using testing::connect_client;
using testing::Millis;
using testing::NodeId;

std::vector<nlohmann::json> sorted_members(const nlohmann::json& view) {
  std::vector<nlohmann::json> members;
  if (view.is_array()) members.assign(view.begin(), view.end());
  std::sort(members.begin(), members.end());
  return members;
}

TEST(Cluster, ThreeNodeWritesThroughAnyNode) {
  Cluster cluster;
  ASSERT_TRUE(testing::succeeded(cluster.start_all()));
  Result<NodeId> leader = cluster.wait_for_leader();
  ASSERT_TRUE(leader.is_ok()) << leader.status().to_string();

  // One counter add and one set add through each node, the followers included.
  std::int64_t expected = 0;
  std::vector<nlohmann::json> expected_members;
  for (NodeId id : cluster.ids()) {
    const std::string role = id == *leader ? "leader" : "follower";
    auto client = connect_client({cluster.endpoint(id)}, Millis(10000), /*follow_leader=*/false);
    ASSERT_TRUE(client.is_ok()) << client.status().to_string();
    Result<std::uint64_t> added =
        (*client)->update("any-node", "counter", {api::counter_add(static_cast<std::int64_t>(id))});
    ASSERT_TRUE(added.is_ok()) << "counter add through " << role << " " << id << ": "
                               << added.status().to_string();
    expected += static_cast<std::int64_t>(id);
    const std::string member = "via-" + std::to_string(id);
    Result<crdt::Mutation> set_add = api::set_add(nlohmann::json::array({member}));
    ASSERT_TRUE(set_add.is_ok()) << set_add.status().to_string();
    added = (*client)->update("any-node", "set", {*set_add});
    ASSERT_TRUE(added.is_ok()) << "set add through " << role << " " << id << ": "
                               << added.status().to_string();
    expected_members.push_back(member);
  }
  std::sort(expected_members.begin(), expected_members.end());

  // A linearizable read from every node sees every acknowledged write.
  for (NodeId id : cluster.ids()) {
    auto client = connect_client({cluster.endpoint(id)}, Millis(10000), /*follow_leader=*/false);
    ASSERT_TRUE(client.is_ok()) << client.status().to_string();
    Result<client::GetResult> counter = (*client)->get("any-node", "counter");
    ASSERT_TRUE(counter.is_ok()) << "get from node " << id << ": " << counter.status().to_string();
    EXPECT_EQ(testing::counter_value(*counter), expected)
        << "node " << id << " read " << counter->value.dump();
    Result<client::GetResult> set = (*client)->get("any-node", "set");
    ASSERT_TRUE(set.is_ok()) << "get from node " << id << ": " << set.status().to_string();
    EXPECT_EQ(sorted_members(set->value), expected_members)
        << "node " << id << " read " << set->value.dump();
  }
}

// Bad requests over real Cap'n Proto get their stable error code, change nothing, and leave the
// node serving: an oversize value, a bad namespace, a wrong-typed mutation, a bad mutation shape.
TEST(Cluster, BadRequestsGetStableCodesAndChangeNothing) {
  Cluster cluster(testing::ClusterOptions{.nodes = 1});
  ASSERT_TRUE(testing::succeeded(cluster.start_all()));
  ASSERT_TRUE(cluster.wait_for_leader().is_ok());
  auto client = connect_client({cluster.endpoint(cluster.ids().front())}, Millis(10000),
                               /*follow_leader=*/true);
  ASSERT_TRUE(client.is_ok()) << client.status().to_string();
  ASSERT_TRUE((*client)->update("bad-input", "c", {api::counter_add(5)}).is_ok());

  Result<crdt::Mutation> huge = api::register_set(std::string(std::size_t{2} << 20, 'v'));
  ASSERT_TRUE(huge.is_ok());
  Result<std::uint64_t> refused = (*client)->update("bad-input", "big", {*huge});
  EXPECT_EQ(refused.status().code(), ErrorCode::kTooLarge) << refused.status().to_string();

  refused = (*client)->update("bad ns!", "c", {api::counter_add(1)});
  EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument) << refused.status().to_string();

  Result<crdt::Mutation> set_add = api::set_add(nlohmann::json::array({"x"}));
  ASSERT_TRUE(set_add.is_ok());
  refused = (*client)->update("bad-input", "c", {*set_add});  // "c" holds a counter
  EXPECT_EQ(refused.status().code(), ErrorCode::kTypeMismatch) << refused.status().to_string();

  crdt::Mutation misshapen = api::counter_add(1);
  misshapen.path = {std::string(300, 'p')};  // a field name over the 256-byte limit
  refused = (*client)->update("bad-input", "c", {misshapen});
  EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument) << refused.status().to_string();

  Result<client::GetResult> counter = (*client)->get("bad-input", "c");
  ASSERT_TRUE(counter.is_ok()) << counter.status().to_string();
  EXPECT_EQ(testing::counter_value(*counter), 5) << counter->value.dump();
  Result<client::GetResult> big = (*client)->get("bad-input", "big");
  ASSERT_TRUE(big.is_ok()) << big.status().to_string();
  EXPECT_FALSE(big->exists);
  EXPECT_TRUE((*client)->update("bad-input", "c", {api::counter_add(1)}).is_ok());
}

// 32 agents, each with its own Client on its own thread, half pinned to one node (followers
// forward), half following the leader; each adds 1 to one shared counter and its own members to
// one shared set, K times each.
TEST(Cluster, ConcurrentAgents) {
  constexpr int kAgents = 32;
  constexpr int kWritesEach = 20;
  Cluster cluster;
  ASSERT_TRUE(testing::succeeded(cluster.start_all()));
  ASSERT_TRUE(testing::succeeded(cluster.wait_for_leader().status()));
  const std::vector<NodeId> ids = cluster.ids();

  std::mutex mutex;
  std::vector<std::string> errors;
  std::atomic<int> counter_acks{0};
  std::atomic<int> set_acks{0};
  std::vector<std::thread> agents;
  for (int agent = 0; agent < kAgents; ++agent) {
    agents.emplace_back([&, agent] {
      auto fail = [&](const std::string& what) {
        std::lock_guard<std::mutex> lock(mutex);
        errors.push_back("agent " + std::to_string(agent) + ": " + what);
      };
      // Agent a starts at node a % N; the pinned ones stay there.
      std::vector<std::string> endpoints;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        endpoints.push_back(cluster.endpoint(ids[(agent + i) % ids.size()]));
      }
      const bool pinned = agent % 2 == 0;
      if (pinned) endpoints.resize(1);
      auto client = connect_client(endpoints, Millis(30000), /*follow_leader=*/!pinned);
      if (!client.is_ok()) return fail("connect: " + client.status().to_string());
      for (int i = 0; i < kWritesEach; ++i) {
        Result<std::uint64_t> added = (*client)->update("agents", "counter", {api::counter_add(1)});
        if (!added.is_ok()) return fail("counter add: " + added.status().to_string());
        ++counter_acks;
        const std::string member = "a" + std::to_string(agent) + "-" + std::to_string(i);
        Result<crdt::Mutation> set_add = api::set_add(nlohmann::json::array({member}));
        if (!set_add.is_ok()) return fail(set_add.status().to_string());
        added = (*client)->update("agents", "set", {*set_add});
        if (!added.is_ok()) return fail("set add: " + added.status().to_string());
        ++set_acks;
      }
    });
  }
  for (std::thread& agent : agents) agent.join();
  for (const std::string& error : errors) ADD_FAILURE() << error;
  EXPECT_EQ(counter_acks.load(), kAgents * kWritesEach);
  EXPECT_EQ(set_acks.load(), kAgents * kWritesEach);

  std::set<std::string> expected_members;
  for (int agent = 0; agent < kAgents; ++agent) {
    for (int i = 0; i < kWritesEach; ++i) {
      expected_members.insert("a" + std::to_string(agent) + "-" + std::to_string(i));
    }
  }
  for (NodeId id : ids) {
    Result<client::GetResult> counter =
        cluster.get(id, "agents", "counter", client::Consistency::kLinearizable);
    ASSERT_TRUE(counter.is_ok()) << counter.status().to_string();
    EXPECT_EQ(testing::counter_value(*counter), kAgents * kWritesEach) << "node " << id;
    Result<client::GetResult> set =
        cluster.get(id, "agents", "set", client::Consistency::kLinearizable);
    ASSERT_TRUE(set.is_ok()) << set.status().to_string();
    std::set<std::string> members;
    std::size_t size = 0;
    if (set->value.is_array()) {
      size = set->value.size();
      for (const nlohmann::json& member : set->value) {
        if (member.is_string()) members.insert(member.get<std::string>());
      }
    }
    EXPECT_EQ(size, expected_members.size()) << "node " << id;
    EXPECT_TRUE(members == expected_members) << "node " << id << " holds " << members.size()
                                             << " distinct of the " << expected_members.size();
  }
}

}  // namespace
}  // namespace neuroplex
