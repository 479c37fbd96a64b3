#include "base/metrics.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace neuroplex::metrics {
namespace {

[[noreturn]] void misuse(std::string_view what, std::string_view name) {
  std::fprintf(stderr, "neuroplex metrics: %.*s: '%.*s'\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(name.size()), name.data());
  std::fflush(stderr);
  std::abort();
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name) {
  if (name.empty() || is_digit(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_alpha(c) || is_digit(c) || c == ':'; });
}

// [a-zA-Z_][a-zA-Z0-9_]*, and not "__..." (reserved for Prometheus itself).
bool valid_label_name(std::string_view name) {
  if (name.empty() || is_digit(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_alpha(c) || is_digit(c); });
}

// Sorted by name, so that the order a caller lists labels in does not make a new series.
Labels canonical_labels(Labels labels, bool histogram) {
  std::sort(labels.begin(), labels.end());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string& name = labels[i].first;
    if (!valid_label_name(name)) misuse("invalid label name", name);
    if (histogram && name == "le") misuse("label 'le' is reserved in histograms", name);
    if (i > 0 && labels[i - 1].first == name) misuse("duplicate label", name);
  }
  return labels;
}

void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// Shortest text that reads back as the same double: "1", "0.25", "5e-05"; "+Inf", "NaN".
std::string format_double(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  (void)error;  // 32 characters hold any double
  return std::string(buffer, end);
}

// name{a="x",b="y"} or name{a="x",le="0.5"} or name; `le` is appended last when given.
void append_series(std::string& out, std::string_view name, const Labels& labels,
                   const std::string* le = nullptr) {
  out += name;
  if (labels.empty() && le == nullptr) return;
  out += '{';
  for (const auto& [label, value] : labels) {
    out += label;
    out += "=\"";
    append_escaped(out, value, /*quote=*/true);
    out += "\",";
  }
  if (le != nullptr) {
    out += "le=\"";
    out += *le;
    out += "\",";
  }
  out.back() = '}';
}

void append_sample(std::string& out, std::string_view name, const Labels& labels,
                   const std::string& value, const std::string* le = nullptr) {
  append_series(out, name, labels, le);
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

// ---- Histogram ----

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), buckets_(upper_bounds_.size() + 1) {
  for (std::size_t i = 0; i < upper_bounds_.size(); ++i) {
    if (!std::isfinite(upper_bounds_[i]) || (i > 0 && upper_bounds_[i - 1] >= upper_bounds_[i])) {
      misuse("histogram bounds must be finite and strictly ascending",
             format_double(upper_bounds_[i]));
    }
  }
}

void Histogram::observe_many(double value, std::uint64_t times) {
  // The first bound >= value; NaN compares false everywhere and so lands in +Inf, as above all.
  std::size_t bucket = upper_bounds_.size();
  if (!std::isnan(value)) {
    bucket = static_cast<std::size_t>(
        std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) -
        upper_bounds_.begin());
  }
  buckets_[bucket].fetch_add(times, std::memory_order_relaxed);
  const double added = value * static_cast<double>(times);
  std::uint64_t old_bits = sum_bits_.load(std::memory_order_relaxed);
  while (!sum_bits_.compare_exchange_weak(
      old_bits, std::bit_cast<std::uint64_t>(std::bit_cast<double>(old_bits) + added),
      std::memory_order_relaxed)) {
  }
}

std::uint64_t Histogram::count() const {
  std::uint64_t total = 0;
  for (const auto& bucket : buckets_) total += bucket.load(std::memory_order_relaxed);
  return total;
}

double Histogram::sum() const {
  return std::bit_cast<double>(sum_bits_.load(std::memory_order_relaxed));
}

std::vector<std::uint64_t> Histogram::bucket_counts() const {
  std::vector<std::uint64_t> counts;
  counts.reserve(buckets_.size());
  for (const auto& bucket : buckets_) counts.push_back(bucket.load(std::memory_order_relaxed));
  return counts;
}

// ---- Registry ----

// One metric name: its help, type and series by (canonical) labels. Only the map of its type is
// used.
struct Registry::Family {
  std::string help;
  Type type = Type::kCounter;
  std::vector<double> upper_bounds;
  std::map<Labels, std::unique_ptr<Counter>> counters;
  std::map<Labels, std::unique_ptr<Gauge>> gauges;
  std::map<Labels, std::unique_ptr<Histogram>> histograms;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::family_locked(std::string_view name, std::string_view help, Type type,
                                          const std::vector<double>& upper_bounds) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    if (!valid_metric_name(name)) misuse("invalid metric name", name);
    auto family = std::make_unique<Family>();
    family->help = help;
    family->type = type;
    family->upper_bounds = upper_bounds;
    it = families_.emplace(std::string(name), std::move(family)).first;
  }
  Family& family = *it->second;
  if (family.type != type) misuse("metric registered again as another type", name);
  if (family.upper_bounds != upper_bounds) {
    misuse("histogram registered again with other bucket bounds", name);
  }
  return family;
}

Counter& Registry::counter(std::string_view name, std::string_view help, Labels labels) {
  Labels key = canonical_labels(std::move(labels), /*histogram=*/false);
  std::lock_guard lock(mutex_);
  std::unique_ptr<Counter>& slot = family_locked(name, help, Type::kCounter, {}).counters[key];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, Labels labels) {
  Labels key = canonical_labels(std::move(labels), /*histogram=*/false);
  std::lock_guard lock(mutex_);
  std::unique_ptr<Gauge>& slot = family_locked(name, help, Type::kGauge, {}).gauges[key];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> upper_bounds, Labels labels) {
  Labels key = canonical_labels(std::move(labels), /*histogram=*/true);
  std::lock_guard lock(mutex_);
  Family& family = family_locked(name, help, Type::kHistogram, upper_bounds);
  std::unique_ptr<Histogram>& slot = family.histograms[key];
  if (!slot) slot = std::make_unique<Histogram>(std::move(upper_bounds));
  return *slot;
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) {
    out += "# HELP ";
    out += name;
    out += ' ';
    append_escaped(out, family->help, /*quote=*/false);
    out += "\n# TYPE ";
    out += name;
    switch (family->type) {
      case Type::kCounter:
        out += " counter\n";
        for (const auto& [labels, counter] : family->counters) {
          append_sample(out, name, labels, std::to_string(counter->value()));
        }
        break;
      case Type::kGauge:
        out += " gauge\n";
        for (const auto& [labels, gauge] : family->gauges) {
          append_sample(out, name, labels, std::to_string(gauge->value()));
        }
        break;
      case Type::kHistogram:
        out += " histogram\n";
        for (const auto& [labels, histogram] : family->histograms) {
          // One snapshot of the buckets, so the cumulative counts and _count agree.
          const std::vector<std::uint64_t> counts = histogram->bucket_counts();
          std::uint64_t cumulative = 0;
          for (std::size_t i = 0; i < counts.size(); ++i) {
            cumulative += counts[i];
            const std::string le = i < family->upper_bounds.size()
                                       ? format_double(family->upper_bounds[i])
                                       : std::string("+Inf");
            append_sample(out, name + "_bucket", labels, std::to_string(cumulative), &le);
          }
          append_sample(out, name + "_sum", labels, format_double(histogram->sum()));
          append_sample(out, name + "_count", labels, std::to_string(cumulative));
        }
        break;
    }
  }
  return out;
}

Registry& registry() {
  // Never destroyed: threads (the log thread, a detached server thread) may update a cached
  // reference while the process exits.
  static Registry& process_registry = *new Registry();
  return process_registry;
}

std::vector<double> latency_buckets() {
  return {50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3,
          50e-3, 100e-3, 250e-3, 500e-3, 1,    2.5,    5,    10};
}

std::vector<double> size_buckets() {
  std::vector<double> bounds;
  for (double bound = 1; bound <= 4096; bound *= 2) bounds.push_back(bound);
  return bounds;
}

}  // namespace neuroplex::metrics
