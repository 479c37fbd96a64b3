// Vector memories through the C++ client library and Cap'n Proto on a 3-node cluster: puts
// through followers (forwarded to the leader) with generated ids, the same top-k from every
// node, stable codes for refusals, and a client that keeps working after a long pause outside
// its event loop (its deadlines come from the real clock, not the loop's lagging one).
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "tests/integration/cluster_harness.h"

namespace neuroplex {
namespace {

using testing::Cluster;
using testing::connect_client;
using testing::Millis;
using testing::NodeId;

constexpr std::uint32_t kDim = 12;

std::vector<float> random_vector(std::mt19937& rng) {
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> v(kDim);
  for (float& x : v) x = uniform(rng);
  return v;
}

std::vector<std::string> ids_of(const client::SearchResult& result) {
  std::vector<std::string> ids;
  for (const client::SearchHit& hit : result.hits) ids.push_back(hit.id);
  return ids;
}

TEST(ClusterVectors, EveryNodeServesTheSameTopK) {
  Cluster cluster;
  ASSERT_TRUE(testing::succeeded(cluster.start_all()));
  Result<NodeId> leader = cluster.wait_for_leader();
  ASSERT_TRUE(leader.is_ok()) << leader.status().to_string();
  std::mt19937 rng(7);
  {
    auto client = connect_client({cluster.endpoint(*leader)}, Millis(10000), true);
    ASSERT_TRUE(client.is_ok()) << client.status().to_string();
    ASSERT_TRUE((*client)->create_collection("agents", kDim, "ip").is_ok());
  }
  std::set<std::string> ids;
  for (NodeId id : cluster.ids()) {  // followers forward the puts to the leader
    auto client = connect_client({cluster.endpoint(id)}, Millis(10000), /*follow_leader=*/false);
    ASSERT_TRUE(client.is_ok()) << client.status().to_string();
    for (int i = 0; i < 60; ++i) {
      client::MemoryInput memory{"", random_vector(rng), "from node " + std::to_string(id),
                                 R"({"node":)" + std::to_string(id) + "}", 0};
      Result<client::PutResult> put = (*client)->put_memory("agents", memory);
      ASSERT_TRUE(put.is_ok()) << "put through node " << id << ": " << put.status().to_string();
      EXPECT_EQ(put->id.size(), 32u);
      ids.insert(put->id);
    }
    // Refusals keep their codes through a follower's forward.
    auto bad =
        (*client)->put_memory("agents", {"x", std::vector<float>(kDim + 1, 1.0f), "", "", 0});
    EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument) << bad.status().to_string();
    auto missing = (*client)->put_memory("nope", {"x", random_vector(rng), "", "", 0});
    EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound) << missing.status().to_string();
  }
  EXPECT_EQ(ids.size(), 180u);

  std::vector<std::vector<float>> queries;
  for (int i = 0; i < 5; ++i) queries.push_back(random_vector(rng));
  std::vector<std::vector<std::string>> reference;
  for (NodeId id : cluster.ids()) {
    auto client = connect_client({cluster.endpoint(id)}, Millis(10000), /*follow_leader=*/false);
    ASSERT_TRUE(client.is_ok()) << client.status().to_string();
    for (std::size_t q = 0; q < queries.size(); ++q) {
      for (const std::string& filter : {std::string(), std::string(R"({"node":2})")}) {
        client::SearchQuery query{queries[q], 10, filter, 0, client::Consistency::kLinearizable};
        Result<client::SearchResult> result = (*client)->search("agents", query);
        ASSERT_TRUE(result.is_ok()) << result.status().to_string();
        ASSERT_EQ(result->hits.size(), 10u);
        for (std::size_t i = 1; i < result->hits.size(); ++i) {
          EXPECT_GE(result->hits[i - 1].score, result->hits[i].score);  // ip: higher first
        }
        if (!filter.empty()) {
          for (const auto& hit : result->hits) EXPECT_EQ(hit.metadata, R"({"node":2})");
        }
        if (id == cluster.ids().front()) {
          reference.push_back(ids_of(*result));
        } else {
          EXPECT_EQ(ids_of(*result), reference[q * 2 + (filter.empty() ? 0 : 1)])
              << "node " << id << " query " << q;
        }
      }
    }
    auto listed = (*client)->list_collections();
    ASSERT_TRUE(listed.is_ok());
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ((*listed)[0].count, 180u);
  }
}

TEST(ClusterVectors, ClientWorksAfterALongPauseOutsideItsEventLoop) {
  Cluster cluster(testing::ClusterOptions{.nodes = 1});
  ASSERT_TRUE(testing::succeeded(cluster.start_all()));
  ASSERT_TRUE(cluster.wait_for_leader().is_ok());
  client::ClientOptions options;
  options.endpoints = {cluster.endpoint(1)};
  options.attempt_timeout = std::chrono::milliseconds(300);
  options.deadline = std::chrono::milliseconds(1000);
  auto client = client::Client::connect(options);
  ASSERT_TRUE(client.is_ok()) << client.status().to_string();
  ASSERT_TRUE((*client)->create_collection("c", 2, "l2").is_ok());
  // Longer than the whole deadline, with the event loop idle (a caller computing).
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Result<client::PutResult> put = (*client)->put_memory("c", {"a", {1, 2}, "", "", 0});
  ASSERT_TRUE(put.is_ok()) << put.status().to_string();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto found = (*client)->search("c", {{1, 2}, 1, "", 0, client::Consistency::kLinearizable});
  ASSERT_TRUE(found.is_ok()) << found.status().to_string();
  EXPECT_EQ(ids_of(*found), std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace neuroplex
