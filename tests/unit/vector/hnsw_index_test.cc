// HnswIndex behaviour on small inputs: argument checks, replace and remove, filters, plans and
// determinism across replicas.
#include "storage/vector/hnsw_index.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/unit/vector/index_test_support.h"

namespace neuroplex::vec {
namespace {

using testing::make_index;
using testing::rows_of;

TEST(HnswIndexTest, RejectsBadOptions) {
  IndexOptions options;
  options.dim = 0;
  EXPECT_EQ(HnswIndex::create(options).status().code(), ErrorCode::kInvalidArgument);
  options.dim = kMaxDim + 1;
  EXPECT_EQ(HnswIndex::create(options).status().code(), ErrorCode::kInvalidArgument);
  options.dim = 8;
  options.m = 1;
  EXPECT_EQ(HnswIndex::create(options).status().code(), ErrorCode::kInvalidArgument);
  options.m = 16;
  options.consolidate_share = 0;
  EXPECT_EQ(HnswIndex::create(options).status().code(), ErrorCode::kInvalidArgument);
}

TEST(HnswIndexTest, BadVectorsChangeNothing) {
  auto index = make_index(3, Metric::kCosine);
  ASSERT_TRUE(index->add("a", std::vector<float>{1, 0, 0}, {}).is_ok());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (const std::vector<float>& bad :
       std::vector<std::vector<float>>{{1, 0}, {1, 0, 0, 0}, {nan, 0, 0}, {0, inf, 0}, {0, 0, 0}}) {
    const Status s = index->add("a", bad, {"x"});
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << s.to_string();
  }
  EXPECT_EQ(index->size(), 1u);
  auto hits = index->search(std::vector<float>{1, 0, 0}, {.k = 5, .filter = {}});
  ASSERT_TRUE(hits.is_ok());
  ASSERT_EQ(hits.value().size(), 1u);
  EXPECT_EQ(hits.value()[0].id, "a");
  EXPECT_TRUE(hits.value()[0].distance < 1e-6f);
  EXPECT_EQ(index->search(std::vector<float>{1, 0}, {}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(index->search(std::vector<float>{0, 0, 0}, {}).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(HnswIndexTest, NearestFirstForEveryMetric) {
  for (Metric metric : {Metric::kL2, Metric::kCosine, Metric::kInnerProduct}) {
    auto index = make_index(2, metric);
    ASSERT_TRUE(index->add("east", std::vector<float>{1, 0}, {}).is_ok());
    ASSERT_TRUE(index->add("north", std::vector<float>{0, 2}, {}).is_ok());
    ASSERT_TRUE(index->add("west", std::vector<float>{-3, 0}, {}).is_ok());
    auto hits = index->search(std::vector<float>{1, 0.1f}, {.k = 3});
    ASSERT_TRUE(hits.is_ok());
    ASSERT_EQ(hits.value().size(), 3u) << metric_name(metric);
    EXPECT_EQ(hits.value()[0].id, "east") << metric_name(metric);
    EXPECT_EQ(hits.value()[2].id, "west") << metric_name(metric);
    for (std::size_t i = 1; i < 3; ++i) {
      EXPECT_LE(hits.value()[i - 1].distance, hits.value()[i].distance);
    }
  }
}

TEST(HnswIndexTest, ReplaceAndRemove) {
  auto index = make_index(2, Metric::kL2);
  ASSERT_TRUE(index->add("a", std::vector<float>{0, 0}, {"k=1"}).is_ok());
  ASSERT_TRUE(index->add("b", std::vector<float>{5, 5}, {"k=1"}).is_ok());
  ASSERT_TRUE(index->add("a", std::vector<float>{10, 10}, {"k=2"}).is_ok());  // replaces
  EXPECT_EQ(index->size(), 2u);
  auto hits = index->search(std::vector<float>{0, 0}, {.k = 2});
  ASSERT_TRUE(hits.is_ok());
  EXPECT_EQ(testing::ids_of(hits.value()), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(hits.value()[0].id, "b");
  auto k1 = index->search(std::vector<float>{0, 0}, {.k = 5, .filter = {"k=1"}});
  ASSERT_TRUE(k1.is_ok());
  ASSERT_EQ(k1.value().size(), 1u);
  EXPECT_EQ(k1.value()[0].id, "b");
  EXPECT_TRUE(index->remove("b"));
  EXPECT_FALSE(index->remove("b"));
  EXPECT_FALSE(index->contains("b"));
  EXPECT_TRUE(index->contains("a"));
  hits = index->search(std::vector<float>{0, 0}, {.k = 5});
  ASSERT_TRUE(hits.is_ok());
  ASSERT_EQ(hits.value().size(), 1u);
  EXPECT_EQ(hits.value()[0].id, "a");
  EXPECT_TRUE(index->search(std::vector<float>{0, 0}, {.k = 5, .filter = {"k=1"}}).value().empty());
  EXPECT_TRUE(
      index->search(std::vector<float>{0, 0}, {.k = 5, .filter = {"nope"}}).value().empty());
  EXPECT_TRUE(index->remove("a"));
  EXPECT_TRUE(index->search(std::vector<float>{0, 0}, {.k = 5}).value().empty());
  ASSERT_TRUE(index->add("c", std::vector<float>{1, 1}, {}).is_ok());  // reuses a freed slot
  EXPECT_EQ(index->search(std::vector<float>{0, 0}, {.k = 5}).value().at(0).id, "c");
}

TEST(HnswIndexTest, FilterIsAndOfTerms) {
  auto index = make_index(1, Metric::kL2);
  for (int i = 0; i < 100; ++i) {
    Terms terms = {"even=" + std::to_string(i % 2 == 0)};
    if (i % 5 == 0) terms.push_back("five=1");
    ASSERT_TRUE(
        index->add(std::to_string(i), std::vector<float>{static_cast<float>(i)}, terms).is_ok());
  }
  for (auto plan :
       {SearchParams::Plan::kAuto, SearchParams::Plan::kExact, SearchParams::Plan::kGraph}) {
    auto hits = index->search(std::vector<float>{42},
                              {.k = 3, .filter = {"five=1", "even=1"}, .plan = plan});
    ASSERT_TRUE(hits.is_ok());
    EXPECT_EQ(rows_of(hits.value()), (std::vector<std::uint32_t>{40, 50, 30}));
  }
}

TEST(HnswIndexTest, PlanFollowsSelectivity) {
  const ann::Dataset data = ann::clustered_random(16, 4000, 1, 8, 3);
  auto index = make_index(16, Metric::kL2);
  testing::add_rows(*index, data, [](std::size_t i) {
    return Terms{i % 100 == 0 ? "rare=1" : "rare=0", "all=1"};
  });
  SearchStats stats;
  ASSERT_TRUE(index->search(data.query_row(0), {.k = 10, .filter = {"rare=1"}}, &stats).is_ok());
  EXPECT_TRUE(stats.exact);
  EXPECT_EQ(stats.candidates, 40u);
  EXPECT_EQ(stats.distances, 40u);
  ASSERT_TRUE(
      index->search(data.query_row(0), {.k = 10, .ef = 16, .filter = {"all=1"}}, &stats).is_ok());
  EXPECT_FALSE(stats.exact);
  EXPECT_EQ(stats.candidates, 4000u);
  EXPECT_LT(stats.distances, 4000u);
}

TEST(HnswIndexTest, SameOperationsGiveSameAnswersOnEveryReplica) {
  const ann::Dataset data = ann::clustered_random(24, 3000, 50, 10, 11);
  auto leader = make_index(24, Metric::kCosine);
  auto follower = make_index(24, Metric::kCosine);
  for (HnswIndex* index : {leader.get(), follower.get()}) {
    testing::add_rows(*index, data);
    for (std::size_t i = 0; i < 3000; i += 3) ASSERT_TRUE(index->remove(std::to_string(i)));
  }
  EXPECT_EQ(leader->stats().consolidations, follower->stats().consolidations);
  for (std::size_t q = 0; q < data.query_count(); ++q) {
    auto a = leader->search(data.query_row(q), {.k = 10, .ef = 20});
    auto b = follower->search(data.query_row(q), {.k = 10, .ef = 20});
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    ASSERT_EQ(rows_of(a.value()), rows_of(b.value()));
  }
}

}  // namespace
}  // namespace neuroplex::vec
