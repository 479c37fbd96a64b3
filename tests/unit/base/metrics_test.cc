#include "base/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace neuroplex::metrics {
namespace {

TEST(MetricsRegistry, RegistrationIsIdempotent) {
  Registry registry;
  Counter& a = registry.counter("requests_total", "Requests.", {{"kind", "get"}});
  Counter& b = registry.counter("requests_total", "Requests.", {{"kind", "get"}});
  Counter& other = registry.counter("requests_total", "Requests.", {{"kind", "put"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  // The order labels are listed in does not make another series.
  Gauge& g1 = registry.gauge("open", "Open.", {{"a", "1"}, {"b", "2"}});
  Gauge& g2 = registry.gauge("open", "Open.", {{"b", "2"}, {"a", "1"}});
  EXPECT_EQ(&g1, &g2);
  Histogram& h1 = registry.histogram("lat", "Latency.", {1, 2});
  Histogram& h2 = registry.histogram("lat", "Latency.", {1, 2});
  EXPECT_EQ(&h1, &h2);
  a.add(3);
  EXPECT_EQ(b.value(), 3u);
  EXPECT_EQ(other.value(), 0u);
}

TEST(MetricsRegistry, TheProcessRegistryIsOne) {
  EXPECT_EQ(&registry(), &registry());
  EXPECT_EQ(&registry().counter("metrics_test_total", "x"),
            &registry().counter("metrics_test_total", "x"));
}

TEST(MetricsConcurrency, AddsFromSeveralThreadsSumExactly) {
  Registry registry;
  Counter& counter = registry.counter("adds_total", "Adds.");
  Gauge& gauge = registry.gauge("level", "Level.");
  Histogram& histogram = registry.histogram("obs", "Observations.", {0.25, 1});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.add();
        gauge.add(i % 2 == 0 ? 3 : -1);
        histogram.observe(0.5);  // exact in binary, so the sum is exact whatever the order
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.value(), std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(gauge.value(), std::int64_t{kThreads} * kPerThread);  // (3 - 1) per two adds
  EXPECT_EQ(histogram.count(), std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(histogram.sum(), 0.5 * kThreads * kPerThread);
  EXPECT_EQ(histogram.bucket_counts(),
            (std::vector<std::uint64_t>{0, std::uint64_t{kThreads} * kPerThread, 0}));
}

TEST(MetricsHistogram, AValueEqualToABoundFallsInThatBucket) {
  Histogram histogram({1, 2, 4});
  histogram.observe(0);
  histogram.observe(1);      // <= 1
  histogram.observe(1.001);  // (1, 2]
  histogram.observe(2);      // (1, 2]
  histogram.observe(4);      // (2, 4]
  histogram.observe(4.5);    // +Inf
  histogram.observe_many(3, 10);
  EXPECT_EQ(histogram.bucket_counts(), (std::vector<std::uint64_t>{2, 2, 11, 1}));
  EXPECT_EQ(histogram.count(), 16u);
  EXPECT_DOUBLE_EQ(histogram.sum(), 0 + 1 + 1.001 + 2 + 4 + 4.5 + 30);
}

TEST(MetricsHistogram, StandardBuckets) {
  const std::vector<double> latency = latency_buckets();
  ASSERT_EQ(latency.size(), 17u);
  EXPECT_DOUBLE_EQ(latency.front(), 50e-6);
  EXPECT_DOUBLE_EQ(latency[4], 1e-3);
  EXPECT_DOUBLE_EQ(latency.back(), 10);
  const std::vector<double> sizes = size_buckets();
  ASSERT_EQ(sizes.size(), 13u);
  EXPECT_EQ(sizes.front(), 1);
  EXPECT_EQ(sizes[1], 2);
  EXPECT_EQ(sizes.back(), 4096);
  Histogram histogram(latency);  // both are valid (ascending) bounds
  Histogram sized(sizes);
}

TEST(MetricsRender, PrometheusTextFormat) {
  Registry registry;
  registry.counter("reads_total", "Reads answered.", {{"consistency", "local"}}).add(2);
  registry.counter("reads_total", "Reads answered.", {{"consistency", "lease"}}).add(5);
  registry.gauge("subscribers", "Open watches.\nOne line per \\ watch.").set(-3);
  registry.counter("odd_total", "Odd label values.", {{"v", "a\"b\\c\nd"}}).add();
  Histogram& histogram =
      registry.histogram("commit_seconds", "Commit latency.", {0.001, 0.25, 1}, {{"node", "1"}});
  histogram.observe(0.25);
  histogram.observe(0.5);
  histogram.observe(7);
  Histogram& bare = registry.histogram("batch_ops", "Ops per batch.", {1, 2});
  bare.observe_many(2, 3);

  EXPECT_EQ(registry.render(),
            "# HELP batch_ops Ops per batch.\n"
            "# TYPE batch_ops histogram\n"
            "batch_ops_bucket{le=\"1\"} 0\n"
            "batch_ops_bucket{le=\"2\"} 3\n"
            "batch_ops_bucket{le=\"+Inf\"} 3\n"
            "batch_ops_sum 6\n"
            "batch_ops_count 3\n"
            "# HELP commit_seconds Commit latency.\n"
            "# TYPE commit_seconds histogram\n"
            "commit_seconds_bucket{node=\"1\",le=\"0.001\"} 0\n"
            "commit_seconds_bucket{node=\"1\",le=\"0.25\"} 1\n"
            "commit_seconds_bucket{node=\"1\",le=\"1\"} 2\n"
            "commit_seconds_bucket{node=\"1\",le=\"+Inf\"} 3\n"
            "commit_seconds_sum{node=\"1\"} 7.75\n"
            "commit_seconds_count{node=\"1\"} 3\n"
            "# HELP odd_total Odd label values.\n"
            "# TYPE odd_total counter\n"
            "odd_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"
            "# HELP reads_total Reads answered.\n"
            "# TYPE reads_total counter\n"
            "reads_total{consistency=\"lease\"} 5\n"
            "reads_total{consistency=\"local\"} 2\n"
            "# HELP subscribers Open watches.\\nOne line per \\\\ watch.\n"
            "# TYPE subscribers gauge\n"
            "subscribers -3\n");
}

TEST(MetricsRender, EmptyRegistryRendersNothing) { EXPECT_EQ(Registry().render(), ""); }

using MetricsDeathTest = ::testing::Test;

TEST_F(MetricsDeathTest, ProgrammingErrorsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registry registry;
  registry.counter("taken_total", "x");
  EXPECT_DEATH(registry.counter("bad-name", "x"), "invalid metric name");
  EXPECT_DEATH(registry.counter("9lives", "x"), "invalid metric name");
  EXPECT_DEATH(registry.counter("ok_total", "x", {{"bad label", "v"}}), "invalid label name");
  EXPECT_DEATH(registry.counter("ok_total", "x", {{"__name__", "v"}}), "invalid label name");
  EXPECT_DEATH(registry.counter("ok_total", "x", {{"a", "1"}, {"a", "2"}}), "duplicate label");
  EXPECT_DEATH(registry.gauge("taken_total", "x"), "another type");
  EXPECT_DEATH(registry.histogram("h", "x", {1}, {{"le", "1"}}), "reserved");
  EXPECT_DEATH(registry.histogram("h", "x", {2, 1}), "ascending");
  registry.histogram("h2", "x", {1, 2});
  EXPECT_DEATH(registry.histogram("h2", "x", {1, 3}), "other bucket bounds");
}

}  // namespace
}  // namespace neuroplex::metrics
