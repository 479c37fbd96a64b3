// Our HNSW index (storage/vector) beside hnswlib and FAISS, in one process, one thread, on
// Fashion-MNIST (ann-benchmarks' fashion-mnist-784-euclidean: 60,000 train vectors, 10,000
// queries, k = 10). For each engine: build time, memory (the process's RSS growth across the
// build, and the engine's own count of its bytes), then an ef sweep with recall@k against exact
// ground truth (tools/datasets), QPS over one-at-a-time queries and p50/p99 per-query latency.
// Then, for our index, filtered search at 1%, 10% and 50% selectivity.
//
//   vector_bench [--engines ours,hnswlib,faiss] [--train 60000] [--queries 10000] [--k 10]
//                [--metric l2|cosine|ip] [--m 16] [--efc 200]
//                [--ef-list 10,16,24,32,48,64,96,128,192,256,384,512]
//                [--filter-queries 1000] [--filter-ef-list 32,64,128,256]
//                [--data /usr/share/datasets/fashion-mnist] [--gt-cache /tmp/neuroplex-ann-gt]
//
// Fairness: this file is compiled with -march=native so hnswlib takes its AVX-512 kernels (it
// picks them at compile time); our index picks its kernels at run time; FAISS runs as Debian
// built it, with OpenMP limited to one thread. For cosine, hnswlib and FAISS search normalized
// copies by inner product (their documented way); ours normalizes on the way in. Memory is
// measured after malloc_trim() between engines so one engine's freed heap is not the next one's.
#include <faiss/IndexFlatCodes.h>
#include <faiss/IndexHNSW.h>
#include <hnswlib/hnswlib.h>
#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_util.h"
#include "storage/vector/distance.h"
#include "storage/vector/hnsw_index.h"
#include "tools/datasets/ann_data.h"

namespace neuroplex::bench {
namespace {

using ann::Dataset;
using ann::Neighbours;
using Rows = std::vector<std::uint32_t>;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "vector_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Config {
  std::vector<std::string> engines;
  std::size_t train = 0;
  std::size_t queries = 0;
  std::size_t k = 10;
  vec::Metric metric = vec::Metric::kL2;
  std::uint32_t m = 16;
  std::uint32_t efc = 200;
  std::vector<std::uint32_t> ef_list;
  std::size_t filter_queries = 0;
  std::vector<std::uint32_t> filter_ef_list;
  std::string data_dir;
  std::string gt_cache;
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::vector<std::uint32_t> parse_ef_list(const std::string& text) {
  std::vector<std::uint32_t> list;
  for (const std::string& part : split(text)) {
    std::uint32_t ef = 0;
    auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), ef);
    if (error != std::errc() || end != part.data() + part.size() || ef == 0) {
      die("bad ef '" + part + "'");
    }
    list.push_back(ef);
  }
  return list;
}

Config parse_config(int argc, char** argv) {
  Config config;
  config.engines = split(flag_text(argc, argv, "engines", "ours,hnswlib,faiss"));
  config.train = flag(argc, argv, "train", 60000);
  config.queries = flag(argc, argv, "queries", 10000);
  config.k = flag(argc, argv, "k", 10);
  std::string metric = flag_text(argc, argv, "metric", "l2");
  if (!vec::parse_metric(metric, &config.metric)) die("bad --metric '" + metric + "'");
  config.m = static_cast<std::uint32_t>(flag(argc, argv, "m", 16));
  config.efc = static_cast<std::uint32_t>(flag(argc, argv, "efc", 200));
  config.ef_list =
      parse_ef_list(flag_text(argc, argv, "ef-list", "10,16,24,32,48,64,96,128,192,256,384,512"));
  config.filter_queries = flag(argc, argv, "filter-queries", 1000);
  config.filter_ef_list = parse_ef_list(flag_text(argc, argv, "filter-ef-list", "32,64,128,256"));
  config.data_dir = flag_text(argc, argv, "data", ann::kFashionMnistDir);
  config.gt_cache = flag_text(argc, argv, "gt-cache", "/tmp/neuroplex-ann-gt");
  for (const std::string& engine : config.engines) {
    if (engine != "ours" && engine != "hnswlib" && engine != "faiss") {
      die("unknown engine '" + engine + "' (ours, hnswlib, faiss)");
    }
  }
  return config;
}

// Resident set size from /proc/self/statm (its second field, in pages).
double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size_pages = 0;
  std::size_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return static_cast<double>(resident_pages) * static_cast<double>(::sysconf(_SC_PAGESIZE)) /
         (1 << 20);
}

double mib(std::size_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

// ---- the engines --------------------------------------------------------------------------------

class Engine {
 public:
  virtual ~Engine() = default;
  virtual void add_all(const Dataset& data) = 0;
  virtual std::size_t own_bytes() const = 0;  // the engine's count of its index bytes
  virtual void set_ef(std::uint32_t ef) = 0;
  virtual void search(std::span<const float> query, std::size_t k, Rows* rows) = 0;
};

class OursEngine final : public Engine {
 public:
  explicit OursEngine(const vec::IndexOptions& options) {
    auto index = vec::HnswIndex::create(options);
    if (!index.is_ok()) die("create: " + index.status().to_string());
    index_ = std::move(index).value();
  }
  void add_all(const Dataset& data) override {
    for (std::size_t row = 0; row < data.train_count(); ++row) {
      Status status = index_->add(std::to_string(row), data.train_row(row), {});
      if (!status.is_ok()) die("add row " + std::to_string(row) + ": " + status.to_string());
    }
  }
  std::size_t own_bytes() const override { return index_->stats().memory_bytes; }
  void set_ef(std::uint32_t ef) override { ef_ = ef; }
  void search(std::span<const float> query, std::size_t k, Rows* rows) override {
    auto hits = index_->search(query, {.k = k, .ef = ef_});
    if (!hits.is_ok()) die("search: " + hits.status().to_string());
    rows->clear();
    for (const vec::Hit& hit : *hits) rows->push_back(row_of(hit.id));
  }

  // Ids are the decimal train row numbers add_all gave them.
  static std::uint32_t row_of(const std::string& id) {
    std::uint32_t row = 0;
    auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), row);
    if (error != std::errc() || end != id.data() + id.size()) die("foreign id '" + id + "'");
    return row;
  }

 private:
  std::unique_ptr<vec::HnswIndex> index_;
  std::uint32_t ef_ = 0;
};

class HnswlibEngine final : public Engine {
 public:
  HnswlibEngine(const Config& config, std::size_t dim, std::size_t capacity) {
    if (config.metric == vec::Metric::kL2) {
      space_ = std::make_unique<hnswlib::L2Space>(dim);
    } else {
      space_ = std::make_unique<hnswlib::InnerProductSpace>(dim);
    }
    index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), capacity, config.m,
                                                               config.efc);
  }
  void add_all(const Dataset& data) override {
    for (std::size_t row = 0; row < data.train_count(); ++row) {
      index_->addPoint(data.train_row(row).data(), row);
    }
  }
  std::size_t own_bytes() const override {
    std::size_t bytes = index_->max_elements_ * index_->size_data_per_element_;
    for (int level : index_->element_levels_) {
      bytes += static_cast<std::size_t>(level) * index_->size_links_per_element_;
    }
    return bytes;
  }
  void set_ef(std::uint32_t ef) override { index_->setEf(ef); }
  void search(std::span<const float> query, std::size_t k, Rows* rows) override {
    auto found = index_->searchKnn(query.data(), k);  // a max-heap: farthest on top
    rows->resize(found.size());
    for (auto slot = rows->rbegin(); slot != rows->rend(); ++slot, found.pop()) {
      *slot = static_cast<std::uint32_t>(found.top().second);
    }
  }

 private:
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
};

class FaissEngine final : public Engine {
 public:
  FaissEngine(const Config& config, std::size_t dim)
      : index_(static_cast<int>(dim), static_cast<int>(config.m),
               config.metric == vec::Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT) {
    index_.hnsw.efConstruction = static_cast<int>(config.efc);
  }
  void add_all(const Dataset& data) override {
    index_.add(static_cast<faiss::Index::idx_t>(data.train_count()), data.train.data());
  }
  std::size_t own_bytes() const override {
    const auto* flat = dynamic_cast<const faiss::IndexFlatCodes*>(index_.storage);
    const faiss::HNSW& hnsw = index_.hnsw;
    return (flat != nullptr ? flat->codes.size() : 0) +
           hnsw.neighbors.size() * sizeof(faiss::HNSW::storage_idx_t) +
           hnsw.offsets.size() * sizeof(std::size_t) + hnsw.levels.size() * sizeof(int);
  }
  void set_ef(std::uint32_t ef) override { index_.hnsw.efSearch = static_cast<int>(ef); }
  void search(std::span<const float> query, std::size_t k, Rows* rows) override {
    distances_.resize(k);
    labels_.resize(k);
    index_.search(1, query.data(), static_cast<faiss::Index::idx_t>(k), distances_.data(),
                  labels_.data());
    rows->clear();
    for (faiss::Index::idx_t label : labels_) {
      if (label >= 0) rows->push_back(static_cast<std::uint32_t>(label));  // -1: fewer than k
    }
  }

 private:
  faiss::IndexHNSWFlat index_;
  std::vector<float> distances_;
  std::vector<faiss::Index::idx_t> labels_;
};

// ---- measuring ----------------------------------------------------------------------------------

struct Point {
  std::uint32_t ef = 0;
  double recall = 0;
  double qps = 0;
  double p50_us = 0;
  double p99_us = 0;
};

struct EngineReport {
  std::string name;
  double build_s = 0;
  double rss_mib = 0;
  double own_mib = 0;
  std::vector<Point> sweep;
};

// Runs every query once, one at a time, and scores the answers against `truth`.
template <typename SearchFn>
Point measure(std::size_t queries, const Neighbours& truth, std::size_t k, SearchFn&& search) {
  Latencies latencies;
  Rows rows;
  double recall_sum = 0;
  auto start = Clock::now();
  for (std::size_t q = 0; q < queries; ++q) {
    auto query_start = Clock::now();
    search(q, &rows);
    latencies.add(Clock::now() - query_start);
    recall_sum += ann::recall_at_k(truth[q], rows, k);
  }
  double seconds = seconds_since(start);
  return Point{.recall = recall_sum / static_cast<double>(queries),
               .qps = static_cast<double>(queries) / seconds,
               .p50_us = latencies.percentile(0.50),
               .p99_us = latencies.percentile(0.99)};
}

std::unique_ptr<Engine> make_engine(const std::string& name, const Config& config,
                                    const Dataset& data) {
  if (name == "ours") {
    return std::make_unique<OursEngine>(
        vec::IndexOptions{.dim = static_cast<std::uint32_t>(data.dim),
                          .metric = config.metric,
                          .m = config.m,
                          .ef_construction = config.efc});
  }
  if (name == "hnswlib") {
    return std::make_unique<HnswlibEngine>(config, data.dim, data.train_count());
  }
  return std::make_unique<FaissEngine>(config, data.dim);
}

void print_sweep_header(const std::string& engine) {
  std::printf("\n%s\n  %6s %10s %10s %10s %10s\n", engine.c_str(), "ef", "recall", "qps", "p50_us",
              "p99_us");
}

void print_point(const std::string& engine, const Point& point) {
  std::printf("  %6u %10.4f %10.0f %10.1f %10.1f\n", point.ef, point.recall, point.qps,
              point.p50_us, point.p99_us);
  std::printf("SWEEP engine=%s ef=%u recall=%.4f qps=%.0f p50_us=%.1f p99_us=%.1f\n",
              engine.c_str(), point.ef, point.recall, point.qps, point.p50_us, point.p99_us);
}

// `raw` feeds our index; `fed` (normalized for cosine) feeds hnswlib and FAISS.
EngineReport run_engine(const std::string& name, const Config& config, const Dataset& raw,
                        const Dataset& fed, const Neighbours& truth) {
  const Dataset& data = name == "ours" ? raw : fed;
  EngineReport report{.name = name};
  ::malloc_trim(0);
  double rss_before = rss_mib();
  auto start = Clock::now();
  std::unique_ptr<Engine> engine = make_engine(name, config, data);
  engine->add_all(data);
  report.build_s = seconds_since(start);
  report.rss_mib = rss_mib() - rss_before;
  report.own_mib = mib(engine->own_bytes());
  std::printf("\n%s: build %.1f s, rss +%.1f MiB, own %.1f MiB\n", name.c_str(), report.build_s,
              report.rss_mib, report.own_mib);
  std::fflush(stdout);

  print_sweep_header(name);
  for (std::uint32_t ef : config.ef_list) {
    engine->set_ef(ef);
    Point point = measure(truth.size(), truth, config.k, [&](std::size_t q, Rows* rows) {
      engine->search(data.query_row(q), config.k, rows);
    });
    point.ef = ef;
    print_point(name, point);
    std::fflush(stdout);
    report.sweep.push_back(point);
  }
  return report;
}

// The highest QPS among ef settings reaching `recall`, or nothing.
std::optional<Point> best_at(const EngineReport& report, double recall) {
  std::optional<Point> best;
  for (const Point& point : report.sweep) {
    if (point.recall >= recall && (!best || point.qps > best->qps)) best = point;
  }
  return best;
}

constexpr double kRecallTargets[] = {0.90, 0.95, 0.99};

void print_summary(const Config& config, const std::vector<EngineReport>& reports) {
  std::printf("\nsummary (k=%zu, metric=%s; qps@R: highest QPS with recall >= R, its ef)\n",
              config.k, std::string(vec::metric_name(config.metric)).c_str());
  std::printf("  %-8s %8s %9s %9s %16s %16s %16s\n", "engine", "build_s", "rss_mib", "own_mib",
              "qps@0.90", "qps@0.95", "qps@0.99");
  for (const EngineReport& report : reports) {
    std::printf("  %-8s %8.1f %9.1f %9.1f", report.name.c_str(), report.build_s, report.rss_mib,
                report.own_mib);
    for (double target : kRecallTargets) {
      std::optional<Point> best = best_at(report, target);
      char cell[32] = "n/a";
      if (best) std::snprintf(cell, sizeof(cell), "%.0f (ef %u)", best->qps, best->ef);
      std::printf(" %16s", cell);
    }
    std::printf("\n");
  }
  for (const EngineReport& report : reports) {
    for (double target : kRecallTargets) {
      std::optional<Point> best = best_at(report, target);
      std::printf("RESULT engine=%s metric=%s k=%zu recall=%.2f", report.name.c_str(),
                  std::string(vec::metric_name(config.metric)).c_str(), config.k, target);
      if (best) {
        std::printf(" qps=%.0f ef=%u achieved=%.4f", best->qps, best->ef, best->recall);
      } else {
        std::printf(" qps=n/a ef=n/a");
      }
      std::printf(" build_s=%.1f rss_mib=%.1f own_mib=%.1f\n", report.build_s, report.rss_mib,
                  report.own_mib);
    }
  }
}

// ---- filtered search (ours) ---------------------------------------------------------------------

// Deterministic subsets of the train rows: "p1=1" on every 100th row, "p10=1" on every 10th,
// "p50=1" on every other. Train order in Fashion-MNIST is unrelated to the images, so each subset
// is a uniform sample.
struct Selectivity {
  const char* term;
  std::size_t every;
};
constexpr Selectivity kSelectivities[] = {{"p1=1", 100}, {"p10=1", 10}, {"p50=1", 2}};

vec::Terms terms_of(std::size_t row) {
  vec::Terms terms;
  for (const Selectivity& s : kSelectivities) {
    if (row % s.every == 0) terms.emplace_back(s.term);
  }
  return terms;
}

std::unique_ptr<vec::HnswIndex> build_filtered(const Config& config, const Dataset& data) {
  auto index = vec::HnswIndex::create({.dim = static_cast<std::uint32_t>(data.dim),
                                       .metric = config.metric,
                                       .m = config.m,
                                       .ef_construction = config.efc});
  if (!index.is_ok()) die("create: " + index.status().to_string());
  auto start = Clock::now();
  for (std::size_t row = 0; row < data.train_count(); ++row) {
    Status status = (*index)->add(std::to_string(row), data.train_row(row), terms_of(row));
    if (!status.is_ok()) die("add row " + std::to_string(row) + ": " + status.to_string());
  }
  std::printf("\nfiltered (ours): build with terms %.1f s, %zu queries per setting\n",
              seconds_since(start), std::min(config.filter_queries, data.query_count()));
  return std::move(index).value();
}

void run_filtered_setting(const Config& config, const Dataset& data, const vec::HnswIndex& index,
                          const Selectivity& selectivity, const Neighbours& truth,
                          std::uint32_t ef) {
  std::size_t exact_plans = 0;
  std::size_t distances = 0;
  vec::SearchParams params{.k = config.k, .ef = ef, .filter = {selectivity.term}};
  Point point = measure(truth.size(), truth, config.k, [&](std::size_t q, Rows* rows) {
    vec::SearchStats stats;
    auto hits = index.search(data.query_row(q), params, &stats);
    if (!hits.is_ok()) die("filtered search: " + hits.status().to_string());
    rows->clear();
    for (const vec::Hit& hit : *hits) rows->push_back(OursEngine::row_of(hit.id));
    exact_plans += stats.exact ? 1 : 0;
    distances += stats.distances;
  });
  double queries = static_cast<double>(truth.size());
  std::string plan = exact_plans == 0 ? "graph" : exact_plans == truth.size() ? "exact" : "mixed";
  std::printf("  %8s %6u %10.4f %10.0f %10.1f %10.1f %7s %12.0f\n", selectivity.term, ef,
              point.recall, point.qps, point.p50_us, point.p99_us, plan.c_str(),
              static_cast<double>(distances) / queries);
  std::printf(
      "FILTER engine=ours filter=%s selectivity=%.2f ef=%u recall=%.4f qps=%.0f p50_us=%.1f "
      "p99_us=%.1f plan=%s exact_share=%.3f distances_per_query=%.0f\n",
      selectivity.term, 1.0 / static_cast<double>(selectivity.every), ef, point.recall, point.qps,
      point.p50_us, point.p99_us, plan.c_str(), static_cast<double>(exact_plans) / queries,
      static_cast<double>(distances) / queries);
  std::fflush(stdout);
}

void run_filtered(const Config& config, const Dataset& data) {
  std::size_t queries = std::min(config.filter_queries, data.query_count());
  if (queries == 0) return;
  std::unique_ptr<vec::HnswIndex> index = build_filtered(config, data);
  std::printf("  %8s %6s %10s %10s %10s %10s %7s %12s\n", "filter", "ef", "recall", "qps", "p50_us",
              "p99_us", "plan", "distances/q");
  for (const Selectivity& selectivity : kSelectivities) {
    Neighbours truth = ann::exact_knn(data, config.metric, config.k, queries, [&](std::size_t row) {
      return row % selectivity.every == 0;
    });
    for (std::uint32_t ef : config.filter_ef_list) {
      run_filtered_setting(config, data, *index, selectivity, truth, ef);
    }
  }
}

// ---- main ---------------------------------------------------------------------------------------

Dataset normalized_copy(const Dataset& data) {
  Dataset copy = data;
  for (std::vector<float>* rows : {&copy.train, &copy.queries}) {
    for (std::size_t at = 0; at < rows->size(); at += copy.dim) {
      vec::normalize(std::span<float>(rows->data() + at, copy.dim));  // zero rows stay zero
    }
  }
  return copy;
}

int run(int argc, char** argv) {
  Config config = parse_config(argc, argv);
  omp_set_num_threads(1);  // FAISS parallelizes add and search with OpenMP; this is one thread

  auto start = Clock::now();
  Result<Dataset> loaded = ann::load_fashion_mnist(config.data_dir, config.train, config.queries);
  if (!loaded.is_ok()) die(loaded.status().to_string());
  const Dataset& data = *loaded;
  std::printf("dataset %s: dim=%zu train=%zu queries=%zu k=%zu metric=%s m=%u efc=%u (%.1f s)\n",
              data.name.c_str(), data.dim, data.train_count(), data.query_count(), config.k,
              std::string(vec::metric_name(config.metric)).c_str(), config.m, config.efc,
              seconds_since(start));
#ifdef __AVX512F__
  const char* hnswlib_simd = "avx512";
#else
  const char* hnswlib_simd = "avx or less";
#endif
  std::printf("kernels: ours=%s (run time) hnswlib=%s (compile time) faiss omp_threads=%d\n",
              std::string(vec::simd_level()).c_str(), hnswlib_simd, omp_get_max_threads());

  start = Clock::now();
  Neighbours truth =
      ann::exact_knn_cached(data, config.metric, config.k, data.query_count(), config.gt_cache);
  std::printf("ground truth: %.1f s (cache %s)\n", seconds_since(start), config.gt_cache.c_str());
  std::fflush(stdout);

  std::optional<Dataset> normalized;
  if (config.metric == vec::Metric::kCosine) normalized = normalized_copy(data);
  const Dataset& fed = normalized ? *normalized : data;

  std::vector<EngineReport> reports;
  for (const std::string& engine : config.engines) {
    reports.push_back(run_engine(engine, config, data, fed, truth));
  }
  print_summary(config, reports);
  if (std::find(config.engines.begin(), config.engines.end(), "ours") != config.engines.end()) {
    run_filtered(config, data);
  }
  return 0;
}

}  // namespace
}  // namespace neuroplex::bench

int main(int argc, char** argv) { return neuroplex::bench::run(argc, argv); }
