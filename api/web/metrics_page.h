// The /metrics page: the node's Raft status as gauges, then every metric in the process's
// registry (base/metrics.h), in Prometheus text format 0.0.4. Thread safety: pure function over
// its arguments and the (thread-safe) registry.
#pragma once

#include <string>

#include "node/core.h"

namespace neuroplex::web {

// Media type of the page.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string render_metrics(const node::NodeStatus& status);

}  // namespace neuroplex::web
