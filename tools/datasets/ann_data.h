// ANN test data for the vector index's tests and benchmarks: the Fashion-MNIST images (the
// fashion-mnist-784-euclidean set of ann-benchmarks), seeded clustered gaussian data, brute-force
// ground truth and recall. Not a product library: nothing under tools/ or api/ links it.
//
// The ground truth is computed in double precision by plain loops, independently of the index's
// SIMD kernels (storage/vector/distance.h), so a kernel bug cannot hide in both sides of a recall
// measurement.
//
// Thread safety: the functions share no state; exact_knn runs its own worker threads and joins them
// before returning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/vector/distance.h"

namespace neuroplex::ann {

// Row-major vectors: row i of `train` is train[i * dim, (i + 1) * dim).
struct Dataset {
  // Names the data and its shape ("fashion-mnist-784-t60000-q10000"); keys the ground-truth cache.
  std::string name;
  std::size_t dim = 0;
  std::vector<float> train;
  std::vector<float> queries;

  std::size_t train_count() const { return dim == 0 ? 0 : train.size() / dim; }
  std::size_t query_count() const { return dim == 0 ? 0 : queries.size() / dim; }
  std::span<const float> train_row(std::size_t i) const;
  std::span<const float> query_row(std::size_t i) const;
};

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
inline constexpr std::size_t kAllRows = std::numeric_limits<std::size_t>::max();

// Reads train-images-idx3-ubyte.gz (train) and t10k-images-idx3-ubyte.gz (queries) from `dir`,
// keeping at most train_max / query_max images of each. Pixels become floats as they are (0..255),
// as ann-benchmarks does. A missing file is NOT_FOUND; a file that is not a gzip'd idx3 image file
// (bad magic, zero-sized images, fewer bytes than its header promises) is INTERNAL ("corrupt").
Result<Dataset> load_fashion_mnist(const std::string& dir = kFashionMnistDir,
                                   std::size_t train_max = kAllRows,
                                   std::size_t query_max = kAllRows);

// One idx3 file (exposed for tests): images as float rows, at most `max_rows` of them.
struct IdxImages {
  std::size_t rows = 0;
  std::size_t dim = 0;  // pixels per image (height * width)
  std::vector<float> pixels;
};
Result<IdxImages> read_idx3_gz(const std::string& path, std::size_t max_rows = kAllRows);

// `clusters` gaussian blobs (centers uniform in [-1, 1]^dim, sigma 0.3 per coordinate); every
// train and query vector picks a cluster uniformly. The same arguments give the same bytes on
// every platform: only std::mt19937_64 and our own uniform and Box-Muller transforms are used.
// clusters == 0 is treated as 1.
Dataset clustered_random(std::size_t dim, std::size_t train, std::size_t queries,
                         std::size_t clusters, std::uint64_t seed);

// Neighbour lists, one per query, closest first.
using Neighbours = std::vector<std::vector<std::uint32_t>>;

// Brute-force k nearest train rows of each of the first `query_limit` queries, closest first,
// ties broken by the lower row. Metrics: kL2 squared Euclidean distance; kCosine by the dot of
// normalized vectors (train rows of zero norm never match); kInnerProduct by the raw dot product,
// highest first. `allowed`, when set, is asked once per train row (on the calling thread) and
// rows it refuses are never returned; a query then gets fewer than k rows when fewer are allowed.
// Uses every core.
Neighbours exact_knn(const Dataset& data, vec::Metric metric, std::size_t k,
                     std::size_t query_limit = kAllRows,
                     const std::function<bool(std::size_t row)>& allowed = {});

// exact_knn without a filter, remembered in `cache_dir` (created if needed) under a file named
// from the dataset name, metric, k and query count. A missing or unreadable cache file is
// recomputed and rewritten; a failure to write the cache is ignored (the answer is still right).
Neighbours exact_knn_cached(const Dataset& data, vec::Metric metric, std::size_t k,
                            std::size_t query_limit, const std::string& cache_dir);

// The share of truth's first k rows that appear among got's first k, in [0, 1]. A query with no
// true neighbours (everything filtered away) has recall 1.
double recall_at_k(const std::vector<std::uint32_t>& truth, const std::vector<std::uint32_t>& got,
                   std::size_t k);

}  // namespace neuroplex::ann
