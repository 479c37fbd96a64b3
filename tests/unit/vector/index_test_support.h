// Shared by the vector index tests: building an index from a Dataset, and recall of the index
// against brute-force truth.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/vector/hnsw_index.h"
#include "tools/datasets/ann_data.h"

namespace neuroplex::vec::testing {

inline std::unique_ptr<HnswIndex> make_index(std::uint32_t dim, Metric metric,
                                             std::uint32_t ef_construction = 100) {
  IndexOptions options;
  options.dim = dim;
  options.metric = metric;
  options.ef_construction = ef_construction;
  auto created = HnswIndex::create(options);
  EXPECT_TRUE(created.is_ok()) << created.status().to_string();
  return std::move(created.value());
}

// Row i goes in under id "i" with the terms terms_of(i) (none when unset).
inline void add_rows(HnswIndex& index, const ann::Dataset& data,
                     const std::function<Terms(std::size_t)>& terms_of = {}) {
  for (std::size_t i = 0; i < data.train_count(); ++i) {
    const Status s =
        index.add(std::to_string(i), data.train_row(i), terms_of ? terms_of(i) : Terms{});
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
}

inline std::vector<std::uint32_t> rows_of(const std::vector<Hit>& hits) {
  std::vector<std::uint32_t> rows;
  for (const Hit& hit : hits) rows.push_back(static_cast<std::uint32_t>(std::stoul(hit.id)));
  return rows;
}

inline std::vector<std::string> ids_of(const std::vector<Hit>& hits) {
  std::vector<std::string> ids;
  for (const Hit& hit : hits) ids.push_back(hit.id);
  return ids;
}

// Mean recall@k of index.search over the first truth.size() queries.
inline double mean_recall(const HnswIndex& index, const ann::Dataset& data,
                          const ann::Neighbours& truth, SearchParams params) {
  double total = 0;
  for (std::size_t q = 0; q < truth.size(); ++q) {
    auto hits = index.search(data.query_row(q), params);
    EXPECT_TRUE(hits.is_ok()) << hits.status().to_string();
    total += ann::recall_at_k(truth[q], rows_of(hits.value()), params.k);
  }
  return total / static_cast<double>(truth.size());
}

}  // namespace neuroplex::vec::testing
