#include "api/client/retry.h"

#include <algorithm>

namespace neuroplex::client {

RetryAction classify_reply(ErrorCode code, bool has_leader_address, bool follow_leader) {
  switch (code) {
    case ErrorCode::kNotLeader:
      if (!follow_leader) return RetryAction::kReturn;
      return has_leader_address ? RetryAction::kFollowLeader : RetryAction::kRetryElsewhere;
    case ErrorCode::kUnavailable:
      return RetryAction::kRetryElsewhere;
    case ErrorCode::kRateLimited:
      return RetryAction::kRetrySame;
    case ErrorCode::kOk:
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kTypeMismatch:
    case ErrorCode::kTooLarge:
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kInternal:
      return RetryAction::kReturn;
  }
  return RetryAction::kReturn;
}

RetryAction classify_transport(TransportFailure failure) {
  switch (failure) {
    case TransportFailure::kConnect:
    case TransportFailure::kDisconnected:
    case TransportFailure::kOverloaded:
      return RetryAction::kRetryElsewhere;
    case TransportFailure::kFailed:
      return RetryAction::kReturn;
  }
  return RetryAction::kReturn;
}

ErrorCode transport_error_code(TransportFailure failure) {
  return failure == TransportFailure::kFailed ? ErrorCode::kInternal : ErrorCode::kUnavailable;
}

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      current_(initial_) {}

std::chrono::milliseconds Backoff::next(std::uint64_t random) {
  auto ceiling = static_cast<std::uint64_t>(current_.count());
  std::uint64_t half = ceiling / 2;
  auto delay = std::chrono::milliseconds(half + random % (ceiling - half + 1));
  current_ = std::min(current_ * 2, max_);
  return delay;
}

}  // namespace neuroplex::client
