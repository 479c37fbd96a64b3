// The closed-loop driver behind run_neuroplex and run_etcd_http: the part of the load generator
// that does not depend on the system under load, so both systems are timed the same way.
//
// Each of options.clients loops keeps exactly one request outstanding: issue, wait for the
// outcome, record the latency, issue the next. Requests that start in the first
// options.warmup_seconds are not measured. A request that fails (error reply, broken
// connection, no reply within options.request_timeout_ms) counts as an error and its client
// pauses kErrorBackoff before the next one, so a dead server is not spun against.
//
// Thread safety: everything runs on the calling thread's kj event loop; a Target is used only
// from that loop.
#pragma once

#include <kj/async-io.h>
#include <kj/function.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"
#include "tools/loadgen/loadgen.h"

namespace neuroplex::loadgen {

// What one request ended with when the system answered.
struct Outcome {
  bool ok = true;
  std::string error;  // "CODE: message" when !ok
};

// One system under load.
class Target {
 public:
  virtual ~Target() noexcept(false) = default;  // kj::Own members may throw on destruction
  // Sends request number `n` (0, 1, ... counted over all clients) on behalf of `client` and
  // resolves with the answer. Rejects when there is no answer (broken connection).
  virtual kj::Promise<Outcome> issue(std::size_t client, std::uint64_t n) = 0;
  // The client's last request was rejected or timed out (and so cancelled): drop any connection
  // state it may have left half-used, so the next issue() starts clean.
  virtual void reset(std::size_t client) = 0;
};

// Runs the closed loops against `target` on io's event loop until options.ops measured requests
// were issued (or options.seconds passed when > 0), then waits for the outstanding ones.
LoadReport run_closed_loop(kj::AsyncIoContext& io, Target& target, const LoadOptions& options);

// The value bytes both systems write: letters and digits without long runs, so that neither
// side gains from compressing them. The same for every call with the same size.
std::string payload(std::size_t size_bytes);

// Checks the options both systems share; INVALID_ARGUMENT names the first bad one.
Status check_options(const std::vector<std::string>& endpoints, const LoadOptions& options);

// Sets up a kj event loop on this thread and runs `body` on it. A kj exception that escapes
// (e.g. connection refused while connecting) becomes UNAVAILABLE.
Result<LoadReport> on_event_loop(kj::Function<Result<LoadReport>(kj::AsyncIoContext&)> body);

}  // namespace neuroplex::loadgen
