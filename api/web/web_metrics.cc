#include "api/web/web_metrics.h"

#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "api/web/json_protocol.h"

namespace neuroplex::web {

void count_request(std::string_view api, std::string_view op, ErrorCode result) {
  using Key = std::tuple<std::string_view, std::string_view, ErrorCode>;
  thread_local std::map<Key, metrics::Counter*> cache;
  const std::string_view name = operation_name(op);
  metrics::Counter*& counter = cache[{api, name, result}];
  if (counter == nullptr) {
    counter = &metrics::registry().counter("neuroplex_requests_total",
                                           "Requests answered, by API, operation and result",
                                           {{"api", std::string(api)},
                                            {"op", std::string(name)},
                                            {"result", std::string(error_code_name(result))}});
  }
  counter->add();
}

void observe_latency(std::string_view api, std::string_view op,
                     std::chrono::steady_clock::time_point start) {
  thread_local std::map<std::pair<std::string_view, std::string_view>, metrics::Histogram*> cache;
  const std::string_view name = operation_name(op);
  metrics::Histogram*& histogram = cache[{api, name}];
  if (histogram == nullptr) {
    histogram = &metrics::registry().histogram(
        "neuroplex_request_seconds", "Time from a request's arrival to its reply",
        metrics::latency_buckets(), {{"api", std::string(api)}, {"op", std::string(name)}});
  }
  histogram->observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

metrics::Gauge& open_connections() {
  static metrics::Gauge& gauge = metrics::registry().gauge(
      "neuroplex_connections", "Open client connections", {{"api", "ws"}});
  return gauge;
}

metrics::Gauge& watch_subscribers() {
  static metrics::Gauge& gauge = metrics::registry().gauge(
      "neuroplex_watches", "Watches open on client connections", {{"api", "ws"}});
  return gauge;
}

metrics::Counter& dropped_subscribers() {
  static metrics::Counter& counter = metrics::registry().counter(
      "neuroplex_watch_overflows_total",
      "Watches ended because their subscriber fell behind (slow consumers dropped)",
      {{"api", "ws"}});
  return counter;
}

}  // namespace neuroplex::web
