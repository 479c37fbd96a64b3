// Metrics: counters, gauges and histograms, and their Prometheus text exposition (format 0.0.4)
// for a /metrics page.
//
// Use: look a metric up once, keep the reference, update it on the hot path:
//
//   static metrics::Counter& applied =
//       metrics::registry().counter("neuroplex_applied_ops_total", "Client operations applied.");
//   applied.add(ops);
//
// Thread safety: every method may be called from any thread. Updates (add, set, observe) are
// lock-free relaxed atomics — a few nanoseconds, no ordering with anything else; a scrape may see
// one metric's update before another's. Registration and render() take the registry's mutex.
//
// Lifecycle: a Registry owns its metrics; the references it hands out stay valid for its
// lifetime. registry() is the process's registry and is never destroyed, so threads still running
// at exit may keep updating. Tests build their own Registry.
//
// Programming errors — a name or label name outside the Prometheus charset, a duplicate label,
// the same name registered as two types or with two bucket layouts, unsorted bucket bounds —
// print what was wrong and abort (like a failed assert, in every build type).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace neuroplex::metrics {

// Label name/value pairs. Their order does not matter: {a, b} and {b, a} name the same series.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A count that only goes up (Prometheus "counter"; by convention its name ends in _total).
class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down (Prometheus "gauge").
class Gauge {
 public:
  void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Observations counted into buckets by upper bound (a value equal to a bound falls in that
// bucket; above the last bound: the implicit +Inf bucket), plus their sum and count.
class Histogram {
 public:
  // upper_bounds: finite and strictly ascending (may be empty: only +Inf).
  explicit Histogram(std::vector<double> upper_bounds);

  void observe(double value) { observe_many(value, 1); }
  // `times` observations of the same value at the cost of one: e.g. the commit latency of every
  // write one Raft entry carried.
  void observe_many(double value, std::uint64_t times);

  std::uint64_t count() const;  // the sum of bucket_counts(), so it always matches +Inf
  double sum() const;
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Per bucket, NOT cumulative: [i] counts values in (bound[i-1], bound[i]]; the last element is
  // the +Inf bucket (upper_bounds().size() + 1 elements).
  std::vector<std::uint64_t> bucket_counts() const;

 private:
  const std::vector<double> upper_bounds_;
  std::vector<std::atomic<std::uint64_t>> buckets_;  // upper_bounds_.size() + 1
  // The sum is a double kept as its bit pattern, added by compare-exchange: exact for any
  // magnitude and unit (seconds and op counts share the type, which a fixed-point integer could
  // not serve without a per-histogram scale), lock-free, and uncontended in practice since each
  // histogram is fed by one thread (the core or the log thread).
  std::atomic<std::uint64_t> sum_bits_{0};
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registration is idempotent: the same name and labels return the same object (the first
  // registration's help text is kept). References stay valid for the registry's lifetime.
  Counter& counter(std::string_view name, std::string_view help, Labels labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, Labels labels = {});
  // Every series of one histogram name must use the same upper bounds. The label "le" is
  // reserved for the buckets.
  Histogram& histogram(std::string_view name, std::string_view help,
                       std::vector<double> upper_bounds, Labels labels = {});

  // Prometheus text format 0.0.4, families by name, series by sorted labels: one "# HELP" and
  // "# TYPE" line per family; label values escaped (\\, \", \n); histograms as cumulative
  // name_bucket{le="..."} lines ending with le="+Inf", then name_sum and name_count.
  std::string render() const;

 private:
  enum class Type : std::uint8_t { kCounter, kGauge, kHistogram };
  struct Family;
  // The family `name`, created on first use; checks the name and that type (and bounds) agree.
  Family& family_locked(std::string_view name, std::string_view help, Type type,
                        const std::vector<double>& upper_bounds);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;  // guarded by mutex_
};

// The process's registry (created on first use, never destroyed).
Registry& registry();

// Seconds: 50us, 100us, 250us, 500us, 1ms, 2.5ms, 5ms, 10ms, 25ms, 50ms, 100ms, 250ms, 500ms,
// 1s, 2.5s, 5s, 10s.
std::vector<double> latency_buckets();
// Counts: 1, 2, 4, ... 4096.
std::vector<double> size_buckets();

}  // namespace neuroplex::metrics
