// Closed-loop load generator shared by `neuroplexctl bench` and bench/compare_etcd.sh, so that
// Neuroplex and etcd are driven by the same client code and pay the same client costs.
//
// N clients each keep exactly one request outstanding: send, wait for the reply, record the
// latency, send the next. All clients run on one kj event loop on the calling thread; a run
// blocks its caller until it is over. Request number n writes key "k<n % keys>".
//
// Transports: Neuroplex clients share Cap'n Proto connections (connections_per_endpoint per
// endpoint; RPC multiplexes calls). etcd clients each own one HTTP/1.1 connection, because
// HTTP/1.1 cannot have two requests in flight on one connection without head-of-line blocking.
//
// Thread safety: the functions are reentrant; each run owns its event loop, so a thread that
// already has a kj event loop must not call them.
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
  std::size_t keys = 1000;                   // keys are spread over this many documents
  bool progress = false;                     // a progress bar on stderr
  std::uint64_t request_timeout_ms = 10000;  // no reply by then: an error
  std::size_t connections_per_endpoint = 1;  // Neuroplex only
};

struct LoadReport {
  std::uint64_t ops = 0;     // successful, measured requests
  std::uint64_t errors = 0;  // failed, measured requests
  double seconds = 0;        // measured wall time: warmup end to the last measured reply
  double ops_per_sec = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
  std::string first_error;  // the first error's code and message, for the report
};

// Neuroplex over Cap'n Proto (Session.update with idempotent request ids). endpoints: HOST:PORT;
// clients are spread over them round-robin; a NOT_LEADER reply that names the leader moves its
// client there. Op "counter" adds 1, "register" sets a JSON string of value_size bytes, "set"
// adds one such string. UNAVAILABLE when an endpoint cannot be reached at the start.
Result<LoadReport> run_neuroplex(const std::vector<std::string>& endpoints,
                                 const LoadOptions& options);
// etcd v3 through its HTTP/JSON gateway: POST /v3/kv/put {"key": b64, "value": b64} with a
// value of value_size bytes; any status but 200 is an error. Op must be "put". Clients are
// spread over the endpoints round-robin. UNAVAILABLE when an endpoint cannot be reached.
Result<LoadReport> run_etcd_http(const std::vector<std::string>& endpoints,
                                 const LoadOptions& options);

// {"ops_per_sec":..,"p50_ms":..,"p99_ms":..,"p999_ms":..,"errors":..} plus ops and seconds.
std::string report_json(const LoadReport& report);

}  // namespace neuroplex::loadgen
