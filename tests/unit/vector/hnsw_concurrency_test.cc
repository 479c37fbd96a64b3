// Searches run beside a writer that inserts, deletes and consolidates: every answer is sorted,
// holds only ids that were added, and nothing crashes (the suite runs under ASan and UBSan).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/unit/vector/index_test_support.h"

namespace neuroplex::vec {
namespace {

TEST(HnswConcurrencyTest, SearchesRunBesideInsertsDeletesAndConsolidation) {
  const ann::Dataset data = ann::clustered_random(16, 6000, 50, 8, 17);
  auto index = testing::make_index(16, Metric::kL2, 40);
  for (std::size_t i = 0; i < 500; ++i) {
    ASSERT_TRUE(index->add(std::to_string(i), data.train_row(i), {"even=" + std::to_string(i % 2)})
                    .is_ok());
  }
  std::atomic<bool> done{false};
  std::atomic<std::size_t> searches{0};
  auto searcher = [&](std::size_t seed) {
    std::size_t q = seed;
    while (!done.load()) {
      const Terms filter = q % 3 == 0 ? Terms{"even=0"} : Terms{};
      auto hits =
          index->search(data.query_row(q % data.query_count()), {.k = 10, .filter = filter});
      ASSERT_TRUE(hits.is_ok());
      for (std::size_t i = 0; i < hits.value().size(); ++i) {
        const std::size_t row = std::stoul(hits.value()[i].id);
        ASSERT_LT(row, data.train_count());
        if (i > 0) {
          ASSERT_LE(hits.value()[i - 1].distance, hits.value()[i].distance);
        }
      }
      ++q;
      searches.fetch_add(1);
    }
  };
  std::thread a(searcher, 0);
  std::thread b(searcher, 1);
  for (std::size_t i = 500; i < data.train_count(); ++i) {
    ASSERT_TRUE(index->add(std::to_string(i), data.train_row(i), {"even=" + std::to_string(i % 2)})
                    .is_ok());
    if (i % 2 == 0) {
      ASSERT_TRUE(index->remove(std::to_string(i - 400)));
    }
  }
  done.store(true);
  a.join();
  b.join();
  EXPECT_GT(searches.load(), 0u);
  EXPECT_GT(index->stats().consolidations, 0u);
}

}  // namespace
}  // namespace neuroplex::vec
