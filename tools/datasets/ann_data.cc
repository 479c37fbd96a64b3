#include "tools/datasets/ann_data.h"

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numbers>
#include <random>
#include <thread>
#include <utility>

namespace neuroplex::ann {
namespace {

// ---- idx3 files ---------------------------------------------------------------------------------

constexpr std::uint32_t kIdx3Magic = 0x00000803;  // unsigned byte data, three dimensions
constexpr std::size_t kIdxHeaderBytes = 16;       // magic, count, height, width (big-endian)
constexpr std::uint32_t kMaxImagePixels = 1u << 20;

struct GzCloser {
  void operator()(gzFile_s* file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

std::uint32_t big_endian_u32(const unsigned char* bytes) {
  return std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 |
         std::uint32_t{bytes[2]} << 8 | std::uint32_t{bytes[3]};
}

Status corrupt(const std::string& path, const std::string& problem) {
  return internal_error("corrupt '" + path + "': " + problem);
}

// Reads exactly `size` bytes; false on a short read or a damaged gzip stream.
bool gz_read_exact(gzFile_s* file, unsigned char* out, std::size_t size) {
  constexpr std::size_t kChunk = 1u << 30;  // gzread takes an unsigned count
  while (size > 0) {
    auto want = static_cast<unsigned>(std::min(size, kChunk));
    int got = gzread(file, out, want);
    if (got <= 0) return false;
    out += got;
    size -= static_cast<std::size_t>(got);
  }
  return true;
}

Result<GzFile> open_gz(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return not_found("no file '" + path + "'");
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) return internal_error("cannot open '" + path + "': " + std::strerror(errno));
  gzbuffer(file.get(), 1u << 20);  // fewer, larger reads of a 26 MB file
  return file;
}

// ---- distances in double precision --------------------------------------------------------------

// Eight independent partial sums: the compiler may vectorize across them without reassociating
// any one sum, so the result stays deterministic and needs no -ffast-math. Each function is also
// compiled for AVX-512 and AVX2, the best version picked when the program loads: a lane's sum is
// the same at every width and float products are exact in double, so all versions give the same
// bits (the full Fashion-MNIST truth drops from about 95 s to 60 s on two AVX-512 cores).
constexpr std::size_t kPartialSums = 8;

#if defined(__x86_64__) && defined(__GNUC__)
#define NPX_WIDE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NPX_WIDE_CLONES
#endif

NPX_WIDE_CLONES double dot_double(const float* a, const float* b, std::size_t n) {
  double partial[kPartialSums] = {};
  std::size_t i = 0;
  for (; i + kPartialSums <= n; i += kPartialSums) {
    for (std::size_t j = 0; j < kPartialSums; ++j) {
      partial[j] += static_cast<double>(a[i + j]) * static_cast<double>(b[i + j]);
    }
  }
  double sum = 0;
  for (; i < n; ++i) sum += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  for (double p : partial) sum += p;
  return sum;
}

NPX_WIDE_CLONES double l2_squared_double(const float* a, const float* b, std::size_t n) {
  double partial[kPartialSums] = {};
  std::size_t i = 0;
  for (; i + kPartialSums <= n; i += kPartialSums) {
    for (std::size_t j = 0; j < kPartialSums; ++j) {
      double d = static_cast<double>(a[i + j]) - static_cast<double>(b[i + j]);
      partial[j] += d * d;
    }
  }
  double sum = 0;
  for (; i < n; ++i) {
    double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    sum += d * d;
  }
  for (double p : partial) sum += p;
  return sum;
}

// ---- exact k-NN ---------------------------------------------------------------------------------

// The k smallest (distance, row) pairs seen so far, as a max-heap on the pair: equal distances
// keep the lower row, so the answer does not depend on the scan order.
class TopK {
 public:
  explicit TopK(std::size_t k) : k_(k) { heap_.reserve(k); }

  void offer(double distance, std::uint32_t row) {
    Entry entry{distance, row};
    if (heap_.size() < k_) {
      heap_.push_back(entry);
      std::push_heap(heap_.begin(), heap_.end());
    } else if (k_ > 0 && entry < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = entry;
      std::push_heap(heap_.begin(), heap_.end());
    }
  }

  std::vector<std::uint32_t> take_sorted_rows() {
    std::sort_heap(heap_.begin(), heap_.end());
    std::vector<std::uint32_t> rows;
    rows.reserve(heap_.size());
    for (const Entry& entry : heap_) rows.push_back(entry.row);
    heap_.clear();
    return rows;
  }

 private:
  struct Entry {
    double distance;
    std::uint32_t row;
    friend bool operator<(const Entry& a, const Entry& b) {
      return a.distance != b.distance ? a.distance < b.distance : a.row < b.row;
    }
  };
  std::size_t k_;
  std::vector<Entry> heap_;
};

// What every query of one exact_knn call shares, read-only once built.
struct ScanPlan {
  const Dataset* data = nullptr;
  vec::Metric metric = vec::Metric::kL2;
  std::size_t k = 0;
  std::vector<std::uint32_t> rows;  // train rows that may be returned
  std::vector<double> norms;        // cosine only: the norm of each train row
};

ScanPlan make_plan(const Dataset& data, vec::Metric metric, std::size_t k,
                   const std::function<bool(std::size_t row)>& allowed) {
  ScanPlan plan{.data = &data, .metric = metric, .k = k};
  std::size_t count = data.train_count();
  assert(count <= std::numeric_limits<std::uint32_t>::max());
  if (metric == vec::Metric::kCosine) plan.norms.resize(count);
  plan.rows.reserve(count);
  for (std::size_t row = 0; row < count; ++row) {
    if (allowed && !allowed(row)) continue;
    if (metric == vec::Metric::kCosine) {
      const float* x = data.train_row(row).data();
      plan.norms[row] = std::sqrt(dot_double(x, x, data.dim));
      if (plan.norms[row] == 0) continue;  // no direction: the index refuses such vectors too
    }
    plan.rows.push_back(static_cast<std::uint32_t>(row));
  }
  return plan;
}

struct Query {
  const float* vector;
  double norm;  // cosine only
};

double distance_to(const ScanPlan& plan, const Query& query, std::uint32_t row) {
  const Dataset& data = *plan.data;
  const float* x = data.train_row(row).data();
  switch (plan.metric) {
    case vec::Metric::kL2:
      return l2_squared_double(query.vector, x, data.dim);
    case vec::Metric::kInnerProduct:
      return -dot_double(query.vector, x, data.dim);
    case vec::Metric::kCosine:
      // A zero query is equally far from everything; rows then come back in order.
      if (query.norm == 0) return 1;
      return 1 - dot_double(query.vector, x, data.dim) / (query.norm * plan.norms[row]);
  }
  return 0;
}

// Answers queries [first, first + count) in one pass over the train rows: each row is read from
// memory once for the whole block instead of once per query, which is what bounds a plain scan
// (60,000 Fashion-MNIST rows are 188 MB).
void knn_of_block(const ScanPlan& plan, std::size_t first, std::size_t count, Neighbours* out) {
  const Dataset& data = *plan.data;
  std::vector<Query> queries;
  std::vector<TopK> tops(count, TopK(plan.k));
  for (std::size_t i = 0; i < count; ++i) {
    const float* q = data.query_row(first + i).data();
    bool cosine = plan.metric == vec::Metric::kCosine;
    queries.push_back({q, cosine ? std::sqrt(dot_double(q, q, data.dim)) : 0});
  }
  for (std::uint32_t row : plan.rows) {
    for (std::size_t i = 0; i < count; ++i) tops[i].offer(distance_to(plan, queries[i], row), row);
  }
  for (std::size_t i = 0; i < count; ++i) (*out)[first + i] = tops[i].take_sorted_rows();
}

// ---- ground-truth cache -------------------------------------------------------------------------

constexpr char kCacheMagic[8] = {'N', 'P', 'X', 'G', 'T', '0', '0', '1'};

const char* metric_key(vec::Metric metric) {
  switch (metric) {
    case vec::Metric::kCosine:
      return "cosine";
    case vec::Metric::kL2:
      return "l2";
    case vec::Metric::kInnerProduct:
      return "ip";
  }
  return "unknown";
}

template <typename T>
bool read_pod(std::istream& in, T* value) {
  return static_cast<bool>(in.read(reinterpret_cast<char*>(value), sizeof(T)));
}
template <typename T>
void write_pod(std::ostream& out, const T& value) {
  out.write(reinterpret_cast<const char*>(&value), sizeof(T));
}

// The cached lists, or an empty result when the file is absent, short or not for this shape.
Neighbours read_cache(const std::filesystem::path& path, std::size_t queries, std::size_t k,
                      std::size_t train_count) {
  std::ifstream in(path, std::ios::binary);
  char magic[sizeof(kCacheMagic)];
  std::uint64_t stored_queries = 0;
  std::uint64_t stored_k = 0;
  if (!in.read(magic, sizeof(magic)) || std::memcmp(magic, kCacheMagic, sizeof(magic)) != 0 ||
      !read_pod(in, &stored_queries) || !read_pod(in, &stored_k) || stored_queries != queries ||
      stored_k != k) {
    return {};
  }
  Neighbours lists(queries);
  for (auto& list : lists) {
    std::uint32_t size = 0;
    if (!read_pod(in, &size) || size > k) return {};
    list.resize(size);
    if (!in.read(reinterpret_cast<char*>(list.data()), std::streamsize{size} * 4)) return {};
    for (std::uint32_t row : list) {
      if (row >= train_count) return {};
    }
  }
  return lists;
}

// Writes through a temp file and a rename so a reader never sees half a file.
void write_cache(const std::filesystem::path& path, const Neighbours& lists, std::size_t k) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(kCacheMagic, sizeof(kCacheMagic));
    write_pod(out, std::uint64_t{lists.size()});
    write_pod(out, std::uint64_t{k});
    for (const auto& list : lists) {
      write_pod(out, static_cast<std::uint32_t>(list.size()));
      out.write(reinterpret_cast<const char*>(list.data()),
                static_cast<std::streamsize>(list.size() * 4));
    }
    if (!out.flush()) return;
  }
  std::error_code error;
  std::filesystem::rename(temp, path, error);
}

// ---- random numbers that are the same everywhere ------------------------------------------------

// Uniform in [0, 1) from the top 53 bits (std::uniform_real_distribution's algorithm is left to
// the library, so it may differ between standard libraries).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Standard normal deviates by the Box-Muller transform, two per pair of uniforms.
class Gaussian {
 public:
  explicit Gaussian(std::mt19937_64& rng) : rng_(rng) {}
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = 1.0 - uniform01(rng_);  // (0, 1]: log(0) is not a number
    double u2 = uniform01(rng_);
    double radius = std::sqrt(-2.0 * std::log(u1));
    double angle = 2.0 * std::numbers::pi * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  std::mt19937_64& rng_;
  bool has_spare_ = false;
  double spare_ = 0;
};

void append_cluster_points(std::size_t count, std::size_t dim, const std::vector<float>& centers,
                           std::size_t clusters, std::mt19937_64& rng, Gaussian& gaussian,
                           std::vector<float>* out) {
  constexpr double kSigma = 0.3;  // clusters overlap a little at dim 2, are apart at dim >= 16
  out->reserve(out->size() + count * dim);
  for (std::size_t i = 0; i < count; ++i) {
    const float* center = centers.data() + (rng() % clusters) * dim;
    for (std::size_t d = 0; d < dim; ++d) {
      out->push_back(static_cast<float>(center[d] + kSigma * gaussian.next()));
    }
  }
}

}  // namespace

std::span<const float> Dataset::train_row(std::size_t i) const {
  assert(i < train_count());
  return {train.data() + i * dim, dim};
}

std::span<const float> Dataset::query_row(std::size_t i) const {
  assert(i < query_count());
  return {queries.data() + i * dim, dim};
}

Result<IdxImages> read_idx3_gz(const std::string& path, std::size_t max_rows) {
  Result<GzFile> file = open_gz(path);
  if (!file.is_ok()) return file.status();
  unsigned char header[kIdxHeaderBytes];
  if (!gz_read_exact(file->get(), header, sizeof(header))) {
    return corrupt(path, "shorter than an idx header");
  }
  std::uint32_t magic = big_endian_u32(header);
  if (magic != kIdx3Magic) {
    return corrupt(path, "not an idx3 image file (magic " + std::to_string(magic) + ")");
  }
  std::uint32_t count = big_endian_u32(header + 4);
  std::uint64_t pixels = std::uint64_t{big_endian_u32(header + 8)} * big_endian_u32(header + 12);
  if (pixels == 0 || pixels > kMaxImagePixels) {
    return corrupt(path, "image size " + std::to_string(pixels) + " pixels");
  }
  IdxImages images{.rows = std::min<std::size_t>(count, max_rows), .dim = pixels};
  // Read in blocks so a header that lies about its count fails at the end of the data instead of
  // first reserving memory for images that are not there.
  constexpr std::size_t kBlockRows = 1024;
  std::vector<unsigned char> block(kBlockRows * images.dim);
  for (std::size_t done = 0; done < images.rows; done += kBlockRows) {
    std::size_t rows = std::min(kBlockRows, images.rows - done);
    std::size_t bytes = rows * images.dim;
    if (!gz_read_exact(file->get(), block.data(), bytes)) {
      return corrupt(path, "truncated: the header promises " + std::to_string(count) +
                               " images; the data ends within images " + std::to_string(done) +
                               ".." + std::to_string(done + rows - 1));
    }
    images.pixels.insert(images.pixels.end(), block.begin(),
                         block.begin() + static_cast<std::ptrdiff_t>(bytes));
  }
  return images;
}

Result<Dataset> load_fashion_mnist(const std::string& dir, std::size_t train_max,
                                   std::size_t query_max) {
  Result<IdxImages> train = read_idx3_gz(dir + "/train-images-idx3-ubyte.gz", train_max);
  if (!train.is_ok()) return train.status();
  Result<IdxImages> queries = read_idx3_gz(dir + "/t10k-images-idx3-ubyte.gz", query_max);
  if (!queries.is_ok()) return queries.status();
  if (train->dim != queries->dim) {
    return internal_error("corrupt '" + dir + "': train images have " + std::to_string(train->dim) +
                          " pixels, test images " + std::to_string(queries->dim));
  }
  Dataset data;
  data.dim = train->dim;
  data.name = "fashion-mnist-" + std::to_string(data.dim) + "-t" + std::to_string(train->rows) +
              "-q" + std::to_string(queries->rows);
  data.train = std::move(train->pixels);
  data.queries = std::move(queries->pixels);
  return data;
}

Dataset clustered_random(std::size_t dim, std::size_t train, std::size_t queries,
                         std::size_t clusters, std::uint64_t seed) {
  clusters = std::max<std::size_t>(clusters, 1);
  std::mt19937_64 rng(seed);
  Gaussian gaussian(rng);
  std::vector<float> centers(clusters * dim);
  for (float& c : centers) c = static_cast<float>(2.0 * uniform01(rng) - 1.0);

  Dataset data;
  data.dim = dim;
  data.name = "clustered-d" + std::to_string(dim) + "-t" + std::to_string(train) + "-q" +
              std::to_string(queries) + "-c" + std::to_string(clusters) + "-s" +
              std::to_string(seed);
  append_cluster_points(train, dim, centers, clusters, rng, gaussian, &data.train);
  append_cluster_points(queries, dim, centers, clusters, rng, gaussian, &data.queries);
  return data;
}

Neighbours exact_knn(const Dataset& data, vec::Metric metric, std::size_t k,
                     std::size_t query_limit, const std::function<bool(std::size_t row)>& allowed) {
  ScanPlan plan = make_plan(data, metric, k, allowed);
  std::size_t queries = std::min(query_limit, data.query_count());
  Neighbours result(queries);

  // Blocks of queries are handed out one at a time, so a slow share never leaves a core idle at
  // the end; a block is small enough (16 x 784 floats) to stay in cache while the rows stream by.
  constexpr std::size_t kQueryBlock = 16;
  std::size_t threads =
      std::max<std::size_t>(std::min<std::size_t>(std::thread::hardware_concurrency(), queries), 1);
  std::size_t block = std::clamp<std::size_t>((queries + threads - 1) / threads, 1, kQueryBlock);
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t first = next.fetch_add(block); first < queries;
         first = next.fetch_add(block)) {
      knn_of_block(plan, first, std::min(block, queries - first), &result);
    }
  };
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
  }  // joins the pool: every list is written before `result` is moved out
  return result;
}

Neighbours exact_knn_cached(const Dataset& data, vec::Metric metric, std::size_t k,
                            std::size_t query_limit, const std::string& cache_dir) {
  std::size_t queries = std::min(query_limit, data.query_count());
  std::filesystem::path path = std::filesystem::path(cache_dir) /
                               (data.name + "-" + metric_key(metric) + "-k" + std::to_string(k) +
                                "-limit" + std::to_string(queries) + ".gt");
  Neighbours cached = read_cache(path, queries, k, data.train_count());
  if (!cached.empty() || queries == 0) return cached;

  Neighbours computed = exact_knn(data, metric, k, queries);
  std::error_code error;
  std::filesystem::create_directories(cache_dir, error);
  if (!error) write_cache(path, computed, k);
  return computed;
}

double recall_at_k(const std::vector<std::uint32_t>& truth, const std::vector<std::uint32_t>& got,
                   std::size_t k) {
  std::size_t wanted = std::min(k, truth.size());
  if (wanted == 0) return 1.0;
  auto got_end = got.begin() + static_cast<std::ptrdiff_t>(std::min(k, got.size()));
  std::size_t found = 0;
  for (std::size_t i = 0; i < wanted; ++i) {
    if (std::find(got.begin(), got_end, truth[i]) != got_end) ++found;
  }
  return static_cast<double>(found) / static_cast<double>(wanted);
}

}  // namespace neuroplex::ann
