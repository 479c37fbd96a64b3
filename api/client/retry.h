// The client's retry policy as pure functions: which failures are retried and how, and the
// jittered exponential backoff between attempts.
//
//   - a reply with NOT_LEADER naming the leader: reconnect there and retry at once (follow_leader);
//   - UNAVAILABLE, NOT_LEADER without an address, or a broken connection: back off, then retry
//     on the next endpoint of the rotation;
//   - RATE_LIMITED: back off, then retry on the same node;
//   - everything else (INVALID_ARGUMENT, NOT_FOUND, TYPE_MISMATCH, TOO_LARGE, INTERNAL, ...) is the
//     answer and goes back to the caller.
// Retrying a write is safe because it reuses its RequestId (client.h).
//
// Thread safety: value types; no shared state.
#pragma once

#include <chrono>
#include <cstdint>

#include "base/status.h"

namespace neuroplex::client {

enum class RetryAction {
  kReturn,          // give the status to the caller
  kFollowLeader,    // reconnect to the named leader, retry without waiting
  kRetryElsewhere,  // back off, mark the node failed (rotate endpoints), retry
  kRetrySame,       // back off, retry on the same node
};

// A reply that carried an error. `has_leader_address`: NOT_LEADER named the leader.
RetryAction classify_reply(ErrorCode code, bool has_leader_address, bool follow_leader);

// How a call failed below the reply level.
enum class TransportFailure {
  kConnect,       // the connection could not be made (refused, unreachable, bad address)
  kDisconnected,  // the connection broke during the call (kj DISCONNECTED)
  kOverloaded,    // kj OVERLOADED: the attempt timed out or a resource ran out
  kFailed,        // kj FAILED / UNIMPLEMENTED on an established connection: a server bug
};

RetryAction classify_transport(TransportFailure failure);

// The status a transport failure reports when it is not retried (or the retries run out).
ErrorCode transport_error_code(TransportFailure failure);

// Exponential backoff with "equal jitter": the n-th delay is drawn from [d/2, d] where d starts
// at `initial` and doubles up to `max`. The random source is an argument, so the policy is
// deterministic under test.
class Backoff {
 public:
  explicit Backoff(std::chrono::milliseconds initial = std::chrono::milliseconds(20),
                   std::chrono::milliseconds max = std::chrono::milliseconds(500));

  // The delay before the next attempt; `random` is any uniformly distributed 64-bit value.
  std::chrono::milliseconds next(std::uint64_t random);
  // After a success: the next failure starts again from `initial`.
  void reset() { current_ = initial_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds current_;  // initial_ <= current_ <= max_
};

}  // namespace neuroplex::client
