// Removed content costs nothing: after any amount of add/remove churn a document's encoding is
// its live content plus a small constant, because removals are remembered by the causal context
// (one version entry per writer) instead of per-element tombstones (causal_context.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "replication/crdt/codec.h"
#include "tests/support/seed.h"
#include "tests/unit/crdt/crdt_random.h"
#include "tests/unit/crdt/mutation_builders.h"

namespace neuroplex::crdt::testing {
namespace {

using Versions = CausalContext::Versions;

constexpr std::size_t kLive = 10;
constexpr std::uint64_t kCycles = 100000;
constexpr std::uint64_t kEarlyCycles = 1000;
// Per live element: its dot and the Cap'n Proto structure around it; plus the document frame.
constexpr std::size_t kBytesPerLiveElement = 64;
constexpr std::size_t kFrameBytes = 64;
// Between 1,000 and 100,000 cycles only the context's counters grow (by at most a few bytes).
constexpr std::size_t kGrowthBytes = 8;

std::size_t bound(std::size_t live_content_bytes) {
  return live_content_bytes + kBytesPerLiveElement * kLive + kFrameBytes;
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// Applies a mutation inside a long loop, reporting only failures.
::testing::AssertionResult applied(Document& document, const Mutation& mutation,
                                   ReplicaId replica) {
  Result<Document> delta = document.apply(mutation, replica, 1);
  if (delta.is_ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << delta.status().to_string();
}

TEST(BoundedMetadataTest, SetChurnLeavesOnlyLiveContent) {
  Document document;
  Members live;
  std::size_t live_bytes = 0;
  for (std::size_t k = 0; k < kLive; ++k) {
    live.push_back(quoted("live" + std::to_string(k)));
    live_bytes += live.back().size();
  }
  apply_ok(document, set_add({}, live), 1);

  std::size_t early_size = 0;
  for (std::uint64_t i = 0; i < kCycles; ++i) {
    const std::string member = quoted("x" + std::to_string(i));
    ASSERT_TRUE(applied(document, set_add({}, {member}), 1));
    ASSERT_TRUE(applied(document, set_remove({}, {member}), 1));
    if (i + 1 == kEarlyCycles) early_size = encode(document).size();
  }
  const std::size_t size = encode(document).size();
  EXPECT_LE(size, bound(live_bytes)) << "live content is " << live_bytes << " bytes";
  EXPECT_LE(size, early_size + kGrowthBytes) << "after " << kEarlyCycles << ": " << early_size;
  EXPECT_EQ(document.context().versions(), (Versions{{1, kLive + kCycles}}));
  EXPECT_TRUE(document.context().cloud().empty());
  nlohmann::json expected = nlohmann::json::array();
  for (const std::string& member : live) expected.push_back(nlohmann::json::parse(member));
  EXPECT_EQ(document.view(), expected);
}

TEST(BoundedMetadataTest, MapFieldChurnLeavesOnlyLiveContent) {
  Document document;
  std::size_t live_bytes = 0;
  nlohmann::json expected = nlohmann::json::object();
  for (std::size_t k = 0; k < kLive; ++k) {
    const std::string name = "live" + std::to_string(k);
    apply_ok(document, register_set({name}, std::to_string(k)), 1);
    live_bytes += name.size() + std::to_string(k).size();
    expected[name] = k;
  }

  std::size_t early_size = 0;
  for (std::uint64_t i = 0; i < kCycles; ++i) {
    const std::string field = "f" + std::to_string(i);
    ASSERT_TRUE(applied(document, register_set({field}, "1"), 1));
    ASSERT_TRUE(applied(document, map_remove({}, field), 1));
    if (i + 1 == kEarlyCycles) early_size = encode(document).size();
  }
  const std::size_t size = encode(document).size();
  EXPECT_LE(size, bound(live_bytes)) << "live content is " << live_bytes << " bytes";
  EXPECT_LE(size, early_size + kGrowthBytes) << "after " << kEarlyCycles << ": " << early_size;
  EXPECT_EQ(document.context().versions(), (Versions{{1, kLive + kCycles}}));
  EXPECT_TRUE(document.context().cloud().empty());
  EXPECT_EQ(document.view(), expected);
}

struct ChurnResult {
  std::vector<Replica> replicas;
  std::vector<std::uint64_t> dots_made;  // by replica index
  std::size_t live_bytes = 0;
  std::size_t dropped = 0;
};

// Three replicas churn concurrently on their own elements (replica 1 also adds the live ones);
// deltas are dropped (5%), duplicated (5%) and delivered in random order; at the end what is
// still in flight is lost and the replicas exchange full states once. (Until then a replica
// keeps every element whose remove it missed, so each join costs more as the run goes on.)
ChurnResult concurrent_churn(std::uint64_t seed, std::uint64_t cycles) {
  constexpr std::size_t kReplicas = 3;
  RandomMutations random(seed, Shape::kSet);  // used for its random numbers only
  DeltaNetwork network(seed + 1, 0.05, 0.05);
  ChurnResult result;
  result.replicas.resize(kReplicas);
  result.dots_made.assign(kReplicas, 0);
  for (std::size_t r = 0; r < kReplicas; ++r) result.replicas[r].id = r + 1;

  auto mutate = [&](std::size_t r, const Mutation& mutation) {
    std::optional<Document> delta = result.replicas[r].mutate(mutation);
    EXPECT_TRUE(delta.has_value());
    if (delta) network.broadcast(r, kReplicas, *delta);
  };
  Members live;
  for (std::size_t k = 0; k < kLive; ++k) {
    live.push_back(quoted("live" + std::to_string(k)));
    result.live_bytes += live.back().size();
  }
  mutate(0, set_add({}, live));
  result.dots_made[0] += kLive;

  for (std::uint64_t i = 0; i < cycles; ++i) {
    const auto r =
        static_cast<std::size_t>(random.uniform(0, static_cast<std::int64_t>(kReplicas) - 1));
    const std::string member = quoted("r" + std::to_string(r) + "x" + std::to_string(i));
    mutate(r, set_add({}, {member}));
    mutate(r, set_remove({}, {member}));
    result.dots_made[r] += 1;
    for (std::int64_t k = random.uniform(0, 7); k > 0 && !network.empty(); --k) {
      DeltaNetwork::Message message = network.take_random();
      result.replicas[message.to].state.join(message.delta);
    }
  }
  result.dropped = network.dropped();

  std::vector<Document> before;
  for (const Replica& replica : result.replicas) before.push_back(replica.state);
  for (std::size_t i = 0; i < kReplicas; ++i) {
    for (std::size_t j = 0; j < kReplicas; ++j) {
      if (i != j) result.replicas[i].state.join(before[j]);
    }
  }
  return result;
}

TEST(BoundedMetadataTest, ConcurrentChurnCompactsToOneVersionEntryPerReplica) {
  constexpr std::uint64_t kConcurrentCycles = 4000;  // joins cost more as zombies pile up
  const std::uint64_t seed0 = neuroplex::testing::base_seed(5150);
  const std::uint64_t cases = neuroplex::testing::case_count(1);
  for (std::uint64_t i = 0; i < cases; ++i) {
    const std::uint64_t seed = seed0 + i;
    SCOPED_TRACE(neuroplex::testing::replay_hint("tests/unit/crdt/crdt_test",
                                                 "BoundedMetadataTest.ConcurrentChurn*", seed));
    ChurnResult early = concurrent_churn(seed, kEarlyCycles);
    ChurnResult result = concurrent_churn(seed, kConcurrentCycles);
    ASSERT_GT(result.dropped, 0u);

    const std::string bytes = encode(result.replicas[0].state);
    for (const Replica& replica : result.replicas) {
      ASSERT_EQ(encode(replica.state), bytes) << describe(replica.state);
      ASSERT_TRUE(replica.state.check_invariants(false));
    }
    const CausalContext& context = result.replicas[0].state.context();
    EXPECT_EQ(
        context.versions(),
        (Versions{{1, result.dots_made[0]}, {2, result.dots_made[1]}, {3, result.dots_made[2]}}));
    EXPECT_TRUE(context.cloud().empty());
    EXPECT_LE(bytes.size(), bound(result.live_bytes));
    EXPECT_LE(bytes.size(), encode(early.replicas[0].state).size() + kGrowthBytes);
    EXPECT_EQ(result.replicas[0].state.view().size(), kLive);
  }
}

}  // namespace
}  // namespace neuroplex::crdt::testing
