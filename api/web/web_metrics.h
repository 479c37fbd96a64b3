// The client-facing metrics (base/metrics.h), registered once and cached: requests by API,
// operation and result (the Cap'n Proto session counts through here too), request latency, open
// connections, watch subscribers and dropped slow consumers. Thread safety: any thread (the metrics
// are atomics; each thread caches its own lookups).
#pragma once

#include <chrono>
#include <string_view>

#include "base/metrics.h"
#include "base/status.h"

namespace neuroplex::web {

// neuroplex_requests_total{api,op,result} for api "ws" or "capnp"; an op outside the operation
// table counts as "unknown", so a client cannot grow the registry by inventing names.
void count_request(std::string_view api, std::string_view op, ErrorCode result);
// neuroplex_request_seconds{api,op}: from a request's arrival to its reply.
void observe_latency(std::string_view api, std::string_view op,
                     std::chrono::steady_clock::time_point start);
metrics::Gauge& open_connections();       // neuroplex_connections{api="ws"}
metrics::Gauge& watch_subscribers();      // neuroplex_watches{api="ws"}
metrics::Counter& dropped_subscribers();  // neuroplex_watch_overflows_total{api="ws"}

}  // namespace neuroplex::web
