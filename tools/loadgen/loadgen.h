// Closed-loop load generator shared by `neuroplexctl bench` and bench/compare_etcd.sh, so that
// Neuroplex and etcd are driven by the same client code and pay the same client costs.
//
// N clients each keep exactly one request outstanding: send, wait for the reply, record the
// latency, send the next. All clients run on one kj event loop on the calling thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace neuroplex::loadgen {

struct LoadOptions {
  std::size_t clients = 16;
  std::uint64_t ops = 10000;  // total over all clients (ignored when seconds > 0)
  double seconds = 0;         // > 0: run for this long instead of a fixed number of ops
  double warmup_seconds = 0;  // requests in the first warmup_seconds are not measured
  std::size_t value_size = 256;
  std::string op = "register";  // neuroplex: counter | register | set; etcd: put
  std::string ns = "bench";
  std::size_t keys = 1000;  // keys are spread over this many documents
  bool progress = false;    // a progress bar on stderr
};

struct LoadReport {
  std::uint64_t ops = 0;  // successful, measured requests
  std::uint64_t errors = 0;
  double seconds = 0;  // measured wall time
  double ops_per_sec = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
  std::string first_error;  // the first error's code and message, for the report
};

// Neuroplex over Cap'n Proto (Session.update with idempotent request ids). endpoints: HOST:PORT;
// clients are spread over them round-robin.
Result<LoadReport> run_neuroplex(const std::vector<std::string>& endpoints,
                                 const LoadOptions& options);
// etcd v3 through its HTTP/JSON gateway: POST /v3/kv/put {"key": b64, "value": b64}.
Result<LoadReport> run_etcd_http(const std::vector<std::string>& endpoints,
                                 const LoadOptions& options);

// {"ops_per_sec":..,"p50_ms":..,"p99_ms":..,"p999_ms":..,"errors":..} plus ops and seconds.
std::string report_json(const LoadReport& report);

}  // namespace neuroplex::loadgen
