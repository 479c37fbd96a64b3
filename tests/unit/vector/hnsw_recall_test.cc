// Recall of the HNSW index against brute force (tools/datasets computes the truth independently
// of the index's kernels): Fashion-MNIST and clustered data for every metric, filters at 1%, 10%
// and 50% selectivity on both plans, and churn of ten times the live set.
//
// Sizes are cut to what a Debug+ASan build finishes in seconds; bench/vector_bench measures the
// full 60k set.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/vector/index_test_support.h"

namespace neuroplex::vec {
namespace {

using testing::make_index;
using testing::mean_recall;

constexpr double kRecallTarget = 0.95;

TEST(HnswRecallTest, FashionMnistEveryMetric) {
  auto data = ann::load_fashion_mnist(ann::kFashionMnistDir, 4000, 100);
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  for (Metric metric : {Metric::kL2, Metric::kCosine, Metric::kInnerProduct}) {
    auto index = make_index(784, metric);
    testing::add_rows(*index, data.value());
    const ann::Neighbours truth = ann::exact_knn(data.value(), metric, 10);
    // Raw inner product on pixel vectors is not a metric (no triangle inequality) and needs a
    // wider search than L2 for the same recall; bench/vector_bench sweeps ef for all three.
    const std::uint32_t ef = metric == Metric::kInnerProduct ? 256 : 64;
    const double recall = mean_recall(*index, data.value(), truth, {.k = 10, .ef = ef});
    EXPECT_GE(recall, kRecallTarget) << metric_name(metric);
    RecordProperty(std::string("recall_") + std::string(metric_name(metric)),
                   std::to_string(recall));
  }
}

TEST(HnswRecallTest, ClusteredRandomEveryMetric) {
  const ann::Dataset data = ann::clustered_random(48, 8000, 100, 32, 5);
  for (Metric metric : {Metric::kL2, Metric::kCosine, Metric::kInnerProduct}) {
    auto index = make_index(48, metric);
    testing::add_rows(*index, data);
    const ann::Neighbours truth = ann::exact_knn(data, metric, 10);
    EXPECT_GE(mean_recall(*index, data, truth, {.k = 10, .ef = 64}), kRecallTarget)
        << metric_name(metric);
  }
}

// Row i holds "p<percent>=1" for each percent whose deterministic subset contains it.
Terms selectivity_terms(std::size_t row) {
  const std::size_t hash = (row * 2654435761u) % 100;
  Terms terms;
  for (std::size_t percent : {1, 10, 50}) {
    terms.push_back("p" + std::to_string(percent) + "=" + (hash < percent ? "1" : "0"));
  }
  return terms;
}

TEST(HnswRecallTest, FilteredAtOneTenAndFiftyPercent) {
  const ann::Dataset data = ann::clustered_random(32, 10000, 100, 32, 9);
  auto index = make_index(32, Metric::kL2);
  testing::add_rows(*index, data, selectivity_terms);
  for (std::size_t percent : {1, 10, 50}) {
    const std::string term = "p" + std::to_string(percent) + "=1";
    const ann::Neighbours truth =
        ann::exact_knn(data, Metric::kL2, 10, ann::kAllRows, [&](std::size_t row) {
          const Terms terms = selectivity_terms(row);
          return std::find(terms.begin(), terms.end(), term) != terms.end();
        });
    for (auto plan : {SearchParams::Plan::kAuto, SearchParams::Plan::kGraph}) {
      SearchParams params{.k = 10, .ef = 64, .filter = {term}, .plan = plan};
      // The walk alone under a 1% filter is the case the scan exists for; it still has to
      // find most of the answer, just not 95% of it.
      const double floor = plan == SearchParams::Plan::kGraph && percent == 1 ? 0.5 : kRecallTarget;
      EXPECT_GE(mean_recall(*index, data, truth, params), floor)
          << percent << "% plan " << static_cast<int>(plan);
    }
  }
}

TEST(HnswRecallTest, ChurnOfTenTimesTheLiveSetKeepsMemoryAndRecall) {
  constexpr std::size_t kLive = 1000;
  const ann::Dataset data = ann::clustered_random(32, kLive * 11, 100, 16, 13);
  auto index = make_index(32, Metric::kL2);
  for (std::size_t i = 0; i < kLive; ++i) {
    ASSERT_TRUE(index->add(std::to_string(i), data.train_row(i), {}).is_ok());
  }
  const std::size_t memory_at_start = index->stats().memory_bytes;
  std::size_t most_slots = 0;
  // Slide a window of kLive rows over the data: each step adds one and removes the oldest.
  for (std::size_t i = kLive; i < data.train_count(); ++i) {
    ASSERT_TRUE(index->add(std::to_string(i), data.train_row(i), {}).is_ok());
    ASSERT_TRUE(index->remove(std::to_string(i - kLive)));
    most_slots = std::max(most_slots, index->stats().slots);
  }
  const IndexStats stats = index->stats();
  EXPECT_EQ(stats.live, kLive);
  EXPECT_GT(stats.consolidations, 0u);
  EXPECT_LE(most_slots, kLive * 13 / 10) << "slots are reused, not appended forever";
  // Capacity doubles, so bounded means within a small factor; unbounded would be eleven.
  EXPECT_LE(stats.memory_bytes, memory_at_start * 3);

  ann::Dataset window = data;  // the live rows: the last kLive of train
  window.train.assign(data.train.end() - kLive * data.dim, data.train.end());
  const ann::Neighbours truth = ann::exact_knn(window, Metric::kL2, 10);
  double total = 0;
  const std::size_t offset = data.train_count() - kLive;
  for (std::size_t q = 0; q < truth.size(); ++q) {
    auto hits = index->search(data.query_row(q), {.k = 10, .ef = 64});
    ASSERT_TRUE(hits.is_ok());
    std::vector<std::uint32_t> rows;
    for (std::uint32_t row : testing::rows_of(hits.value())) {
      rows.push_back(static_cast<std::uint32_t>(row - offset));
    }
    total += ann::recall_at_k(truth[q], rows, 10);
  }
  EXPECT_GE(total / static_cast<double>(truth.size()), kRecallTarget);
}

}  // namespace
}  // namespace neuroplex::vec
