// vector_e2e_bench: memory.search end to end over Cap'n Proto against a running neuroplexd,
// beside the same index searched in process — the "end-to-end >= 70% of in-process".
//
// Loads Fashion-MNIST (60k train, 10k queries, L2) into a collection through the client
// library (pipelined memory.put: the replicated insert rate is printed too), builds the same
// index in this process with the same options, then runs every query:
//   in-process   HnswIndex::search on one thread
//   end-to-end   Client::search_async with W requests in flight (one client, one connection)
// and prints QPS, p50/p99 latency and recall@k against brute force for each.
//
// Run:  bench/vector_compare.sh   (starts a Release node), or by hand:
//   build/release/bench/vector_e2e_bench --endpoint 127.0.0.1:7400 [--train 60000]
//       [--queries 10000] [--ef 16] [--k 10] [--windows 1,4,16] [--consistency linearizable]
#include <kj/vector.h>

#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/client/client.h"
#include "bench/bench_util.h"
#include "storage/vector/hnsw_index.h"
#include "tools/datasets/ann_data.h"

namespace neuroplex::bench {
namespace {

struct Run {
  double qps = 0;
  double p50_us = 0;
  double p99_us = 0;
  double recall = 0;
};

std::vector<std::size_t> parse_list(const std::string& text) {
  std::vector<std::size_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoul(item));
  return out;
}

std::vector<std::uint32_t> rows_of(const std::vector<std::string>& ids) {
  std::vector<std::uint32_t> rows;
  for (const std::string& id : ids) rows.push_back(static_cast<std::uint32_t>(std::stoul(id)));
  return rows;
}

int load(client::Client& client, const ann::Dataset& data, const std::string& collection) {
  (void)client.drop_collection(collection);  // from an earlier run, if any
  auto created = client.create_collection(collection, static_cast<std::uint32_t>(data.dim), "l2");
  if (!created.is_ok()) {
    std::fprintf(stderr, "collection.create: %s\n", created.status().to_string().c_str());
    return 1;
  }
  const auto start = Clock::now();
  constexpr std::size_t kWindow = 64;
  for (std::size_t first = 0; first < data.train_count(); first += kWindow) {
    kj::Vector<kj::Promise<Result<client::PutResult>>> pending;
    for (std::size_t i = first; i < std::min(first + kWindow, data.train_count()); ++i) {
      auto row = data.train_row(i);
      client::MemoryInput input{std::to_string(i), {row.begin(), row.end()}, "", "", 0};
      pending.add(client.put_memory_async(collection, input));
    }
    for (auto& result : kj::joinPromises(pending.releaseAsArray()).wait(client.wait_scope())) {
      if (!result.is_ok()) {
        std::fprintf(stderr, "memory.put: %s\n", result.status().to_string().c_str());
        return 1;
      }
    }
  }
  const double seconds = seconds_since(start);
  std::printf("vector_e2e_bench: load puts=%zu seconds=%.1f puts_per_s=%.0f\n", data.train_count(),
              seconds, static_cast<double>(data.train_count()) / seconds);
  return 0;
}

Run in_process(const ann::Dataset& data, const ann::Neighbours& truth, std::size_t k,
               std::uint32_t ef) {
  vec::IndexOptions options{.dim = static_cast<std::uint32_t>(data.dim),
                            .metric = vec::Metric::kL2};
  auto index = vec::HnswIndex::create(options);
  for (std::size_t i = 0; i < data.train_count(); ++i) {
    (void)index.value()->add(std::to_string(i), data.train_row(i), {});
  }
  Latencies latencies;
  double recall = 0;
  const auto start = Clock::now();
  for (std::size_t q = 0; q < truth.size(); ++q) {
    const auto t0 = Clock::now();
    auto hits = index.value()->search(data.query_row(q), {.k = k, .ef = ef});
    latencies.add(Clock::now() - t0);
    std::vector<std::string> ids;
    for (const auto& hit : hits.value()) ids.push_back(hit.id);
    recall += ann::recall_at_k(truth[q], rows_of(ids), k);
  }
  const double seconds = seconds_since(start);
  return {static_cast<double>(truth.size()) / seconds, latencies.percentile(0.5),
          latencies.percentile(0.99), recall / static_cast<double>(truth.size())};
}

// `window` lanes, each running its share of the queries one after another.
Run end_to_end(client::Client& client, const ann::Dataset& data, const ann::Neighbours& truth,
               const std::string& collection, std::size_t k, std::uint32_t ef, std::size_t window,
               client::Consistency consistency) {
  Latencies latencies;
  double recall = 0;
  std::size_t errors = 0;
  struct Lane {
    static kj::Promise<void> next(client::Client& c, const ann::Dataset& d,
                                  const ann::Neighbours& t, const std::string& coll,
                                  client::SearchQuery query, std::size_t q, std::size_t step,
                                  Latencies& lat, double& rec, std::size_t& err) {
      if (q >= t.size()) return kj::READY_NOW;
      auto row = d.query_row(q);
      query.vector.assign(row.begin(), row.end());
      const auto t0 = Clock::now();
      return c.search_async(coll, query).then([&, query, q, step, t0](auto result) mutable {
        lat.add(Clock::now() - t0);
        if (!result.is_ok()) {
          if (err++ == 0) std::fprintf(stderr, "search: %s\n", result.status().to_string().c_str());
        } else {
          std::vector<std::string> ids;
          for (const auto& hit : result->hits) ids.push_back(hit.id);
          rec += ann::recall_at_k(t[q], rows_of(ids), query.k);
        }
        return next(c, d, t, coll, std::move(query), q + step, step, lat, rec, err);
      });
    }
  };
  client::SearchQuery query{{}, static_cast<std::uint32_t>(k), "", ef, consistency};
  const auto start = Clock::now();
  kj::Vector<kj::Promise<void>> lanes;
  for (std::size_t lane = 0; lane < window; ++lane) {
    lanes.add(Lane::next(client, data, truth, collection, query, lane, window, latencies, recall,
                         errors));
  }
  kj::joinPromises(lanes.releaseAsArray()).wait(client.wait_scope());
  const double seconds = seconds_since(start);
  if (errors > 0) std::fprintf(stderr, "%zu searches failed\n", errors);
  return {static_cast<double>(truth.size()) / seconds, latencies.percentile(0.5),
          latencies.percentile(0.99), recall / static_cast<double>(truth.size())};
}

void print(const char* mode, std::size_t window, const Run& run, double reference_qps) {
  std::printf(
      "vector_e2e_bench: mode=%s window=%zu qps=%.0f p50_us=%.1f p99_us=%.1f recall=%.4f "
      "of_in_process=%.0f%%\n",
      mode, window, run.qps, run.p50_us, run.p99_us, run.recall, 100.0 * run.qps / reference_qps);
}

int main_impl(int argc, char** argv) {
  const std::string endpoint = flag_text(argc, argv, "endpoint", "127.0.0.1:7400");
  const std::size_t train = flag(argc, argv, "train", 60000);
  const std::size_t queries = flag(argc, argv, "queries", 10000);
  const std::size_t k = flag(argc, argv, "k", 10);
  const auto ef = static_cast<std::uint32_t>(flag(argc, argv, "ef", 16));
  const std::vector<std::size_t> windows = parse_list(flag_text(argc, argv, "windows", "1,4,16"));
  const std::string consistency_name = flag_text(argc, argv, "consistency", "linearizable");
  const client::Consistency consistency = consistency_name == "local" ? client::Consistency::kLocal
                                          : consistency_name == "lease"
                                              ? client::Consistency::kLease
                                              : client::Consistency::kLinearizable;
  const std::string collection = "e2e-bench";

  auto data = ann::load_fashion_mnist(ann::kFashionMnistDir, train, queries);
  if (!data.is_ok()) {
    std::fprintf(stderr, "%s\n", data.status().to_string().c_str());
    return 1;
  }
  const ann::Neighbours truth =
      ann::exact_knn_cached(*data, vec::Metric::kL2, k, queries, "/tmp/neuroplex-ann-gt");
  client::ClientOptions options;
  options.endpoints = {endpoint};
  auto client = client::Client::connect(options);
  if (!client.is_ok()) {
    std::fprintf(stderr, "connect: %s\n", client.status().to_string().c_str());
    return 1;
  }
  if (load(**client, *data, collection) != 0) return 1;
  const Run reference = in_process(*data, truth, k, ef);
  std::printf("vector_e2e_bench: train=%zu queries=%zu k=%zu ef=%u consistency=%s\n", train,
              queries, k, ef, consistency_name.c_str());
  print("in-process", 1, reference, reference.qps);
  for (std::size_t window : windows) {
    print("end-to-end", window,
          end_to_end(**client, *data, truth, collection, k, ef, window, consistency),
          reference.qps);
  }
  (void)(*client)->drop_collection(collection);
  return 0;
}

}  // namespace
}  // namespace neuroplex::bench

int main(int argc, char** argv) { return neuroplex::bench::main_impl(argc, argv); }
